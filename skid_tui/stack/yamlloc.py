"""YAML that remembers where each value was written, so every error can say FILE:LINE:COL.

PyYAML's `compose` gives nodes with marks; we build our own tree (`YNode`) from them, expanding
aliases and `<<` merge keys, and flatten it to plain data plus a map from key paths to locations.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from .limits import (
    DEPTH_EXPECTED,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_SERVICES,
    MAX_VALUES,
    SERVICES_LIMIT_EXPECTED,
    SERVICES_LIMIT_MESSAGE,
    InputTooLarge,
    describe_size,
    read_bounded,
)
from .model import ConfigError, ConfigIssue, Location

KeyPath = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
MERGE_TAG = _TAG + "merge"
NULL_TAG = _TAG + "null"
# Compose's own tags for override files: `!reset` drops a value, `!override` replaces instead of merging.
COMPOSE_TAGS = frozenset({"!reset", "!override"})
_SCALAR_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null"))
_KEEP_AS_TEXT = frozenset(_TAG + t for t in ("timestamp", "binary"))
_MAPPING_TAGS = frozenset({_TAG + "map", *COMPOSE_TAGS})
_SEQUENCE_TAGS = frozenset({_TAG + "seq", *COMPOSE_TAGS})

YAML_EXPECTED = "expected valid YAML"


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars, as compose (go-yaml v3) reads them.

    YAML 1.1 would turn `- 22:22` into the integer 1342 (base 60) and `yes`/`on` into booleans;
    compose keeps them as strings, and so must we.
    """


_DROPPED = {_TAG + t for t in ("bool", "int", "float", "timestamp", "value", "yaml")}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _TAG + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    _TAG + "int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    _TAG + "float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_RESOLVER = _Loader("")
try:  # libyaml, in PyYAML's wheels: reads a big file some 15 times faster than PyYAML's own parser
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    _CParser = None
_REPARSE_CHARS = 512 * 1024  # PyYAML reads this much in about half a second
_CONSTRUCTOR = SafeConstructor()


@dataclass
class YNode:
    """A loaded value with its location; mappings hold YNodes by key, sequences hold YNodes."""

    value: Any  # dict[str, YNode] | list[YNode] | str | int | float | bool | None
    loc: Location
    key_loc: Location | None = None  # where the key of this value was written, in a mapping
    tag: str | None = None  # "!reset" / "!override" while files are merged, else None
    written: bool = True  # False for an empty value (`key:` and nothing after it)

    @property
    def where(self) -> Location:
        """Where to point an error about this value: the value, or its key if nothing was written."""
        if not self.written and self.key_loc is not None:
            return self.key_loc
        return self.loc

    def get(self, key: str) -> YNode | None:
        return self.value.get(key) if isinstance(self.value, dict) else None

    def plain(self) -> Any:
        """The value as plain Python data (dict/list/str/int/float/bool/None)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value

    def walk(self, path: KeyPath = ()) -> Iterator[tuple[KeyPath, YNode]]:
        """Every node with its key path, parents before children."""
        yield path, self
        if isinstance(self.value, dict):
            for k, v in self.value.items():
                yield from v.walk((*path, k))
        elif isinstance(self.value, list):
            for i, v in enumerate(self.value):
                yield from v.walk((*path, i))


@dataclass(frozen=True)
class YamlDoc:
    """Plain data plus where each value (and each mapping key) was written, by key path."""

    data: Any
    locations: dict[KeyPath, Location] = field(default_factory=dict)
    key_locations: dict[KeyPath, Location] = field(default_factory=dict)

    def location(self, path: KeyPath) -> Location:
        """The location of the value at path, or of its nearest written ancestor."""
        for end in range(len(path), -1, -1):
            loc = self.locations.get(path[:end])
            if loc is not None:
                return loc
        return Location("<unknown>")


def to_doc(tree: YNode) -> YamlDoc:
    locations: dict[KeyPath, Location] = {}
    key_locations: dict[KeyPath, Location] = {}
    for path, node in tree.walk():
        locations[path] = node.loc
        if node.key_loc is not None and path:
            key_locations[path] = node.key_loc
    return YamlDoc(tree.plain(), locations, key_locations)


def load_yaml(path: Path | str, *, display: str | None = None, kind: str = "YAML file") -> YamlDoc:
    """Load one YAML file as plain data with locations; raise ConfigError on any problem.

    `display` is the file name used in locations (default: the path as given); `kind` names the
    file in the "cannot read" message ("compose file", "profile").
    """
    tree, issues = load_tree(path, display=display, kind=kind)
    if tree is None or any(i.severity == "error" for i in issues):
        raise ConfigError(issues)
    return to_doc(tree)


def load_tree(
    path: Path | str, *, display: str | None = None, kind: str = "YAML file", services_key: str | None = None
) -> tuple[YNode | None, list[ConfigIssue]]:
    """Load one YAML file as a YNode tree. Returns (None, issues) if it cannot be read or parsed;
    an empty file is an empty mapping. `services_key`: see parse_tree."""
    display = os.fspath(path) if display is None else display
    start = Location(display, 1, 1)
    try:
        raw = read_bounded(path)
    except OSError as e:
        reason = e.strerror or str(e)
        return None, [ConfigIssue(start, f"cannot read {kind}: {reason}", "expected a readable YAML file")]
    except InputTooLarge as e:
        expected = f"expected a regular file of at most {describe_size(MAX_FILE_BYTES)}"
        return None, [ConfigIssue(start, f"cannot read {kind}: {e.reason}", expected)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        loc = Location(display, line, col)
        return None, [ConfigIssue(loc, f"invalid YAML: not UTF-8 text ({e.reason})", YAML_EXPECTED)]
    return parse_tree(text, display, services_key=services_key)


def parse_tree(
    text: str, display: str, *, services_key: str | None = None
) -> tuple[YNode | None, list[ConfigIssue]]:
    """Parse YAML text (named `display` in locations) into a YNode tree.

    With `services_key`, the mapping under that top-level key may hold at most MAX_SERVICES
    entries; parsing stops at the first one too many, so a huge file is refused in moments.
    """
    try:
        root = _compose(text, services_key)
    except _Limit as e:
        loc = Location(display, e.mark.line + 1, e.mark.column + 1)
        return None, [ConfigIssue(loc, e.message, e.expected)]
    except RecursionError:  # _compose does not recurse; this is only a last line of defence
        return None, [ConfigIssue(Location(display), "invalid YAML: nested too deeply", DEPTH_EXPECTED)]
    except yaml.MarkedYAMLError as e:
        loc = _error_location(text, display, e)
        problem = str(e.problem or e.context or "syntax error")
        if e.problem and e.context and e.context.startswith("expected"):
            problem = f"{e.context}, {e.problem}"  # "expected a single document..., but found another"
        problem = " ".join(problem.split())
        return None, [ConfigIssue(loc, f"invalid YAML: {problem}", YAML_EXPECTED)]
    except yaml.YAMLError as e:  # ReaderError: a control character; it has a position, no mark
        pos = getattr(e, "position", 0) or 0
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        reason = getattr(e, "reason", None) or str(e)
        return None, [ConfigIssue(Location(display, line, col), f"invalid YAML: {reason}", YAML_EXPECTED)]
    if root is None or (isinstance(root, ScalarNode) and root.tag == NULL_TAG and not root.value):
        return YNode({}, Location(display)), []  # an empty file is an empty mapping
    builder = _Builder(display)
    try:
        tree = builder.build(root)
    except _TooLarge as e:
        msg = f"document has more than {MAX_VALUES} values after expanding aliases"
        return None, [ConfigIssue(builder.loc(e.node), msg, "expected fewer nested aliases")]
    except _TooDeep as e:
        msg = f"invalid YAML: nested more than {MAX_DEPTH} levels deep after expanding aliases"
        return None, [ConfigIssue(builder.loc(e.node), msg, DEPTH_EXPECTED)]
    except RecursionError:
        return None, [ConfigIssue(Location(display), "invalid YAML: nested too deeply", DEPTH_EXPECTED)]
    return tree, builder.issues


class _Limit(Exception):
    """A limit of limits.py reached while composing: one issue at `mark`."""

    def __init__(self, mark: Mark, message: str, expected: str) -> None:
        self.mark = mark
        self.message = message
        self.expected = expected


@dataclass
class _Frame:
    node: CollectionNode
    key: Node | None = None  # a mapping's key waiting for its value
    counted: bool = False  # the mapping under services_key: its entries are counted
    entries: int = 0


def _compose(text: str, services_key: str | None) -> Node | None:
    """yaml.compose without recursion, with limits: PyYAML's composer recurses once per level of
    nesting (RecursionError at a few hundred) and composes any number of nodes. Same nodes, same
    errors as PyYAML's otherwise.

    Events come from libyaml when it is there; if libyaml finds the text invalid, PyYAML's parser
    reads it again, so errors keep PyYAML's words and positions (and what PyYAML accepts is read).
    Not a big file, though: PyYAML takes seconds a megabyte, so there libyaml's error stands.
    """
    if _CParser is not None:
        try:
            return _compose_events(_CParser(text), services_key)
        except yaml.reader.ReaderError as e:
            if len(text) > _REPARSE_CHARS:
                # libyaml counts bytes of UTF-8, the rest of skid characters
                chars = len(text.encode("utf-8")[: e.position].decode("utf-8", "ignore"))
                raise yaml.reader.ReaderError(e.name, chars, e.character, e.encoding, e.reason) from None
        except yaml.YAMLError:
            if len(text) > _REPARSE_CHARS:
                raise
    return _compose_events(_Loader(text), services_key)


def _compose_events(loader: Any, services_key: str | None) -> Node | None:
    try:
        loader.get_event()  # stream start
        if loader.check_event(StreamEndEvent):
            return None
        loader.get_event()  # document start
        root = _compose_document(loader, services_key)
        loader.get_event()  # document end
        if not loader.check_event(StreamEndEvent):
            event = loader.get_event()
            raise ComposerError(
                "expected a single document in the stream",
                root.start_mark,
                "but found another document",
                event.start_mark,
            )
        return root
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()


def _compose_document(loader: Any, services_key: str | None) -> Node:
    anchors: dict[str, Node] = {}
    stack: list[_Frame] = []
    count = 0
    while True:
        event = loader.get_event()
        node: Node
        if isinstance(event, CollectionEndEvent):
            node = stack.pop().node
            node.end_mark = event.end_mark
        elif isinstance(event, AliasEvent):
            if event.anchor not in anchors:
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
            node = anchors[event.anchor]
        else:
            # An anchor defined again names the later value from there on: YAML 1.2 and compose's go-yaml
            # allow it (PyYAML's composer refuses it).
            anchor = event.anchor
            count += 1
            if count > MAX_VALUES:
                raise _Limit(event.start_mark, f"document has more than {MAX_VALUES} values", "expected a smaller file")
            tag = event.tag
            if isinstance(event, ScalarEvent):
                if tag is None or tag == "!":
                    tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit)
                # libyaml says "" for a plain scalar, PyYAML None
                node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style or None)
                if anchor is not None:
                    anchors[anchor] = node
            elif isinstance(event, SequenceStartEvent | MappingStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise _Limit(
                        event.start_mark, f"invalid YAML: nested more than {MAX_DEPTH} levels deep", DEPTH_EXPECTED
                    )
                kind = MappingNode if isinstance(event, MappingStartEvent) else SequenceNode
                if tag is None or tag == "!":
                    tag = _RESOLVER.resolve(kind, None, event.implicit)
                collection = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if anchor is not None:
                    anchors[anchor] = collection
                counted = (
                    services_key is not None
                    and kind is MappingNode
                    and len(stack) == 1
                    and isinstance(stack[0].node, MappingNode)
                    and isinstance(stack[0].key, ScalarNode)
                    and stack[0].key.value == services_key
                )
                stack.append(_Frame(collection, counted=counted))
                continue
            else:  # the parser yields nothing else inside a document
                raise ComposerError(None, None, f"unexpected {type(event).__name__}", event.start_mark)
        if not stack:
            return node
        parent = stack[-1]
        if isinstance(parent.node, SequenceNode):
            parent.node.value.append(node)
        elif parent.key is None:
            parent.key = node
            if parent.counted:
                parent.entries += 1
                if parent.entries > MAX_SERVICES:
                    raise _Limit(node.start_mark, SERVICES_LIMIT_MESSAGE, SERVICES_LIMIT_EXPECTED)
        else:
            parent.node.value.append((parent.key, node))
            parent.key = None


def _error_location(text: str, display: str, e: yaml.MarkedYAMLError) -> Location:
    """Where to point a syntax error. PyYAML marks errors found at the end of the file (an unclosed
    `[`, `{` or quote) at the end of the file; the line the user has to fix is earlier: the start of
    the unclosed construct if known, else just after the last character written."""
    mark = e.problem_mark or e.context_mark
    if mark is None:
        return Location(display)
    end = len(text.rstrip())
    if end and mark.index >= end:
        if e.context_mark is not None and e.context_mark.index < end:
            mark = e.context_mark
        else:
            line = text.count("\n", 0, end) + 1
            return Location(display, line, end - (text.rfind("\n", 0, end) + 1) + 1)
    return Location(display, mark.line + 1, mark.column + 1)


class _TooLarge(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


class _TooDeep(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


class _Builder:
    """Turns PyYAML nodes into YNodes, expanding aliases and merge keys, noting what is wrong."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.issues: list[ConfigIssue] = []
        self.left = MAX_VALUES
        self.active: set[int] = set()  # collection nodes being built: an alias to one is a cycle

    def loc(self, node: Node) -> Location:
        return Location(self.display, node.start_mark.line + 1, node.start_mark.column + 1)

    def issue(self, node: Node, message: str, expected: str) -> None:
        self.issues.append(ConfigIssue(self.loc(node), message, expected))

    def build(self, node: Node, key_loc: Location | None = None, depth: int = 0) -> YNode:
        self.left -= 1
        if self.left < 0:
            raise _TooLarge(node)
        if depth > MAX_DEPTH:  # aliases can nest deeper than the text does
            raise _TooDeep(node)
        tag = node.tag if node.tag in COMPOSE_TAGS else None
        if isinstance(node, ScalarNode):
            written = not (node.tag == NULL_TAG and node.value == "" and node.style is None)
            return YNode(self.scalar(node), self.loc(node), key_loc, tag, written)
        if id(node) in self.active:
            self.issue(node, "invalid YAML: an alias refers to a value that contains it", YAML_EXPECTED)
            return YNode(None, self.loc(node), key_loc)
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                if node.tag not in _MAPPING_TAGS:
                    self.unsupported(node)
                return YNode(self.mapping(node, depth), self.loc(node), key_loc, tag)
            if node.tag not in _SEQUENCE_TAGS:
                self.unsupported(node)
            return YNode([self.build(item, None, depth + 1) for item in node.value], self.loc(node), key_loc, tag)
        finally:
            self.active.discard(id(node))

    def unsupported(self, node: Node) -> None:
        self.issue(node, f"unsupported YAML tag '{node.tag}'", "expected a plain value, !reset or !override")

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag in COMPOSE_TAGS:
            # `!reset null`: the tag replaced the implicit one; resolve what the text alone means
            tag = _RESOLVER.resolve(ScalarNode, node.value, (node.style is None, False))
        if tag in _KEEP_AS_TEXT:
            return node.value
        if tag not in _SCALAR_TAGS:
            self.unsupported(node)
            return node.value
        plain = ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style)
        try:
            return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, plain)
        except (ValueError, yaml.YAMLError):
            short = tag.removeprefix(_TAG)
            self.issue(node, f"invalid YAML: cannot read '{node.value}' as !!{short}", YAML_EXPECTED)
            return node.value

    def mapping(self, node: MappingNode, depth: int) -> dict[str, YNode]:
        explicit: dict[str, YNode] = {}
        merged: dict[str, YNode] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                self.merge_into(merged, value_node, depth)
                continue
            if not isinstance(key_node, ScalarNode):
                self.issue(key_node, "invalid YAML: a mapping key is a collection", "expected a string key")
                continue
            key = key_node.value  # compose keys are strings: keep the text (`8080:` is "8080")
            key_loc = self.loc(key_node)
            if key in explicit:
                first = explicit[key].key_loc
                self.issues.append(
                    ConfigIssue(
                        key_loc,
                        f"duplicate key '{key}', first defined at {first}",
                        "expected each key once in a mapping",
                    )
                )
                continue
            explicit[key] = self.build(value_node, key_loc, depth + 1)
        if not merged:
            return explicit
        # YAML merge keys: explicit keys win over merged ones, merged ones come first in order
        return {**{k: v for k, v in merged.items() if k not in explicit}, **explicit}

    def merge_into(self, merged: dict[str, YNode], value_node: Node, depth: int) -> None:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, MappingNode):
                self.issue(
                    source,
                    "invalid YAML: '<<' merges a value that is not a mapping",
                    "expected <<: *anchor or <<: [*a, *b]",
                )
                continue
            built = self.build(source, None, depth)  # its keys land in the mapping being built
            for k, v in built.value.items():
                merged.setdefault(k, v)  # in `<<: [*a, *b]` the earlier mapping wins
