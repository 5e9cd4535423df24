#!/usr/bin/env python3
"""Derive skid_tui/stack/compose_keys.json from the Compose Specification's JSON schema.

The schema is the one compose itself validates with: the bundled compose binary embeds it, so this reads it
from there (`.venv/bin/docker-compose`, put there by `make install`), or from a schema file given as the first
argument. What is kept is only the shape skid checks: at each level of a compose file, which keys are allowed
(and whether `x-` keys are), which value kinds (mapping, list, scalar) the key takes, and the same for what
lies below. Run it again when the bundled compose is upgraded, and commit the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "skid_tui" / "stack" / "compose_keys.json"
KINDS = {"object": "mapping", "array": "list", "string": "scalar", "number": "scalar", "integer": "scalar",
         "boolean": "scalar", "null": "null"}


def embedded_schema(binary: Path) -> dict[str, Any]:
    data = binary.read_bytes()
    at = data.find(b'"$id": "compose_spec.json"')
    if at < 0:
        raise SystemExit(f"{binary}: no embedded compose_spec.json")
    start = data.rfind(b"{", 0, at)
    schema, _ = json.JSONDecoder().raw_decode(data[start:].decode("utf-8", "replace"))
    return schema


class Deriver:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.done: dict[str, dict[str, Any]] = {}

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            path = node["$ref"].removeprefix("#/").split("/")
            target: Any = self.schema
            for part in path:
                target = target[part]
            node = target
        return node

    def branches(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        node = self.resolve(node)
        alternatives = node.get("oneOf") or node.get("anyOf")
        if alternatives:
            return [b for alt in alternatives for b in self.branches(alt)]
        return [node]

    def shape(self, node: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """{"kinds": [...], "keys": {k: shape}, "x": bool, "closed": bool, "each": shape, "items": shape}."""
        out: dict[str, Any] = {}
        kinds: set[str] = set()
        keys: dict[str, Any] = {}
        closed = False
        x_ok = False
        each: dict[str, Any] | None = None
        items: dict[str, Any] | None = None
        for branch in self.branches(node):
            types = branch.get("type")
            if types is None and ("properties" in branch or "patternProperties" in branch):
                types = "object"
            for t in [types] if isinstance(types, str) else types or []:
                kinds.add(KINDS.get(t, "scalar"))
            if depth > 12:
                continue
            if "properties" in branch:
                for key, sub in branch["properties"].items():
                    keys[key] = self.shape(sub, depth + 1)
            if branch.get("additionalProperties") is False:
                closed = True
            elif isinstance(branch.get("additionalProperties"), dict):
                each = self.shape(branch["additionalProperties"], depth + 1)
            for pattern, sub in branch.get("patternProperties", {}).items():
                if pattern == "^x-":
                    x_ok = True
                elif sub:
                    each = self.shape(sub, depth + 1)
            if isinstance(branch.get("items"), dict):
                items = self.shape(branch["items"], depth + 1)
        out["kinds"] = sorted(kinds)
        if keys:
            out["keys"] = keys
        if closed:
            out["closed"] = True
        if x_ok:
            out["x"] = True
        if each:
            out["each"] = each
        if items:
            out["items"] = items
        return out


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".venv" / "bin" / "docker-compose"
    schema = json.loads(source.read_text()) if source.suffix == ".json" else embedded_schema(source)
    shape = Deriver(schema).shape(schema)
    OUT.write_text(json.dumps({"_": "derived from the Compose Specification schema by scripts/compose_keys.py",
                               "shape": shape}, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"compose_keys: wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
