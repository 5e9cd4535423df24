"""Waiting on a live app and a live engine without fixed sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from skid_tui.engine.client import Engine
from skid_tui.engine.containers import read_project, service_containers


async def wait_until(pilot: Pilot, predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Let the app run until predicate() holds; returns the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def engine_health(engine: Engine, project: str, service: str) -> tuple[str | None, str | None]:
    grouped = service_containers(read_project(engine, project), project)
    containers = grouped.get(service, ())
    if not containers:
        return None, None
    return containers[0].state, containers[0].health


async def wait_engine(engine: Engine, project: str, service: str, health: str, timeout: float) -> float:
    """Poll the engine (in a thread, so the app keeps running) until it reports `health`; the moment."""

    def poll() -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if engine_health(engine, project, service)[1] == health:
                return time.monotonic()
            time.sleep(0.05)
        raise AssertionError(f"the engine never said {service} is {health} within {timeout} s")

    return await asyncio.to_thread(poll)


def static_text(static: Static, width: int = 160) -> str:
    """What a Static shows, as plain text (its content rendered without colour)."""
    console = Console(width=width, record=True, color_system=None)
    console.print(static.content)
    return console.export_text()
