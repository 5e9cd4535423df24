"""The active laptop profile, remembered per compose project in the XDG state dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skid_tui.model import statefile
from skid_tui.model.statefile import describe_value, shown_name, state_dir


def _path() -> Path:
    return state_dir() / "active-profile.json"


def valid_profiles(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The valid entries of an active-profile object ({project: profile name}), and one line per other."""
    valid = {project: name for project, name in data.items() if isinstance(name, str)}
    problems = [f"project {shown_name(project)}: expected a profile name, found {describe_value(name)}"
                for project, name in data.items() if not isinstance(name, str)]
    return valid, problems


def _load(path: Path) -> statefile.StateFile:
    return statefile.load(path, valid_profiles, holds="projects to profile names")


def remembered_profile(project: str) -> str | None:
    return _load(_path()).data.get(project)


def remember_profile(project: str, profile: str) -> None:
    """Best effort: a read-only home must not stop a profile switch (statefile warns instead), and a file
    skid could not read is left as it is rather than replaced by this one project's entry."""
    path = _path()
    current = _load(path)
    if not current.writable:
        return  # the load's warning said the file is left alone
    current.data[project] = profile
    statefile.save(path, current.data)
