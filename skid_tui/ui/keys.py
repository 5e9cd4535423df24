"""Textual bindings built from the one key table (ops.keys): every binding has its id, keys and words there."""

from __future__ import annotations

from textual.binding import Binding

from skid_tui.ops.keys import KEYS


def bind(binding_id: str, action: str, *, priority: bool = False) -> Binding:
    key = KEYS[binding_id]
    return Binding(key.keys, action, key.description, show=key.show, priority=priority, id=binding_id)
