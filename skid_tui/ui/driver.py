"""Textual's Linux/macOS terminal driver with an input thread that sleeps until there is input.

Textual's own input thread wakes ten times a second to check whether the app is stopping: a dashboard
left open all day paid 1.5 ms of CPU a second (a seventh of its whole cost) for nothing. This one blocks
in select() on the terminal and on a pipe that is written when the app stops reading input (quit,
suspend); the parser's escape-key timeout, when one is pending, still bounds the wait.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from codecs import getincrementaldecoder
from threading import Event
from typing import Any

from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

POLL = 0.1  # Textual's own period: the wait when the parser's state cannot be read


class _WakingEvent(Event):
    """An Event whose set() also writes to a pipe, so that a thread in select() sees it at once."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        if self._wake_fd < 0:
            return  # the driver closed its pipe: the number may name another file by now
        with contextlib.suppress(OSError):  # a full pipe already wakes the thread
            os.write(self._wake_fd, b"x")

    def attach(self, wake_fd: int) -> None:
        self._wake_fd = wake_fd

    def detach(self) -> None:
        self._wake_fd = -1


def parser_wait(parser: Any, now: float) -> float | None:
    """How long the input thread may block: until the parser's pending timeout (a lone Escape waiting to
    be told from the start of a sequence), forever when none is pending."""
    if not hasattr(parser, "_timeout_time"):
        return POLL  # a Textual whose parser keeps its state elsewhere: poll as Textual does
    due = parser._timeout_time
    return None if due is None else max(0.0, due - now)


class SkidLinuxDriver(LinuxDriver):
    """LinuxDriver whose input thread costs nothing while no key is pressed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_r = self._wake_w = -1
        self.exit_event = _WakingEvent(-1)
        self._open_pipe()

    def _open_pipe(self) -> None:
        """A wake pipe for the input thread; a new one after close() (App.suspend closes the driver and starts
        it again: a shell, an editor)."""
        if self._wake_r >= 0:
            return
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.exit_event.attach(self._wake_w)

    def start_application_mode(self) -> None:
        self._open_pipe()  # before Textual starts the input thread
        super().start_application_mode()

    def run_input_thread(self) -> None:
        """Textual's loop (read, parse, dispatch; tick the parser for timeouts), blocking between inputs."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        try:
            while not self.exit_event.is_set():
                for key, _mask in selector.select(parser_wait(parser, get_time())):
                    if key.fd == self._wake_r:
                        self._drain_wake()
                        continue
                    raw = os.read(self.fileno, 1024 * 4)
                    if not raw:
                        selector.unregister(self.fileno)  # end of input (a piped stdin): wait for the stop
                        continue
                    for event in parser.feed(decode(raw)):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError: drained
            while os.read(self._wake_r, 64):
                pass

    def close(self) -> None:
        super().close()
        self.exit_event.detach()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1
