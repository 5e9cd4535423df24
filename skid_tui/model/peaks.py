"""Peak memory per service, kept in the XDG state dir so profile planning can use real peaks later."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from skid_tui.model import statefile
from skid_tui.model.statefile import describe_value, shown_name, state_dir

__all__ = ["MAX_PEAK_BYTES", "PeakStore", "state_dir", "valid_peaks"]

MAX_PEAK_BYTES = 1 << 50  # 1 PiB: a larger "peak" is a corrupt file, not a reading


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return f"expected an object with peak_mem_bytes, found {describe_value(entry)}"
    peak = entry.get("peak_mem_bytes")
    if type(peak) is not int or not 0 <= peak <= MAX_PEAK_BYTES:  # type(): true is not a number of bytes
        return f"peak_mem_bytes is {describe_value(peak)}, expected a whole number of bytes"
    at = entry.get("at", 0.0)
    if type(at) not in (int, float) or not math.isfinite(at) or at < 0:
        return f"at is {describe_value(at)}, expected a unix time"
    return None


def valid_peaks(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The valid entries of a peaks object, and one line per entry (or project) that is not."""
    valid: dict[str, dict[str, dict[str, float]]] = {}
    problems: list[str] = []
    for project, services in data.items():
        where = f"project {shown_name(project)}"
        if not isinstance(services, dict):
            problems.append(f"{where}: expected an object of services, found {describe_value(services)}")
            continue
        for service, entry in services.items():
            problem = _entry_problem(entry)
            if problem:
                problems.append(f"{where}, service {shown_name(service)}: {problem}")
                continue
            valid.setdefault(project, {})[service] = {"peak_mem_bytes": entry["peak_mem_bytes"],
                                                      "at": float(entry.get("at", 0.0))}
    return valid, problems


class PeakStore:
    """`peaks.json`: {project: {service: {"peak_mem_bytes": n, "at": unix time}}}, the highest ever seen.

    Several skid processes may write it: every save merges with what is on disk (the max wins) and
    replaces the file atomically. A file skid could not read is never written over (statefile).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: dict[tuple[str, str], tuple[int, float]] = {}
        self._known: dict[str, dict[str, dict[str, float]]] = self._load().data

    @classmethod
    def default(cls) -> PeakStore:
        return cls(state_dir() / "peaks.json")

    def _load(self) -> statefile.StateFile:
        return statefile.load(self.path, valid_peaks, holds="projects")

    def recorded(self, project: str, service: str) -> int | None:
        entry = self._known.get(project, {}).get(service)
        return int(entry["peak_mem_bytes"]) if entry and "peak_mem_bytes" in entry else None

    def observe(self, project: str, service: str, mem_bytes: int) -> None:
        if mem_bytes > (self.recorded(project, service) or 0):
            self._known.setdefault(project, {})[service] = {"peak_mem_bytes": mem_bytes, "at": time.time()}
            self._pending[(project, service)] = (mem_bytes, time.time())

    def save(self) -> None:
        """Write new peaks, if any. Problems are warnings (statefile), never errors: a read-only home
        must not break the dashboard."""
        if not self._pending:
            return
        on_disk = self._load()
        if not on_disk.writable:
            return  # the file is there but unreadable: writing would lose every other project's peaks
        merged = on_disk.data
        for (project, service), (peak, at) in self._pending.items():
            entry = merged.setdefault(project, {}).get(service)
            if not entry or entry["peak_mem_bytes"] < peak:
                merged[project][service] = {"peak_mem_bytes": peak, "at": at}
        if statefile.save(self.path, merged):
            self._known = merged
            self._pending.clear()
