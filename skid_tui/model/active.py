"""The active laptop profile, remembered per compose project in the XDG state dir."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from skid_tui.model.peaks import state_dir


def _path() -> Path:
    return state_dir() / "active-profile.json"


def remembered_profile(project: str) -> str | None:
    try:
        data = json.loads(_path().read_text())
    except (OSError, ValueError):
        return None
    value = data.get(project) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def remember_profile(project: str, profile: str) -> None:
    """Best effort: a read-only home must not stop a profile switch."""
    path = _path()
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[project] = profile
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".active-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass
