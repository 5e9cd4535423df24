"""Small helpers that turn a wrong value into one clear ConfigIssue."""

from __future__ import annotations

from collections.abc import Iterable

from .model import ConfigIssue, Severity
from .yamlloc import YNode


def describe(value: object) -> str:
    """What a value is, in words: `a string`, `a list`, `empty`..."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string" if value else "an empty string"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    return type(value).__name__


def wrong_type(key: str, node: YNode, expected: str) -> ConfigIssue:
    """`'ports' is a string (expected a list of ports)`, at the value (or its key if empty)."""
    return ConfigIssue(node.where, f"'{key}' is {describe(node.value)}", f"expected {expected}")


def issue_at(node: YNode, message: str, expected: str, severity: Severity = "error") -> ConfigIssue:
    return ConfigIssue(node.where, message, expected, severity)


def one_of(names: Iterable[str]) -> str:
    return "expected one of: " + ", ".join(names)


def in_file_order(issues: list[ConfigIssue], files: list[str]) -> list[ConfigIssue]:
    """Issues sorted as a reader meets them: by file (in the given order), then line and column.
    Files not listed keep their place after the listed ones."""
    rank = {f: i for i, f in enumerate(files)}
    return sorted(
        issues, key=lambda i: (rank.get(i.location.file, len(rank)), i.location.line, i.location.col)
    )
