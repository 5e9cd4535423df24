"""Keys and value kinds as compose allows them: an unknown key is an error at its line, never ignored.

Compose rejects a file with a key its schema does not know (`additional properties 'mem_limt' not
allowed`); skid must too, or a typo in a budget key (`mem_limt:`, `limit:` for `limits:`) silently loses
the budget. The allowed keys come from the Compose Specification's schema, the one compose validates with,
reduced by scripts/compose_keys.py to compose_keys.json: at each level, the keys allowed, whether `x-`
keys are, and which kinds of value (mapping, list, scalar) a key takes.

Checked per file, after interpolation and before merging, so every message points into the file that has
the key. Scalar types (a number where a string goes) are not checked here: compose converts many of them,
and the readers of each field (sizes, CPUs, ports) say what is wrong with a value.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any

from .checks import describe
from .model import ConfigIssue
from .yamlloc import YNode

KIND_WORDS = {"mapping": "a mapping", "list": "a list", "scalar": "a value such as a string or a number"}


@cache
def compose_shape() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("compose_keys.json")).read_text(encoding="utf-8"))["shape"]


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return "null" if value is None else "scalar"


def _path_text(path: tuple[str, ...]) -> str:
    return ".".join(path) if path else "the file"


def check_shape(tree: YNode, issues: list[ConfigIssue], *, empty_values: bool = True) -> None:
    """Every unknown key, and every value of a kind compose does not take there, in one file.

    empty_values: also refuse an empty value where compose takes none (`environment:` alone). Not for an
    override file: compose checks the merged result, where an empty value leaves the earlier one."""
    _walk(tree, compose_shape(), (), issues, empty_values)


def _walk(node: YNode, shape: dict[str, Any], path: tuple[str, ...], issues: list[ConfigIssue],
          empty_values: bool) -> None:
    value = node.value
    kind = _kind(value)
    kinds = shape.get("kinds") or []
    # An empty value (`key:`) is an error only where compose's schema takes no empty value (environment:).
    checked = empty_values or kind != "null"
    if checked and node.tag is None and kinds and kind not in kinds:  # `!reset`, `!override`: merge orders
        wanted = " or ".join(KIND_WORDS[k] for k in kinds if k in KIND_WORDS)
        issues.append(ConfigIssue(node.where, f"{_path_text(path)} is {describe(value)}", f"expected {wanted}"))
        return
    if kind == "mapping":
        keys: dict[str, Any] = shape.get("keys", {})
        each = shape.get("each")
        for raw_key, child in value.items():
            key = str(raw_key)
            if key.startswith("x-") and shape.get("x"):
                continue
            sub = keys.get(key) or each
            if sub is None:
                if shape.get("closed") or keys:
                    issues.append(_unknown(key, child, path, keys))
                continue
            _walk(child, sub, (*path, key), issues, empty_values)
    elif kind == "list" and shape.get("items"):
        for i, child in enumerate(value):
            _walk(child, shape["items"], (*path, f"[{i}]"), issues, empty_values)


def _unknown(key: str, child: YNode, path: tuple[str, ...], keys: dict[str, Any]) -> ConfigIssue:
    close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(sorted(keys))}"
    where = f"{_path_text(path)}: " if path else ""
    return ConfigIssue(child.key_loc or child.where, f"{where}unknown key '{key}'", hint)
