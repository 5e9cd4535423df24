"""Big and deep inputs: each refused in one FILE:LINE:COL line, quickly, with memory bounded;
never a RecursionError or a hang. A stack at the limits still loads, and fast."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from skid_tui.stack import ConfigError, load_stack, load_yaml
from skid_tui.stack.interpolate import InterpolationError, interpolate
from skid_tui.stack.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_SERVICES, MAX_VALUES

REPO = Path(__file__).resolve().parents[2]
LIMIT_LINE = (
    f"more than {MAX_SERVICES} services: skid shows at most {MAX_SERVICES} services "
    f"(expected at most {MAX_SERVICES} services, or split the stack into several compose projects)"
)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str) -> str:
    Path(name).parent.mkdir(parents=True, exist_ok=True)
    Path(name).write_text(textwrap.dedent(text).lstrip("\n"))
    return name


def services_file(name: str, count: int, *, per_service: str = " {{image: x}}") -> str:
    with open(name, "w") as f:
        f.write("services:\n")
        f.writelines(f"  s{i}:{per_service.format(i=i)}\n" for i in range(count))
    return name


def issues_of(*files: str, profiles: str | None = None, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_stack(list(files), profiles, environ=environ or {})
    return [str(i) for i in info.value.issues]


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def nested_flow(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- file size ---------------------------------------------------------------------------------


def test_a_500k_service_file_is_refused_by_its_size_before_parsing():
    services_file("big.yml", 500_000)
    assert os.path.getsize("big.yml") > MAX_FILE_BYTES
    lines, seconds = timed(issues_of, "big.yml")
    assert lines == [
        "big.yml:1:1: cannot read compose file: the file is 10.4 MiB, more than the 10.0 MiB skid reads "
        "(expected a regular file of at most 10.0 MiB)"
    ]
    assert seconds < 1


def test_a_file_under_the_size_limit_with_too_many_services_stops_at_the_first_one_too_many():
    services_file("many.yml", 450_000)
    assert os.path.getsize("many.yml") < MAX_FILE_BYTES
    lines, seconds = timed(issues_of, "many.yml")
    # line 1 is `services:`; service number 1,001 is on line 1,002
    assert lines == [f"many.yml:{MAX_SERVICES + 2}:3: {LIMIT_LINE}"]
    assert seconds < 2


def test_the_cli_prints_one_line_and_exits_2_for_too_many_services(tmp_path):
    services_file("many.yml", 450_000)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "skid_tui", "-f", "many.yml", "check"],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    seconds = time.perf_counter() - start
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"many.yml:{MAX_SERVICES + 2}:3: {LIMIT_LINE}"]
    assert "Traceback" not in out.stderr
    assert seconds < 5  # interpreter start included


def test_1000_services_load_quickly():
    per_service = (
        "\n    image: busybox\n    mem_limit: 64m\n    mem_reservation: 32m\n    cpus: 0.5\n"
        '    ports: ["127.0.0.1:{i}:80"]\n    environment: {{A: b, C: d}}\n'
        '    healthcheck: {{test: ["CMD", "true"], interval: 10s}}'
    )
    with open("stack.yml", "w") as f:
        f.write("services:\n")
        f.writelines(f"  s{i}:{per_service.format(i=10000 + i)}\n" for i in range(MAX_SERVICES))
    stack, seconds = timed(load_stack, ["stack.yml"], None, environ={})
    assert len(stack.services) == MAX_SERVICES
    assert stack.services["s999"].budget.mem_max == 64 * 1024**2
    assert seconds < 3  # about 0.4 s on a laptop core


def test_services_over_the_limit_across_files_or_through_an_alias_are_refused():
    services_file("a.yml", 600)
    with open("b.yml", "w") as f:
        f.write("services:\n")
        f.writelines(f"  t{i}: {{image: x}}\n" for i in range(600))
    # b's 401st service is the 1,001st of the merged stack
    assert issues_of("a.yml", "b.yml") == [f"b.yml:402:3: {LIMIT_LINE}"]
    with open("alias.yml", "w") as f:
        f.write("x-all: &all\n")
        f.writelines(f"  s{i}: {{image: x}}\n" for i in range(MAX_SERVICES + 1))
        f.write("services: *all\n")
    assert issues_of("alias.yml") == [f"alias.yml:{MAX_SERVICES + 2}:3: {LIMIT_LINE}"]


def test_exactly_1000_services_is_not_refused():
    services_file("ok.yml", MAX_SERVICES)
    assert len(load_stack(["ok.yml"], None, environ={}).services) == MAX_SERVICES


def test_a_fifo_or_a_device_is_refused_without_hanging(tmp_path):
    os.mkfifo("fifo.yml")
    os.symlink("/dev/zero", "zero.yml")
    write("withenv/stack.yml", "services: {a: {image: x}}\n")
    os.mkfifo("withenv/.env")  # beside the first compose file

    result: dict[str, list[str]] = {}

    def run() -> None:
        result["fifo"] = issues_of("fifo.yml")
        result["zero"] = issues_of("zero.yml")
        result["env"] = issues_of("withenv/stack.yml")

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader so the test run can end, then fail
        with open("fifo.yml", "w"), open("withenv/.env", "w"):
            pass
        pytest.fail("reading a FIFO hung")
    expected = "(expected a regular file of at most 10.0 MiB)"
    assert result["fifo"][0] == f"fifo.yml:1:1: cannot read compose file: not a regular file {expected}"
    assert result["zero"][0] == f"zero.yml:1:1: cannot read compose file: not a regular file {expected}"
    assert result["env"] == [
        "withenv/.env:1:1: cannot read .env file: not a regular file "
        "(expected a regular KEY=VALUE file of at most 10.0 MiB)"
    ]


def test_a_big_env_file_is_refused():
    write("stack.yml", "services: {a: {image: x}}\n")
    with open(".env", "w") as f:
        f.write("A=" + "x" * MAX_FILE_BYTES + "\n")
    (line,) = issues_of("stack.yml")
    assert line.startswith(".env:1:1: cannot read .env file: the file is 10.0 MiB, more than the 10.0 MiB skid reads")


def test_profiles_directory_limits(tmp_path):
    write("stack.yml", "services: {a: {image: x}}\n")
    os.mkdir("profiles")
    os.mkfifo("profiles/fifo.yaml")
    write("profiles/ok.yaml", "services: [a]\n")
    lines = issues_of("stack.yml", profiles="profiles")
    assert lines == [
        "profiles/fifo.yaml:1:1: cannot read profile: not a regular file (expected a regular file of at most 10.0 MiB)"
    ]
    os.remove("profiles/fifo.yaml")
    for i in range(1001):
        Path(f"profiles/p{i:04}.yaml").write_text("services: [a]\n")
    assert issues_of("stack.yml", profiles="profiles") == [
        "profiles:1:1: more than 1000 profiles in profiles directory (expected at most 1000 *.yaml or *.yml files)"
    ]


def test_a_deep_profile_is_refused_in_one_line():
    write("stack.yml", "services: {a: {image: x}}\n")
    write("profiles/deep.yaml", f"services: [a]\ndescription: {nested_flow(490)}\n")
    assert issues_of("stack.yml", profiles="profiles") == [
        f"profiles/deep.yaml:2:{13 + MAX_DEPTH}: invalid YAML: nested more than {MAX_DEPTH} levels deep "
        f"(expected at most {MAX_DEPTH} levels of nesting)"
    ]


def test_too_many_test_suites_are_refused():
    with open("stack.yml", "w") as f:
        f.write("services: {a: {image: x}}\nx-skid-tests:\n")
        f.writelines(f"  t{i}: {{image: x, command: [true]}}\n" for i in range(1001))
    assert issues_of("stack.yml") == [
        "stack.yml:1003:3: more than 1000 test suites under 'x-skid-tests' (expected at most 1000 test suites)"
    ]


# --- nesting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 490, 100_000])
def test_deep_flow_yaml_is_one_line(depth):
    write("deep.yml", f"services:\n  a:\n    image: x\n    labels: {nested_flow(depth)}\n")
    lines, seconds = timed(issues_of, "deep.yml")
    # the root mapping, services, a: three levels; labels' 62nd `[` (column 74) is the 65th
    assert lines == [
        f"deep.yml:4:{12 + MAX_DEPTH - 2}: invalid YAML: nested more than {MAX_DEPTH} levels deep "
        f"(expected at most {MAX_DEPTH} levels of nesting)"
    ]
    assert seconds < 2


def test_deep_block_yaml_is_one_line():
    lines = ["services:", "  a:", "    image: x", "    labels:"]
    lines += ["  " * (i + 3) + f"k{i}:" for i in range(490)]
    write("deep.yml", "\n".join(lines) + "\n")
    (line,) = issues_of("deep.yml")
    # level n starts on line n + 1
    assert line.startswith(f"deep.yml:{MAX_DEPTH + 2}:")
    assert f"nested more than {MAX_DEPTH} levels deep" in line


def test_nesting_up_to_the_limit_loads():
    write("ok.yml", f"a: {nested_flow(MAX_DEPTH - 1)}\n")  # the root mapping is one level
    doc = load_yaml("ok.yml")
    value, depth = doc.data["a"], 1
    while value:
        value, depth = value[0], depth + 1
    assert depth == MAX_DEPTH - 1


def test_aliases_cannot_nest_past_the_limit():
    # each anchor is 40 levels deep and holds the previous one: 200 levels once expanded
    lines = [f"x0: &x0 {nested_flow(40)}"]
    for i in range(1, 5):
        lines.append(f"x{i}: &x{i} " + "[" * 40 + f"*x{i - 1}" + "]" * 40)
    write("chain.yml", "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        load_yaml("chain.yml")
    (issue,) = info.value.issues
    assert f"nested more than {MAX_DEPTH} levels deep after expanding aliases" in str(issue)


def test_many_values_are_refused_quickly_with_bounded_memory():
    with open("wide.yml", "w") as f:
        f.write("services: {a: {image: x}}\nx-data: [" + "0," * 1_000_000 + "0]\n")
    assert os.path.getsize("wide.yml") < MAX_FILE_BYTES
    lines, seconds = timed(issues_of, "wide.yml")
    assert len(lines) == 1
    assert f"document has more than {MAX_VALUES} values (expected a smaller file)" in lines[0]
    assert seconds < 3


def test_yaml_bombs_are_still_refused_in_compose_files():
    lines = ["x-a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"x-a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 10)]
    lines += ["services: {a: {image: x}}"]
    write("bomb.yml", "\n".join(lines) + "\n")
    (line,) = issues_of("bomb.yml")
    assert "values after expanding aliases (expected fewer nested aliases)" in line


def test_aliases_and_merge_keys_keep_working():
    write(
        "anchors.yml",
        """
        x-base: &base {image: busybox, mem_limit: 64m}
        services:
          a: {<<: *base}
          b:
            <<: *base
            mem_limit: 128m
        """,
    )
    stack = load_stack(["anchors.yml"], None, environ={})
    assert stack.services["a"].budget.mem_max == 64 * 1024**2
    assert stack.services["b"].budget.mem_max == 128 * 1024**2


def deep_default(depth: int) -> str:
    expr = "x"
    for i in range(depth):
        expr = f"${{A{i}:-{expr}}}"
    return expr


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 490, 5000])
def test_deep_interpolation_is_one_error(depth):
    with pytest.raises(InterpolationError) as info:
        interpolate(deep_default(depth), {})
    assert str(info.value) == (
        f"variable interpolation nested more than {MAX_DEPTH} levels deep "
        f"(expected at most {MAX_DEPTH} levels of ${{...}} inside ${{...}})"
    )


def test_interpolation_up_to_the_limit_works():
    assert interpolate(deep_default(MAX_DEPTH), {}) == "x"
    assert interpolate(deep_default(MAX_DEPTH), {"A0": "set"}) == "set"


def test_deep_interpolation_in_a_compose_file_and_in_env_is_one_line():
    write("stack.yml", f'services:\n  a:\n    image: "{deep_default(490)}"\n')
    assert issues_of("stack.yml") == [
        f"stack.yml:3:12: variable interpolation nested more than {MAX_DEPTH} levels deep "
        f"(expected at most {MAX_DEPTH} levels of ${{...}} inside ${{...}})"
    ]
    write("stack.yml", "services: {a: {image: x}}\n")
    write(".env", f"IMAGE={deep_default(490)}\n")
    assert issues_of("stack.yml") == [
        f".env:1:1: variable interpolation nested more than {MAX_DEPTH} levels deep "
        f"(expected at most {MAX_DEPTH} levels of ${{...}} inside ${{...}})"
    ]


def test_no_recursion_error_escapes_even_with_a_low_recursion_limit():
    # what the parsers do not recurse into cannot hit the interpreter's limit, however low
    write("deep.yml", f"services:\n  a:\n    image: x\n    labels: {nested_flow(5000)}\n")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        lines = issues_of("deep.yml")
    finally:
        sys.setrecursionlimit(limit)
    assert len(lines) == 1
    assert "nested more than" in lines[0]


def test_a_big_broken_file_is_refused_quickly():
    # an unclosed quote at the start of 9 MB: the error is only found at the end of the file
    write("broken.yml", 'services: {a: {image: x}}\nx-data: "' + "a " * 4_500_000 + "\n")
    lines, seconds = timed(issues_of, "broken.yml")
    assert lines == ["broken.yml:2:9: invalid YAML: found unexpected end of stream (expected valid YAML)"]
    assert seconds < 3
    # a control character far into a file of non-ASCII text: its column counts characters, not bytes
    write("control.yml", 'services: {a: {image: x}}\nx-data: "' + "é " * 1_500_000 + '\x07"\n')
    assert issues_of("control.yml") == [
        "control.yml:2:3000010: invalid YAML: control characters are not allowed (expected valid YAML)"
    ]
