"""The YAML loader: plain data plus where every value and key was written."""

import textwrap
from pathlib import Path

import pytest

from skid_tui.stack import ConfigError, Location, load_yaml


def write(name: str, text: str) -> str:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return name


def errors(name: str, kind: str = "compose file") -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_yaml(name, kind=kind)
    return [str(i) for i in info.value.issues]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_locations_of_values_and_keys():
    write(
        "compose/demo.yml",
        """
        services:
          postgres:
            deploy:
              resources:
                limits:
                  memory: 512M
            ports:
              - "5432:5432"
              - 6379
        """,
    )
    doc = load_yaml("compose/demo.yml")
    assert doc.data == {
        "services": {
            "postgres": {
                "deploy": {"resources": {"limits": {"memory": "512M"}}},
                "ports": ["5432:5432", 6379],
            }
        }
    }
    path = ("services", "postgres", "deploy", "resources", "limits", "memory")
    assert doc.locations[path] == Location("compose/demo.yml", 6, 19)
    assert doc.key_locations[path] == Location("compose/demo.yml", 6, 11)
    assert doc.locations[("services", "postgres", "ports", 0)] == Location("compose/demo.yml", 8, 9)
    assert doc.locations[("services", "postgres", "ports", 1)] == Location("compose/demo.yml", 9, 9)
    assert doc.key_locations[("services", "postgres")] == Location("compose/demo.yml", 2, 3)
    assert str(doc.locations[path]) == "compose/demo.yml:6:19"
    # a path below a scalar falls back to the nearest written value
    assert doc.location((*path, "nope")) == Location("compose/demo.yml", 6, 19)


def test_anchors_aliases_and_merge_keys():
    write(
        "c.yml",
        """
        x-base: &base
          image: base
          restart: always
        x-more: &more
          restart: never
          init: true
        x-port: &port "8080:80"
        services:
          a:
            <<: [*base, *more]
            image: mine
            ports: [*port]
          b:
            <<: *more
          c: *base
        """,
    )
    doc = load_yaml("c.yml")
    services = doc.data["services"]
    # explicit keys win; in a list of merged mappings the earlier one wins
    assert services["a"] == {"restart": "always", "init": True, "image": "mine", "ports": ["8080:80"]}
    assert services["b"] == {"restart": "never", "init": True}
    assert services["c"] == {"image": "base", "restart": "always"}
    # merged and aliased values point at where they were written: the anchor
    assert doc.locations[("services", "a", "restart")] == Location("c.yml", 3, 12)
    assert doc.locations[("services", "a", "image")] == Location("c.yml", 11, 12)
    assert doc.locations[("services", "b", "init")] == Location("c.yml", 6, 9)
    assert doc.locations[("services", "a", "ports", 0)] == Location("c.yml", 7, 9)


def test_scalars_are_read_as_compose_reads_them():
    # YAML 1.2 core schema, like compose: no base-60 ints, no yes/no/on/off booleans
    write(
        "c.yml",
        """
        ports: [22:22, 8080:80]
        flags: [yes, no, on, off, true, False]
        numbers: [12, -3, 0o17, 0x1F, 1.5, 1e3, .5]
        nulls: [~, null, ]
        text: [1_000, "12", 2024-01-01, =]
        """,
    )
    data = load_yaml("c.yml").data
    assert data["ports"] == ["22:22", "8080:80"]
    assert data["flags"] == ["yes", "no", "on", "off", True, False]
    assert data["numbers"] == [12, -3, 15, 31, 1.5, 1000.0, 0.5]
    assert data["nulls"] == [None, None]
    assert data["text"] == ["1_000", "12", "2024-01-01", "="]


def test_an_empty_file_is_an_empty_mapping():
    write("empty.yml", "")
    write("comments.yml", "# nothing here\n")
    assert load_yaml("empty.yml").data == {}
    assert load_yaml("comments.yml").data == {}


def test_yaml_syntax_error_is_one_line_at_the_problem():
    write(
        "compose/demo.yml",
        """
        services:
          api:
            image: a: b
        """,
    )
    assert errors("compose/demo.yml") == [
        "compose/demo.yml:3:13: invalid YAML: mapping values are not allowed here (expected valid YAML)"
    ]


def test_yaml_syntax_errors_of_other_kinds():
    write("tab.yml", "services:\n\tapi: {}\n")
    write("two.yml", "a: 1\n---\nb: 2\n")
    write("flow.yml", "a: [1, 2\n")
    write("alias.yml", "a: *nowhere\n")
    write("quote.yml", 'a: 1\nb: "open\n\n')
    write("eof.yml", "services:\n  db: [\n\n")
    assert errors("tab.yml") == [
        "tab.yml:2:1: invalid YAML: found character '\\t' that cannot start any token (expected valid YAML)"
    ]
    assert errors("two.yml") == [
        "two.yml:2:1: invalid YAML: expected a single document in the stream, but found another document "
        "(expected valid YAML)"
    ]
    assert errors("flow.yml") == [
        "flow.yml:1:4: invalid YAML: expected ',' or ']', but got '<stream end>' (expected valid YAML)"
    ]
    # an error found at the end of the file points where the unclosed value starts, or ends
    assert errors("quote.yml") == [
        "quote.yml:2:4: invalid YAML: found unexpected end of stream (expected valid YAML)"
    ]
    assert errors("eof.yml") == [
        "eof.yml:2:8: invalid YAML: expected the node content, but found '<stream end>' (expected valid YAML)"
    ]
    assert errors("alias.yml") == [
        "alias.yml:1:4: invalid YAML: found undefined alias 'nowhere' (expected valid YAML)"
    ]


def test_not_utf8():
    Path("bin.yml").write_bytes(b"a: 1\nb: \xff\n")
    assert errors("bin.yml") == [
        "bin.yml:2:4: invalid YAML: not UTF-8 text (invalid start byte) (expected valid YAML)"
    ]


def test_missing_or_unreadable_file():
    assert errors("compose/missing.yml") == [
        "compose/missing.yml:1:1: cannot read compose file: No such file or directory (expected a readable "
        "YAML file)"
    ]
    Path("profiles/dir.yaml").mkdir(parents=True)
    assert errors("profiles/dir.yaml", kind="profile") == [
        "profiles/dir.yaml:1:1: cannot read profile: Is a directory (expected a readable YAML file)"
    ]


def test_duplicate_keys_are_an_error():
    write(
        "c.yml",
        """
        services:
          api:
            image: a
            image: b
          api:
            image: c
        """,
    )
    assert errors("c.yml") == [
        "c.yml:4:5: duplicate key 'image', first defined at c.yml:3:5 (expected each key once in a mapping)",
        "c.yml:5:3: duplicate key 'api', first defined at c.yml:2:3 (expected each key once in a mapping)",
    ]


def test_merge_key_overridden_by_an_explicit_key_is_not_a_duplicate():
    write("c.yml", "x: &x {a: 1}\ny:\n  <<: *x\n  a: 2\n")
    assert load_yaml("c.yml").data["y"] == {"a": 2}


def test_merge_of_a_non_mapping_is_an_error():
    write("c.yml", "x: &x [1]\ny:\n  <<: *x\n")
    assert errors("c.yml") == [
        "c.yml:1:8: invalid YAML: '<<' merges a value that is not a mapping (expected <<: *anchor or <<: "
        "[*a, *b])"
    ]


def test_recursive_alias_and_unknown_tags_are_errors():
    write("loop.yml", "a: &a [1, *a]\n")
    write("tag.yml", "a: !foo x\nb: !!python/name:os.system\n")
    assert errors("loop.yml") == [
        "loop.yml:1:4: invalid YAML: an alias refers to a value that contains it (expected valid YAML)"
    ]
    assert errors("tag.yml") == [
        "tag.yml:1:4: unsupported YAML tag '!foo' (expected a plain value, !reset or !override)",
        "tag.yml:2:4: unsupported YAML tag 'tag:yaml.org,2002:python/name:os.system' "
        "(expected a plain value, !reset or !override)",
    ]


def test_alias_bombs_are_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 10)]
    write("bomb.yml", "\n".join(lines) + "\n")
    (line,) = errors("bomb.yml")
    assert "values after expanding aliases" in line
