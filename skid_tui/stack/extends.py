"""`extends:`: a service built on another one, in the same file or in `file:`, as compose merges it.

The base service (itself resolved first, so chains work) is merged with the extending service by the same
rules as an override file (merge.py): budgets, ports, environment and the rest are inherited unless the
extending service sets them. A base from another file keeps its build context relative to that file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .checks import describe
from .merge import merge_service, normalize_services
from .model import ConfigIssue
from .yamlloc import YNode

Loader = Callable[[Path], "YNode | None"]  # another compose file, loaded and interpolated (None: unreadable)


def resolve_extends(tree: YNode, directory: Path, load: Loader, issues: list[ConfigIssue]) -> None:
    """Replace every service of this file that has `extends:` by its base merged with it (in place)."""
    services = tree.get("services")
    if services is None or not isinstance(services.value, dict):
        return
    normalize_services(tree)
    resolver = _Resolver(load, issues)
    for name in list(services.value):
        services.value[name] = resolver.resolve(services, directory, name, ())


class _Resolver:
    def __init__(self, load: Loader, issues: list[ConfigIssue]) -> None:
        self.load = load
        self.issues = issues
        self.done: dict[tuple[int, str], YNode] = {}

    def resolve(self, services: YNode, directory: Path, name: str, chain: tuple[tuple[int, str], ...]) -> YNode:
        node: YNode = services.value[name]
        key = (id(services), name)  # per file: two files in one directory may both have a `common`
        if key in self.done:
            return self.done[key]
        ext = node.get("extends") if isinstance(node.value, dict) else None
        if ext is None:
            return node
        own = replace(node, value={k: v for k, v in node.value.items() if k != "extends"})
        if key in chain:
            self.issues.append(ConfigIssue(ext.key_loc or ext.where, f"{name}: extends itself through "
                                           f"{' -> '.join(n for _, n in (*chain, key))}",
                                           "expected a chain of extends that ends"))
            return own
        target = _target(ext, name, self.issues)
        if target is None:
            return own
        base_name, file_node = target
        base_dir, base_services = directory, services
        if file_node is not None:
            base_path = Path(os.path.normpath(directory / str(file_node.value)))
            other = self.load(base_path)
            if other is None:
                self.issues.append(ConfigIssue(file_node.where, f"{name}: cannot read the file it extends, "
                                               f"{file_node.value}", "expected a readable compose file"))
                return own
            normalize_services(other)
            base_dir, base_services = base_path.parent, other.get("services")
        known = base_services.value if base_services is not None and isinstance(base_services.value, dict) else {}
        if base_name not in known:
            known = sorted(known)
            where = f" in {file_node.value}" if file_node is not None else ""
            self.issues.append(ConfigIssue(ext.where, f"{name}: extends unknown service '{base_name}'{where}",
                                           f"expected one of: {', '.join(known)}" if known else ""))
            return own
        assert base_services is not None
        base = self.resolve(base_services, base_dir, base_name, (*chain, key))
        if not isinstance(base.value, dict):
            return own
        if base_dir != directory:
            base = _rebased(base, base_dir, directory)
        merged = merge_service(base, own, name)
        self.done[key] = merged
        return merged


def _target(ext: YNode, name: str, issues: list[ConfigIssue]) -> tuple[str, YNode | None] | None:
    """(base service, the `file:` node or None) from `extends: NAME` or `extends: {service:, file:}`."""
    if isinstance(ext.value, str):
        return ext.value, None
    if isinstance(ext.value, dict):
        service = ext.get("service")
        if service is None or not isinstance(service.value, str):
            issues.append(ConfigIssue(ext.where, f"{name}: extends names no service",
                                      "expected extends: {service: NAME, file: FILE}"))
            return None
        file_node = ext.get("file")
        if file_node is not None and not isinstance(file_node.value, str):
            issues.append(ConfigIssue(file_node.where, f"{name}: extends file is {describe(file_node.value)}",
                                      "expected a path"))
            return None
        return service.value, file_node
    issues.append(ConfigIssue(ext.where, f"{name}: extends is {describe(ext.value)}",
                              "expected a service name, or {service: NAME, file: FILE}"))
    return None


def _rebased(base: YNode, base_dir: Path, directory: Path) -> YNode:
    """A base service from another file, its relative build context made to point where it did there."""
    build = base.get("build")
    if build is None:
        return base

    def moved(node: YNode) -> YNode:
        text = node.value
        if not isinstance(text, str) or "://" in text or text.startswith("git@") or os.path.isabs(text):
            return node
        return replace(node, value=os.path.relpath(base_dir / text, directory))

    if isinstance(build.value, str):
        new_build = moved(build)
    elif isinstance(build.value, dict) and build.get("context") is not None:
        new_build = replace(build, value={**build.value, "context": moved(build.value["context"])})
    else:
        return base
    return replace(base, value={**base.value, "build": new_build})
