"""What already held and must keep holding: every broken compose file gives one line and exit 2 through the
real command line, never a traceback, and text from the file in that line is shown, not obeyed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.test_cli import skid

BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 10)]
    + ["services:", "  db:", "    image: x", "    labels: [*a9]"]
) + "\n"

CASES = {
    "garbage": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    "not-utf8": b"services:\n  db:\n    image: caf\xe9\n",
    "nul-bytes": b"services:\n  db:\n    image: post\x00gres\n",
    "yaml-bomb": BOMB.encode(),
    "not-a-mapping": b"- just\n- a list\n",
    "escape-in-a-key": b"services:\n  db:\n    image: x\n    mem_limt\x1b]0;PWNED\x07: 1g\n",
    "markup-in-a-value": b"services:\n  db:\n    image: x\n    mem_limit: '[bold red]x[/]'\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_broken_compose_file_is_one_line_and_exit_2(tmp_path, name):
    path = tmp_path / "compose.yml"
    path.write_bytes(CASES[name])
    out = skid("--compose", str(path), "check")
    assert out.returncode == 2, out
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"{path}:"), lines[0]
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: ", lines[0]), lines[0]
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", lines[0]), f"a control character in {lines[0]!r}"


def test_a_directory_as_compose_file(tmp_path):
    out = skid("--compose", str(tmp_path), "check")
    assert out.returncode == 2
    (line,) = out.stderr.splitlines()
    assert line.startswith(f"{tmp_path}:1:1: ") and "Traceback" not in out.stderr


def test_markup_in_a_value_is_quoted_literally(tmp_path):
    path = tmp_path / "compose.yml"
    path.write_bytes(CASES["markup-in-a-value"])
    (line,) = skid("--compose", str(path), "check").stderr.splitlines()
    assert "[bold red]x[/]" in line


def test_an_escape_in_a_file_name_is_shown_as_text(tmp_path: Path):
    path = tmp_path / "evil\x1b]0;PWNED\x07.yml"
    out = skid("--compose", str(path), "check")
    assert out.returncode == 2
    (line,) = out.stderr.splitlines()
    assert "evil^[]0;PWNED^G.yml" in line and "\x1b" not in line
