"""Peak memory per service, kept in the history database so profile planning can use real peaks later."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from skid_tui.model.statefile import describe_value, shown_name, state_dir, text_problem

if TYPE_CHECKING:
    from skid_tui.model.history import HistoryStore

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
    """The valid entries of a legacy peaks.json, and one line per entry (or project) that is not."""
    valid: dict[str, dict[str, dict[str, float]]] = {}
    problems: list[str] = []
    for project, services in data.items():
        where = f"project {shown_name(project)}"
        problem = text_problem(project) or (
            None if isinstance(services, dict) else f"expected an object of services, found {describe_value(services)}")
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        for service, entry in services.items():
            problem = text_problem(service) or _entry_problem(entry)
            if problem:
                problems.append(f"{where}, service {shown_name(service)}: {problem}")
                continue
            valid.setdefault(project, {})[service] = {"peak_mem_bytes": entry["peak_mem_bytes"],
                                                      "at": float(entry.get("at", 0.0))}
    return valid, problems


class PeakStore:
    """The highest memory each service ever used, per project, kept in the history database's peaks table.

    `observe` runs for every sample of every service, so it only compares in memory; the database is read
    once per project (at its first `recorded`) and written by `save` (the dashboard's every 30 s and at exit,
    the command line's when it is done). Several skids may save: the database keeps the higher peak.
    Problems are the store's warnings (statefile.warn), never errors.
    """

    def __init__(self, store: HistoryStore) -> None:
        self.store = store
        self._stored: dict[str, dict[str, int]] = {}  # per project, as read from the store the first time
        self._seen: dict[tuple[str, str], tuple[int, float]] = {}  # this process's highest, and when
        self._unsaved: set[tuple[str, str]] = set()  # keys of _seen the store is not known to hold yet

    @classmethod
    def default(cls) -> PeakStore:
        # Imported here, not at the top: history imports valid_peaks from this module.
        from skid_tui.model.history import HistoryStore

        return cls(HistoryStore.default())

    def recorded(self, project: str, service: str) -> int | None:
        stored = self._stored.get(project)
        if stored is None:
            stored = self._stored[project] = self._read(project)
            # Seen before the read, at or below what is recorded: nothing for save to write.
            self._unsaved -= {(p, s) for p, s in self._unsaved
                              if p == project and self._seen[(p, s)][0] <= stored.get(s, -1)}
        seen = self._seen.get((project, service))
        peaks = [p for p in (stored.get(service), seen[0] if seen else None) if p is not None]
        return max(peaks) if peaks else None

    def observe(self, project: str, service: str, mem_bytes: int) -> None:
        key = (project, service)
        seen = self._seen.get(key)
        if seen is not None and mem_bytes <= seen[0]:
            return
        stored = self._stored.get(project)  # not read here if it was not yet: no I/O per sample
        if stored is not None and mem_bytes <= stored.get(service, -1):
            return
        self._seen[key] = (mem_bytes, time.time())
        self._unsaved.add(key)

    def save(self) -> None:
        """Write the peaks observed since the last save (the store keeps each if higher than its own).

        observe_peaks says nothing of a failure (a locked or unusable database is a warning), so a peak stays
        unsaved until the store, read back, holds it or a higher one: the next save tries again.
        """
        if not self._unsaved:
            return
        by_project: dict[str, dict[str, tuple[int, float]]] = {}
        for project, service in self._unsaved:
            by_project.setdefault(project, {})[service] = self._seen[(project, service)]
        try:
            for project, peaks in by_project.items():
                self.store.observe_peaks(project, peaks)
                held = self.store.recorded_peaks(project)
                self._unsaved.difference_update(
                    (project, service) for service, (peak, _) in peaks.items() if held.get(service, -1) >= peak)
        finally:
            # Hold no lock between saves: a store that finds the file broken (this process's recorder's, another
            # skid's) may move it aside only when no store has it open.
            self.store.close()

    def _read(self, project: str) -> dict[str, int]:
        try:
            return self.store.recorded_peaks(project)
        finally:
            self.store.close()
