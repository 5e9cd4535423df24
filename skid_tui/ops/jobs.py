"""Test runs as both front ends run them: the engine does the work (engine/testrun.py, and
engine/builds.py for builds, which both call directly); this is the order and the bookkeeping around
it, written once.

Blocking, like the engine calls: the command line runs these on a thread it can interrupt with Ctrl-C, the
dashboard on a worker thread. Each item ends with a result dataclass, or with why it did not run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from skid_tui.engine.client import Engine
from skid_tui.engine.testrun import SuiteResult, run_suite
from skid_tui.stack import Stack


@dataclass(frozen=True)
class SuiteEnded:
    """One suite run in turn: its result, or None and why it did not run (cancelled first, or it broke)."""

    name: str
    result: SuiteResult | None
    error: str = ""


def suites_in_turn(engine: Engine, stack: Stack, names: Sequence[str], limit: int,
                   cancels: Mapping[str, threading.Event], *, started: Callable[[str], None] = lambda _: None,
                   lines: Callable[[str, list[str]], None] = lambda _n, _l: None) -> Iterator[SuiteEnded]:
    """Each named suite, one after another, each in a fresh container with `limit` bytes of memory. A suite
    whose cancel is set before its turn does not run; one that breaks ends with the reason and the next
    still runs."""
    for name in names:
        cancel = cancels[name]
        if cancel.is_set():
            yield SuiteEnded(name, None, "cancelled before it started")
            continue
        started(name)
        try:
            result = run_suite(engine, stack, stack.suites[name], limit, lambda texts, n=name: lines(n, texts),
                               cancel)
        except Exception as exc:  # the item must end and say so, and the next one still runs
            yield SuiteEnded(name, None, f"it failed: {exc!r}")
            continue
        yield SuiteEnded(name, result)
