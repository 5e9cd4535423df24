"""Peak memory per service, kept in the XDG state dir so profile planning can use real peaks later."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "skid-tui"


class PeakStore:
    """`peaks.json`: {project: {service: {"peak_mem_bytes": n, "at": unix time}}}, the highest ever seen.

    Several skid processes may write it: every save merges with what is on disk (the max wins) and
    replaces the file atomically.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: dict[tuple[str, str], tuple[int, float]] = {}
        self._known: dict[str, dict[str, dict[str, float]]] = self._load()

    @classmethod
    def default(cls) -> PeakStore:
        return cls(state_dir() / "peaks.json")

    def _load(self) -> dict[str, dict[str, dict[str, float]]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def recorded(self, project: str, service: str) -> int | None:
        entry = self._known.get(project, {}).get(service)
        return int(entry["peak_mem_bytes"]) if entry and "peak_mem_bytes" in entry else None

    def observe(self, project: str, service: str, mem_bytes: int) -> None:
        if mem_bytes > (self.recorded(project, service) or 0):
            self._known.setdefault(project, {})[service] = {"peak_mem_bytes": mem_bytes, "at": time.time()}
            self._pending[(project, service)] = (mem_bytes, time.time())

    def save(self) -> None:
        """Write new peaks, if any. Failures are silent: a read-only home must not break the dashboard."""
        if not self._pending:
            return
        merged = self._load()
        for (project, service), (peak, at) in self._pending.items():
            entry = merged.setdefault(project, {}).get(service)
            if not entry or entry.get("peak_mem_bytes", 0) < peak:
                merged[project][service] = {"peak_mem_bytes": peak, "at": at}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".peaks-")
            with os.fdopen(fd, "w") as f:
                json.dump(merged, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:
            return
        self._known = merged
        self._pending.clear()
