"""What the dashboard asks compose to do, one operation at a time, in the order asked.

One runner, serial: two compose commands on one project at once race for its network and containers,
and a toggle pressed while the service is still starting must wait for that start to finish.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["start", "stop", "toggle", "remove-data"]
_ids = itertools.count(1)


@dataclass(frozen=True)
class Operation:
    kind: Kind
    services: tuple[str, ...]
    reason: str = ""  # "idle for 10m", "profile app", "L": said in the activity log
    id: int = field(default_factory=lambda: next(_ids))

    def describe(self) -> str:
        what = {"start": "start", "stop": "stop", "toggle": "toggle", "remove-data": "remove the data of"}[self.kind]
        tail = f" ({self.reason})" if self.reason else ""
        return f"{what} {', '.join(self.services)}{tail}"


def compose_args(kind: Kind, services: tuple[str, ...]) -> tuple[str, ...]:
    """The compose command line for a resolved operation (never one that deletes a volume)."""
    if kind == "start":
        return ("up", "-d", *services)
    if kind == "stop":
        return ("stop", *services)
    if kind == "remove-data":
        # The container only, never `-v`: the volumes the dialog listed are removed afterwards, by name.
        return ("rm", "--stop", "--force", *services)
    raise ValueError(f"unresolved operation: {kind}")
