"""`docker compose -f a.yml -f b.yml`: how a later file overrides an earlier one.

Merging YNode trees (not plain data) keeps each value's location: a merged value points at the
file that set it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .yamlloc import YNode

# Paths inside a service (after `services.<name>`) with their own rule; everything else: mappings
# merge recursively, any other value (lists included) is replaced.
_REPLACED = {("command",), ("entrypoint",), ("healthcheck", "test")}
_UNIONS = {("ports",), ("expose",), ("dns",), ("tmpfs",), ("profiles",)}
_BY_TARGET = ("volumes",)
# Written as a list of `KEY=VALUE` or as a mapping; merged by key, so both become a mapping first.
_KEYED_LISTS = (("environment",), ("labels",), ("build", "args"))
_STRING_OR_LIST = ("dns", "tmpfs")
WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def merge_files(trees: list[YNode]) -> YNode:
    """Merge loaded compose files, later over earlier; `!reset`/`!override` tags are applied."""
    result: YNode | None = None
    for tree in trees:
        normalize_services(tree)
        result = _merge(result, tree, ()) or YNode({}, tree.loc)
    if result is None:
        raise ValueError("merge_files needs at least one file")
    return result


def merge_service(base: YNode, over: YNode, name: str) -> YNode:
    """`over` on top of `base`, by the rules of an override file: how `extends` builds a service."""
    return _merge(base, over, ("services", name)) or over


def normalize_services(tree: YNode) -> None:
    """Rewrite each service's alternative syntaxes into the one that merges (in place)."""
    services = tree.get("services")
    if services is None or not isinstance(services.value, dict):
        return
    for service in services.value.values():
        if not isinstance(service.value, dict):
            continue
        for rel in _KEYED_LISTS:
            parent = service if len(rel) == 1 else service.get(rel[0])
            node = parent.get(rel[-1]) if parent is not None else None
            if node is not None and isinstance(node.value, list):
                mapping = _keyed(node.value)
                if mapping is not None:
                    node.value = mapping
        depends = service.get("depends_on")
        if (
            depends is not None
            and isinstance(depends.value, list)
            and all(isinstance(i.value, str) for i in depends.value)
        ):
            # list form = mapping form with the default condition; the name is the key
            depends.value = {i.value: YNode(None, i.loc, key_loc=i.loc, written=False) for i in depends.value}
        for key in _STRING_OR_LIST:
            node = service.get(key)
            if node is not None and isinstance(node.value, str):
                node.value = [YNode(node.value, node.loc)]


def _keyed(items: list[YNode]) -> dict[str, YNode] | None:
    """`["A=1", "B"]` as `{A: "1", B: None}`; None if an item is not a string (reported later)."""
    out: dict[str, YNode] = {}
    for item in items:
        if not isinstance(item.value, str):
            return None
        key, sep, value = item.value.partition("=")
        out[key] = YNode(value if sep else None, item.loc, key_loc=item.loc, written=bool(sep))
    return out


def _merge(base: YNode | None, over: YNode, path: tuple[str | int, ...]) -> YNode | None:
    """The merged value at path, or None when the value is removed (`!reset`)."""
    if over.tag == "!reset":
        return None
    if over.tag == "!override":
        return _strip(replace(over, tag=None))
    if base is None:
        return _strip(over)
    if over.value is None:
        return base  # an empty value in an override file does not erase; `!reset` does
    rel = path[2:] if len(path) >= 2 and path[0] == "services" else None
    if rel in _REPLACED:
        return _strip(over)
    both_lists = isinstance(base.value, list) and isinstance(over.value, list)
    if rel in _UNIONS and both_lists:
        return replace(base, value=_union(base.value, _strip(over).value))
    if rel == _BY_TARGET and both_lists:
        return replace(base, value=_by_target(base.value, _strip(over).value))
    if isinstance(base.value, dict) and isinstance(over.value, dict):
        merged = dict(base.value)
        for key, value in over.value.items():
            m = _merge(merged.get(key), value, (*path, key))
            if m is None:
                merged.pop(key, None)
            else:
                merged[key] = m
        return replace(base, value=merged)
    return _strip(over)


def _strip(node: YNode) -> YNode:
    """Apply the override tags inside a value that has nothing under it to merge with."""
    if isinstance(node.value, dict):
        kept = {k: _strip(v) for k, v in node.value.items() if v.tag != "!reset"}
        return replace(node, value=kept, tag=None)
    if isinstance(node.value, list):
        return replace(node, value=[_strip(v) for v in node.value if v.tag != "!reset"], tag=None)
    return replace(node, tag=None) if node.tag else node


def _union(base: list[YNode], over: list[YNode]) -> list[YNode]:
    out = list(base)
    seen = [n.plain() for n in out]
    for node in over:
        plain = node.plain()
        if plain not in seen:
            out.append(node)
            seen.append(plain)
    return out


def volume_source(node: YNode) -> str | None:
    """The named volume a volume entry mounts (`data:/x`, or the long form with type volume); None for a bind
    mount (a path), an anonymous volume, or an entry that is not one."""
    if isinstance(node.value, dict):
        kind, src = node.get("type"), node.get("source")
        if kind is not None and kind.value == "volume" and src is not None and isinstance(src.value, str):
            return src.value or None
        return None
    if not isinstance(node.value, str) or WINDOWS_DRIVE.match(node.value):
        return None
    head, sep, _ = node.value.partition(":")
    return head if sep and head and not head.startswith(("/", ".", "~", "$")) else None


def volume_target(node: YNode) -> str | None:
    """The container path of a volume entry, short (`src:/target:ro`) or long (`target:`) syntax."""
    if isinstance(node.value, dict):
        target = node.get("target")
        return target.value if target is not None and isinstance(target.value, str) else None
    if not isinstance(node.value, str):
        return None
    parts = node.value.split(":")
    if WINDOWS_DRIVE.match(node.value) and len(parts) > 1:
        parts = [f"{parts[0]}:{parts[1]}", *parts[2:]]  # `C:\data:/data`: the drive's colon
    return parts[1] if len(parts) > 1 else parts[0]


def _by_target(base: list[YNode], over: list[YNode]) -> list[YNode]:
    out = list(base)
    for node in over:
        target = volume_target(node)
        index = next(
            (i for i, b in enumerate(out) if target is not None and volume_target(b) == target), None
        )
        if index is None:
            out.append(node)
        else:
            out[index] = node
    return out
