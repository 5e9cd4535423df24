"""The terminal driver's input thread: asleep while no key comes, keys and a lone Escape still delivered,
and gone at once when the app stops reading input."""

from __future__ import annotations

import os
import selectors
import signal
import threading
import time
from types import SimpleNamespace

from textual import events

from skid_tui.ui import driver as driver_mod
from skid_tui.ui.driver import SkidLinuxDriver, parser_wait


def test_parser_wait() -> None:
    assert parser_wait(SimpleNamespace(_timeout_time=None), 5.0) is None  # nothing pending: block
    assert parser_wait(SimpleNamespace(_timeout_time=5.25), 5.0) == 0.25  # a lone Escape: until it is due
    assert parser_wait(SimpleNamespace(_timeout_time=4.0), 5.0) == 0.0  # overdue: do not block
    assert parser_wait(SimpleNamespace(), 5.0) == driver_mod.POLL  # another Textual: poll as it does


def _wait_for(predicate, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


async def test_input_thread_sleeps_until_input_and_stops_at_once(monkeypatch) -> None:
    timeouts: list[float | None] = []

    class Counting(selectors.SelectSelector):
        def select(self, timeout=None):
            timeouts.append(timeout)
            return super().select(timeout)

    monkeypatch.setattr(driver_mod.selectors, "SelectSelector", Counting)
    handlers = signal.getsignal(signal.SIGTSTP), signal.getsignal(signal.SIGCONT)
    read_fd, write_fd = os.pipe()
    drv = SkidLinuxDriver(SimpleNamespace())  # type: ignore[arg-type]
    try:
        got: list[object] = []
        drv.fileno = read_fd  # the "terminal"
        drv.process_message = got.append  # type: ignore[method-assign]
        thread = threading.Thread(target=drv.run_input_thread, daemon=True)
        thread.start()
        time.sleep(0.6)
        # Textual's own loop would have woken six times by now; this one waits in one select().
        assert timeouts == [None]

        os.write(write_fd, b"q")
        assert _wait_for(lambda: any(isinstance(e, events.Key) and e.key == "q" for e in got))

        os.write(write_fd, b"\x1b")  # Escape alone: told from a sequence's start by the parser's timeout
        assert _wait_for(lambda: any(isinstance(e, events.Key) and e.key == "escape" for e in got))
        assert any(t is not None for t in timeouts)

        began = time.monotonic()
        drv.exit_event.set()
        thread.join(2)
        assert not thread.is_alive()
        assert time.monotonic() - began < 0.5  # not a poll period or more
    finally:
        drv.exit_event.set()
        drv.close()
        # Closed: setting the event again writes nowhere (the pipe's number may belong to another file now).
        spare_r, spare_w = os.pipe()
        try:
            drv.exit_event.set()
            os.set_blocking(spare_r, False)
            assert drv.exit_event._wake_fd == -1
            try:
                leaked = os.read(spare_r, 8)
            except BlockingIOError:
                leaked = b""
            assert leaked == b""
        finally:
            os.close(spare_r)
            os.close(spare_w)
        os.close(read_fd)
        os.close(write_fd)
        signal.signal(signal.SIGTSTP, handlers[0])
        signal.signal(signal.SIGCONT, handlers[1])


async def test_a_closed_driver_started_again_has_a_new_wake_pipe() -> None:
    """App.suspend() closes the driver and starts it again (a shell in a container): the input thread of the
    second start must still wake at once, not fail on the first start's closed pipe."""
    handlers = signal.getsignal(signal.SIGTSTP), signal.getsignal(signal.SIGCONT)
    read_fd, write_fd = os.pipe()
    drv = SkidLinuxDriver(SimpleNamespace())  # type: ignore[arg-type]
    try:
        drv.close()  # suspended
        assert drv.exit_event._wake_fd == -1
        drv._open_pipe()  # what start_application_mode does first on resume
        drv.fileno = read_fd
        drv.process_message = lambda _e: None  # type: ignore[method-assign]
        failed: list[BaseException] = []

        def run() -> None:
            try:
                drv.run_input_thread()
            except BaseException as exc:  # reported by the assertion below
                failed.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        time.sleep(0.2)
        began = time.monotonic()
        drv.exit_event.set()
        thread.join(2)
        assert not thread.is_alive() and not failed, failed
        assert time.monotonic() - began < 0.5
    finally:
        drv.close()
        os.close(read_fd)
        os.close(write_fd)
        signal.signal(signal.SIGTSTP, handlers[0])
        signal.signal(signal.SIGCONT, handlers[1])
