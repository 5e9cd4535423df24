"""Fixtures shared by the unit tests of skid's state: what the state files and the history store say."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from skid_tui.model import statefile


@pytest.fixture
def said() -> Iterator[list[str]]:
    """Every warning given (state files, the history store), as the CLI or the dashboard would receive it."""
    lines: list[str] = []
    statefile.take_warnings()
    statefile.set_warning_handler(lines.append)
    yield lines
    statefile.set_warning_handler(None)
    statefile.take_warnings()
