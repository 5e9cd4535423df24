"""Past-tense messages from the engine watcher to the app; the app's handlers own the state changes."""

from __future__ import annotations

from textual.message import Message

from skid_tui.engine.sampler import StatsBatch
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate


class EngineStatusChanged(Message):
    """The engine was found, lost, or could not be reached."""

    def __init__(self, status: EngineStatus) -> None:
        super().__init__()
        self.status = status


class ServiceContainersChanged(Message):
    """A service's containers changed (started, stopped, turned healthy, were removed...)."""

    def __init__(self, update: ServiceUpdate) -> None:
        super().__init__()
        self.update = update


class StatsSampled(Message):
    """A tick of resource samples for every running container."""

    def __init__(self, batch: StatsBatch) -> None:
        super().__init__()
        self.batch = batch
