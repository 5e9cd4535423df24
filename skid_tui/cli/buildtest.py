"""`skid build [SERVICE...]` and `skid test [SUITE...] [--memory-limit low|medium|high|SIZE]`.

The same engine calls as the dashboard's build and test panes (skid_tui.engine.builds / testrun), with
their output streamed to stdout: each build step as `Step i/n: ...` (cache hits marked, warnings in
yellow, the error in red), each suite's output as it comes, and one result line per build or suite.
Exit status: 0 when every build or suite succeeded, 1 when one failed (or no engine answered), 2 for
bad input (one line on stderr, never a traceback), 130 when interrupted (the build or the test
container is stopped and removed first).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.text import Text

from skid_tui.engine.builds import BuildEvent, BuildResult, build_service, buildable_services, image_tag
from skid_tui.engine.client import Engine, EngineUnavailable
from skid_tui.engine.discovery import engine_candidates
from skid_tui.engine.testrun import NOTE, SuiteResult, parse_memory_limit
from skid_tui.ops.config import Options
from skid_tui.ops.jobs import suites_in_turn
from skid_tui.present import build_summary, rich_text, suite_summary
from skid_tui.safe_text import strip_sgr, visible
from skid_tui.stack import Stack

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
_NOISE = (" ---> ", "Removing intermediate container", "Successfully built", "Successfully tagged")

T = TypeVar("T")


class BadInput(Exception):
    """One line on stderr, exit status 2."""


def _say(message: str) -> None:
    print(visible(f"skid: {message}"), file=sys.stderr, flush=True)


def _connect(options: Options) -> Engine | None:
    try:
        return Engine.first_answering(engine_candidates(options.host))
    except EngineUnavailable as exc:
        _say(str(exc))
        return None


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


def _interruptible(work: Callable[[threading.Event], T], cancel: threading.Event) -> tuple[T | None, bool]:
    """Run work in a thread so Ctrl-C can cancel it cleanly: (its result, whether it was interrupted)."""
    box: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(work(cancel))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True, name="skid-buildtest")
    thread.start()
    interrupted = False
    while thread.is_alive():
        try:
            thread.join(0.2)
        except KeyboardInterrupt:
            interrupted = True
            cancel.set()
    if errors:
        if isinstance(errors[0], (BrokenPipeError, KeyboardInterrupt)):
            raise errors[0]  # main() knows these: the reader left, or Ctrl-C
        _say(f"it failed unexpectedly: {errors[0]!r}")  # one line, never a traceback; counted as a failure
    return (box[0] if box else None), interrupted


def _in_turn(
    engine: Engine,
    names: Sequence[str],
    start: Callable[[str], Callable[[threading.Event], T]],
    summary: Callable[[T], Text],
    out: Console,
) -> tuple[list[T], bool]:
    """Run each name's work (start(name) prints its header and returns it) one after another, each ended
    by its summary line; Ctrl-C cancels the one running and stops there. (results, interrupted)"""
    results: list[T] = []
    interrupted = False
    try:
        for name in names:
            result, interrupted = _interruptible(start(name), threading.Event())
            if result is not None:
                results.append(result)
                out.print(summary(result), soft_wrap=True)
            if interrupted:
                break
    finally:
        engine.close()
    return results, interrupted


# -- skid build ----------------------------------------------------------------------------------------


def build_targets(stack: Stack, services: Sequence[str]) -> list[str]:
    """The services to build, in the order named (default: every buildable one); BadInput otherwise."""
    buildable = buildable_services(stack)
    if not services:
        if not buildable:
            raise BadInput(f"no service of {stack.project} has a build: section, so there is nothing to build")
        return buildable
    names = list(dict.fromkeys(services))
    for name in names:
        if name not in stack.services:
            raise BadInput(f"unknown service '{name}' (expected one of: {', '.join(buildable) or 'none buildable'})")
        if name not in buildable:
            expected = f"buildable: {', '.join(buildable)}" if buildable else "no service has one"
            raise BadInput(f"service '{name}' has no build: section, it runs the image "
                           f"{stack.services[name].image} ({expected})")
    return names


class BuildPrinter:
    """Prints a build's events as they come. A step line waits for the next event, so a cache hit is
    marked on the step itself: `Step 2/5: COPY . /app  (cached)`."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.pending: BuildEvent | None = None

    def __call__(self, event: BuildEvent) -> None:
        if event.kind == "step":
            self.flush()
            self.pending = event
            return
        if event.kind == "cache" and self.pending is not None:
            line = self._step_text(self.pending)
            line.append("  (cached)", style="cyan")
            self.pending = None
            self.out.print(line, soft_wrap=True)
            return
        self.flush()
        if event.kind == "cache":
            self.out.print(Text("  (cached)", style="cyan"), soft_wrap=True)
        elif event.kind == "warning":
            self.out.print(Text("  ") + rich_text(event.text, style="yellow"), soft_wrap=True)
        elif event.kind == "error":
            self.out.print(Text(f"error: {event.text}", style="bold red"), soft_wrap=True)
        elif strip_sgr(event.text).startswith((*_NOISE, "Sending build context")):
            self.out.print(Text(strip_sgr(event.text).strip(), style="dim"), soft_wrap=True)
        else:
            self.out.print(Text("  ") + rich_text(event.text), soft_wrap=True)

    def flush(self) -> None:
        if self.pending is not None:
            self.out.print(self._step_text(self.pending), soft_wrap=True)
            self.pending = None

    @staticmethod
    def _step_text(event: BuildEvent) -> Text:
        return Text(f"Step {event.step}/{event.steps}: {event.text}", style="bold")


def cmd_build(stack: Stack, options: Options, services: list[str], out: Console) -> int:
    """Build the named services (default: every one with a build: section), one after another."""
    try:
        names = build_targets(stack, services)
    except BadInput as exc:
        _say(str(exc))
        return EXIT_USAGE
    engine = _connect(options)
    if engine is None:
        return EXIT_FAILED
    def start(name: str) -> Callable[[threading.Event], BuildResult]:
        build = stack.services[name].build
        assert build is not None
        header = f"Building {name}: {image_tag(stack, name)} from {_shown(build.context)} ({build.dockerfile})"
        out.print(Text(header, style="bold"), soft_wrap=True)
        printer = BuildPrinter(out)

        def work(cancel: threading.Event) -> BuildResult:
            try:
                return build_service(engine, stack, name, printer, cancel)
            finally:
                printer.flush()

        return work

    results, interrupted = _in_turn(engine, names, start, build_summary, out)
    if len(names) > 1 and not interrupted:
        failed = [r.service for r in results if not r.ok]
        tail = f"; failed: {', '.join(failed)}" if failed else ""
        out.print(f"{len(results) - len(failed)} of {len(names)} built{tail}", soft_wrap=True)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if all(r.ok for r in results) and len(results) == len(names) else EXIT_FAILED


# -- skid test -----------------------------------------------------------------------------------------


def suite_targets(stack: Stack, suites: Sequence[str]) -> list[str]:
    """The suites to run, in the order named (default: all of them); BadInput otherwise."""
    if not stack.suites:
        files = ", ".join(str(f) for f in stack.compose_files)
        raise BadInput(f"{files} declares no test suites (add them under x-skid-tests:, see compose/demo.yml)")
    if not suites:
        return list(stack.suites)
    names = list(dict.fromkeys(suites))
    for name in names:
        if name not in stack.suites:
            raise BadInput(f"unknown test suite '{name}' (expected one of: {', '.join(stack.suites)})")
    return names


def cmd_test(stack: Stack, options: Options, suites: list[str], memory_limit: str, out: Console) -> int:
    """Run the named suites (default: all), one after another, each in a fresh container."""
    try:
        limit = parse_memory_limit(memory_limit)
        names = suite_targets(stack, suites)
    except (ValueError, BadInput) as exc:
        _say(str(exc))
        return EXIT_USAGE
    engine = _connect(options)
    if engine is None:
        return EXIT_FAILED
    def print_lines(lines: list[str]) -> None:
        for line in lines:
            if line.startswith(NOTE):
                out.print(Text(line, style="dim"), soft_wrap=True)
            else:
                out.print(rich_text(line), soft_wrap=True)

    def started(name: str) -> None:
        suite = stack.suites[name]
        out.print(Text(f"▶ {name}: {suite.description or suite.shown_command()}", style="bold"), soft_wrap=True)

    stop = threading.Event()  # Ctrl-C: the suite running is cancelled, the ones after it do not start
    results: list[SuiteResult] = []

    def work(_: threading.Event) -> None:
        for ended in suites_in_turn(engine, stack, names, limit, dict.fromkeys(names, stop), started=started,
                                    lines=lambda _name, texts: print_lines(texts)):
            if ended.result is not None:
                results.append(ended.result)
                out.print(suite_summary(ended.result), soft_wrap=True)
            elif not stop.is_set():
                _say(f"{ended.name}: {ended.error}")  # one line, never a traceback; counted as a failure

    try:
        _, interrupted = _interruptible(work, stop)
    finally:
        engine.close()
    if len(names) > 1 and not interrupted:
        counts = {"passed": 0, "failed": 0, "oom": 0, "error": 0}
        for r in results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        words = {"passed": "passed", "failed": "failed", "oom": "OOM-killed", "error": "could not run"}
        parts = [f"{n} {words[k]}" for k, n in counts.items() if n and k in words]
        out.print(f"{len(results)} suites: {', '.join(parts)}", soft_wrap=True)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if all(r.passed for r in results) and len(results) == len(names) else EXIT_FAILED
