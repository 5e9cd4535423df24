"""`include:`: services (and networks, volumes, secrets, configs) of other compose files, as compose adds
them. Each entry is a path, a list of paths, or `{path:, project_directory:, env_file:}`, relative to the
including file. What an included file defines may not be defined again by the file that includes it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .checks import describe
from .model import ConfigIssue
from .yamlloc import YNode

Loader = Callable[[Path], "YNode | None"]
Prepare = Callable[[YNode, Path], None]  # what every loaded file goes through (extends) before it is included
SECTIONS = ("services", "networks", "volumes", "secrets", "configs")


def resolve_includes(tree: YNode, directory: Path, load: Loader, prepare: Prepare, issues: list[ConfigIssue], *,
                     chain: tuple[Path, ...] = ()) -> None:
    """Add what this file's `include:` entries define to it (in place), then drop the `include:` key."""
    if not isinstance(tree.value, dict):
        return
    node = tree.value.pop("include", None)
    if node is None or node.value is None:
        return
    entries = node.value if isinstance(node.value, list) else [node]
    for entry in entries:
        for path_node in _paths(entry, issues):
            path = Path(os.path.normpath(directory / str(path_node.value)))
            if path in chain:
                issues.append(ConfigIssue(path_node.where, f"include of {path_node.value} loops back to itself",
                                          "expected includes that end"))
                continue
            other = load(path)
            if other is None:
                issues.append(ConfigIssue(path_node.where, f"cannot read the included file {path_node.value}",
                                          "expected a readable compose file"))
                continue
            prepare(other, path.parent)
            resolve_includes(other, path.parent, load, prepare, issues, chain=(*chain, path))
            _add(tree, other, path_node, issues)


def _paths(entry: YNode, issues: list[ConfigIssue]) -> list[YNode]:
    value = entry.value
    if isinstance(value, str):
        return [entry]
    if isinstance(value, dict):
        path = entry.get("path")
        if path is not None and isinstance(path.value, str):
            return [path]
        if path is not None and isinstance(path.value, list):
            return [p for p in path.value if isinstance(p.value, str)]
    issues.append(ConfigIssue(entry.where, f"include entry is {describe(value)}",
                              "expected a path, or {path: FILE}"))
    return []


def _add(tree: YNode, other: YNode, at: YNode, issues: list[ConfigIssue]) -> None:
    for section in SECTIONS:
        theirs = other.get(section)
        if theirs is None or not isinstance(theirs.value, dict):
            continue
        ours = tree.get(section)
        if ours is None or ours.value is None:
            tree.value[section] = YNode({}, theirs.loc, key_loc=theirs.key_loc)
            ours = tree.value[section]
        if not isinstance(ours.value, dict):
            continue
        for name, item in theirs.value.items():
            if name in ours.value:
                mine = ours.value[name]
                issues.append(ConfigIssue(mine.key_loc or mine.where, f"{section}.{name} is also defined by the "
                                          f"included file {at.value}", "expected one definition of it"))
                continue
            ours.value[name] = item
