"""One operation at a time, in the order asked: the dashboard's lifecycle runs through this queue.

Serial because two compose commands on one project at once race for its network and containers, and
because a toggle pressed while the service is still starting must act on the state that start leaves:
the queue keeps, per service, whether it will run once everything queued is done (`projected`), and a
toggle is resolved against that. A failed or cancelled operation does not block the next one.

No Textual here: the runner is a blocking function run on a worker thread (`run_operation`, or a fake in
the tests) and what happens is told to a listener, always on the event loop and in order: `queued`,
`started`, `output` (lines in batches, every `flush` seconds while it runs), `finished`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Protocol

from skid_tui.ops.operations import DOING, QUEUED, Kind, Operation, OperationResult, Progress

Runner = Callable[[Operation, Progress], OperationResult]
OUTPUT_FLUSH = 0.1  # seconds: output reaches the listener in batches, not a call per line


class QueueListener(Protocol):
    def queued(self, op: Operation) -> None: ...
    def started(self, op: Operation, command: str) -> None: ...
    def output(self, op: Operation, lines: list[str]) -> None: ...
    def finished(self, result: OperationResult) -> None: ...


class OperationQueue:
    def __init__(self, runner: Runner, listener: QueueListener, *, flush: float = OUTPUT_FLUSH) -> None:
        self.runner = runner
        self.listener = listener
        self.flush = flush
        self._ops: asyncio.Queue[Operation] = asyncio.Queue()
        self._queued: dict[str, int] = {}  # service -> operations on it not finished
        self._projected: dict[str, bool] = {}  # service -> runs once the queued operations are done
        self.pending: dict[str, str] = {}  # service -> "start queued", "starting", ... (shown on its panel)
        self.running: Operation | None = None
        self._progress: Progress | None = None
        self.done: list[OperationResult] = []  # every finished operation, in order

    # -- asking -----------------------------------------------------------------------------------------

    def projected(self, service: str, running_now: bool) -> bool:
        """Whether the service runs once every queued operation is done (`running_now` when none is)."""
        return self._projected.get(service, running_now)

    def busy(self, service: str) -> bool:
        return service in self._queued

    def idle(self) -> bool:
        return not self._queued and self.running is None

    def enqueue(self, kind: Kind, services: tuple[str, ...], reason: str = "", **extra: object) -> Operation | None:
        """Queue an operation (None when it names no service); `extra`: its volumes or the memory it frees."""
        if not services:
            return None
        op = Operation(kind, services, reason, **extra)  # type: ignore[arg-type]
        for s in services:
            self._queued[s] = self._queued.get(s, 0) + 1
            self._projected[s] = op.starts
            self.pending[s] = QUEUED[kind]
        self._ops.put_nowait(op)
        self.listener.queued(op)
        return op

    def toggle(self, service: str, running_now: bool, reason: str = "toggled") -> Operation | None:
        """Stop it if it will be running once the queue is done, else start it."""
        kind = Kind.STOP if self.projected(service, running_now) else Kind.START
        return self.enqueue(kind, (service,), reason)

    def cancel_running(self) -> Operation | None:
        """Stop the operation running now (its compose command is ended); queued ones still run."""
        op, progress = self.running, self._progress
        if op is None or progress is None or progress.cancel.is_set():
            return None
        progress.cancel.set()
        return op

    async def stop(self, timeout: float) -> Operation | None:
        """Quitting: cancel what runs and wait for it, at most `timeout` seconds; the operation cancelled."""
        op = self.cancel_running()
        deadline = time.monotonic() + timeout
        while self.running is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return op

    # -- running ----------------------------------------------------------------------------------------

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Forever: the next operation, run on a worker thread, then the bookkeeping and the listener."""
        while True:
            op = await self._ops.get()
            if ready is not None:
                await ready.wait()
            result = await self._run_one(op)
            self._finish(result)

    async def _run_one(self, op: Operation) -> OperationResult:
        self.running = op
        for s in op.services:
            self.pending[s] = DOING[op.kind]
        batch: list[str] = []
        lock = threading.Lock()  # lines come from the worker thread, batches go out from the event loop

        def line(text: str) -> None:
            with lock:
                batch.append(text)

        def flush() -> None:
            with lock:
                lines = batch.copy()
                batch.clear()
            if lines:
                self.listener.output(op, lines)

        async def flush_now_and_then() -> None:
            # Every `flush` seconds while it runs: a line printed before a long quiet wait is shown at once.
            while True:
                await asyncio.sleep(self.flush)
                flush()

        loop = asyncio.get_running_loop()
        # The runner says its command on the worker thread; the listener hears it on the loop, before the end.
        progress = Progress(started=lambda command: loop.call_soon_threadsafe(self.listener.started, op, command),
                            line=line)
        self._progress = progress
        flusher = asyncio.ensure_future(flush_now_and_then())
        started = time.monotonic()
        try:
            result = await asyncio.to_thread(self.runner, op, progress)
        except Exception as exc:  # a runner's bug must not stop the queue: it is this operation's failure
            result = OperationResult(op, None, time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")
        finally:
            flusher.cancel()
            self.running = None
            self._progress = None
        flush()
        return result

    def _finish(self, result: OperationResult) -> None:
        op = result.op
        for s in op.services:
            left = self._queued.get(s, 1) - 1
            if left <= 0 or not result.ok:
                # Nothing left queued (or this one failed): the engine's state is the truth again.
                self._projected.pop(s, None)
            if left <= 0:
                self._queued.pop(s, None)
                self.pending.pop(s, None)
            else:
                self._queued[s] = left
        self.done.append(result)
        self.listener.finished(result)
