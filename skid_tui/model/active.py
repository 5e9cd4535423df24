"""The active laptop profile, remembered per compose project in the history database (its profiles table)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from skid_tui.model.statefile import describe_value, shown_name, text_problem

if TYPE_CHECKING:
    from skid_tui.model.history import HistoryStore


def valid_profiles(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The valid entries of a legacy active-profile.json ({project: profile name}), and one line per other."""
    valid: dict[str, Any] = {}
    problems: list[str] = []
    for project, name in data.items():
        problem = text_problem(project) or (
            text_problem(name) if isinstance(name, str) else f"expected a profile name, found {describe_value(name)}")
        if problem:
            problems.append(f"project {shown_name(project)}: {problem}")
        else:
            valid[project] = name
    return valid, problems


def _store() -> HistoryStore:
    # Imported here, not at the top: history imports valid_profiles from this module.
    from skid_tui.model.history import HistoryStore

    return HistoryStore.default()


def remembered_profile(project: str) -> str | None:
    store = _store()
    try:
        return store.profile(project)
    finally:
        store.close()  # a one-off read: release the store's lock file at once


def remember_profile(project: str, profile: str) -> None:
    """Best effort: a read-only home or a broken database must not stop a profile switch (the store warns
    instead of raising)."""
    store = _store()
    try:
        store.set_profile(project, profile)
    finally:
        store.close()
