"""The OperationQueue alone: no Textual, no engine, no compose; a fake runner that blocks until told.

Order, waiting (a toggle acts on the state the operations before it leave), cancel, and failure."""

from __future__ import annotations

import asyncio
import threading

import pytest

from skid_tui.ops.operations import Kind, Operation, OperationResult, Progress
from skid_tui.ops.queue import OperationQueue


class Recorder:
    """The listener: what the queue said, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def queued(self, op: Operation) -> None:
        self.events.append(("queued", op.describe()))

    def started(self, op: Operation, command: str) -> None:
        self.events.append(("started", command))

    def output(self, op: Operation, lines: list[str]) -> None:
        self.events.append(("output", "|".join(lines)))

    def finished(self, result: OperationResult) -> None:
        self.events.append(("finished", f"{result.op.describe()}: {result.error or 'ok'}"))


class FakeRunner:
    """Runs an operation as compose would: says its command and a line, then waits for `release` (or a
    cancel). Operations whose first service is in `failing` fail; a service in `broken` raises."""

    def __init__(self, failing: set[str] = frozenset(), broken: set[str] = frozenset()) -> None:
        self.failing, self.broken = failing, broken
        self.release = threading.Event()
        self.ran: list[str] = []

    def __call__(self, op: Operation, progress: Progress) -> OperationResult:
        command = f"compose {op.kind} {' '.join(op.services)}"
        self.ran.append(command)
        progress.started(command)
        progress.line(f"{op.kind} {op.services[0]}")
        if op.services[0] in self.broken:
            raise RuntimeError("the runner broke")
        while not self.release.wait(0.01):
            if progress.cancel.is_set():
                return OperationResult(op, None, 0.1, error=f"{command} cancelled: stopped it")
        error = "compose failed (exit 1): boom" if op.services[0] in self.failing else ""
        return OperationResult(op, None, 0.1, error=error)


async def until(predicate, what: str, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture
async def setup():
    async def make(**runner_args):
        runner, listener = FakeRunner(**runner_args), Recorder()
        queue = OperationQueue(runner, listener, flush=0.02)
        task = asyncio.ensure_future(queue.run())
        made.append(task)
        return queue, runner, listener

    made: list[asyncio.Future] = []
    yield make
    for task in made:
        task.cancel()


async def test_operations_run_one_at_a_time_in_the_order_asked(setup):
    queue, runner, listener = await setup()
    queue.enqueue(Kind.START, ("db",))
    queue.enqueue(Kind.STOP, ("cache",))
    queue.enqueue(Kind.RESTART, ("api",))
    await until(lambda: runner.ran, "the first to start")
    await asyncio.sleep(0.1)
    assert runner.ran == ["compose start db"]  # the second waits for the first
    assert queue.pending == {"db": "starting", "cache": "stop queued", "api": "restart queued"}
    runner.release.set()
    await until(lambda: len(queue.done) == 3, "all three")
    assert runner.ran == ["compose start db", "compose stop cache", "compose restart api"]
    assert [e for e in listener.events if e[0] in ("started", "finished")] == [
        ("started", "compose start db"), ("finished", "start db: ok"),
        ("started", "compose stop cache"), ("finished", "stop cache: ok"),
        ("started", "compose restart api"), ("finished", "restart api: ok"),
    ]
    assert ("output", "start db") in listener.events
    assert queue.pending == {} and queue.idle()


async def test_a_toggle_acts_on_the_state_the_queued_ones_leave(setup):
    queue, runner, _ = await setup()
    # db runs now; space three times: stop, start, stop, each resolved against the one before.
    kinds = [queue.toggle("db", running_now=True).kind for _ in range(3)]
    assert kinds == [Kind.STOP, Kind.START, Kind.STOP]
    assert queue.projected("db", running_now=True) is False
    runner.release.set()
    await until(lambda: len(queue.done) == 3, "the three toggles")
    assert runner.ran == ["compose stop db", "compose start db", "compose stop db"]
    # Nothing queued: the engine's state is the truth again.
    assert queue.projected("db", running_now=True) is True


async def test_cancel_stops_the_running_one_and_the_next_still_runs(setup):
    queue, runner, _ = await setup()
    queue.enqueue(Kind.START, ("db",))
    queue.enqueue(Kind.START, ("cache",))
    await until(lambda: queue.running is not None, "the first running")
    assert queue.cancel_running().services == ("db",)
    assert queue.cancel_running() is None  # once is enough
    await until(lambda: len(queue.done) == 1, "the cancelled one")
    assert queue.done[0].error == "compose start db cancelled: stopped it"
    assert queue.projected("db", running_now=False) is False  # a failed start: the engine's word again
    runner.release.set()
    await until(lambda: len(queue.done) == 2, "the next one")
    assert queue.done[1].ok
    assert queue.cancel_running() is None  # nothing runs


async def test_a_failure_does_not_block_the_next_and_is_told(setup):
    queue, runner, listener = await setup(failing={"db"}, broken={"cache"})
    runner.release.set()
    queue.enqueue(Kind.START, ("db",))
    queue.enqueue(Kind.START, ("cache",))
    queue.enqueue(Kind.START, ("api",))
    await until(lambda: len(queue.done) == 3, "all three")
    assert [r.ok for r in queue.done] == [False, False, True]
    assert ("finished", "start db: compose failed (exit 1): boom") in listener.events
    assert ("finished", "start cache: RuntimeError: the runner broke") in listener.events
    assert queue.idle()


async def test_stop_for_quitting_cancels_and_waits(setup):
    queue, _, _ = await setup()
    queue.enqueue(Kind.START, ("db",))
    await until(lambda: queue.running is not None, "running")
    op = await queue.stop(timeout=5)
    assert op is not None and op.services == ("db",)
    assert queue.running is None
    assert queue.done[-1].error.endswith("cancelled: stopped it")


async def test_an_operation_naming_no_service_is_not_queued(setup):
    queue, _, listener = await setup()
    assert queue.enqueue(Kind.STOP, ()) is None
    assert listener.events == [] and queue.idle()


async def test_a_line_before_a_long_wait_is_shown_while_the_operation_still_runs(setup):
    queue, runner, listener = await setup()
    queue.enqueue(Kind.START, ("db",))
    await until(lambda: ("output", "start db") in listener.events, "the first line, before the op ends")
    assert queue.running is not None and not queue.done
    runner.release.set()
    await until(lambda: queue.done, "the end")
    assert listener.events.count(("output", "start db")) == 1  # said once, not again at the end

