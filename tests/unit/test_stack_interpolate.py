"""Variable interpolation as compose does it, the .env file, and their errors."""

import textwrap
from pathlib import Path

import pytest

from skid_tui.stack import ConfigError, load_compose
from skid_tui.stack.interpolate import InterpolationError, interpolate

VARS = {"A": "a", "EMPTY": "", "NUM": "8080"}


def write(name: str, text: str) -> str:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return name


def errors(files: list[str], environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_compose(files, environ=environ)
    return [str(i) for i in info.value.issues]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$A", "a"),
        ("${A}", "a"),
        ("x${A}y$A.z", "xaya.z"),
        ("$NUM:80", "8080:80"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),  # `:-`: unset or empty
        ("${A:-d}", "a"),
        ("${UNSET-d}", "d"),
        ("${EMPTY-d}", ""),  # `-`: only unset
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${A:?must be set}", "a"),
        ("${EMPTY?set but empty is fine}", ""),
        ("$$A", "$A"),
        ("$${A}", "${A}"),
        ("cost $5 and $", "cost $5 and $"),  # a lone $ stays
        ("${UNSET:-${A}}", "a"),  # nested default
        ("${UNSET:-${ALSO_UNSET:-deep}}-x", "deep-x"),
        ("${UNSET:-127.0.0.1:${NUM}}", "127.0.0.1:8080"),
        ("${A:-${UNSET:?not evaluated}}", "a"),  # only the branch used is evaluated
        ("${UNSET:-a}}", "a}"),
        ("{}", "{}"),
    ],
)
def test_interpolate_forms(text, expected):
    assert interpolate(text, VARS) == expected


def test_unset_without_default_is_empty_and_reported():
    missing: set[str] = set()
    assert interpolate("x${UNSET}y$OTHER", VARS, missing) == "xy"
    assert missing == {"UNSET", "OTHER"}
    missing.clear()
    interpolate("${A:-$NOT_USED}", VARS, missing)
    assert missing == set()


@pytest.mark.parametrize("text", ["${", "${A", "${1}", "${A:x}", "${A!}", "${}", "${A:-${"])
def test_malformed(text):
    with pytest.raises(InterpolationError) as info:
        interpolate(text, VARS)
    assert str(info.value) == (
        f'invalid interpolation format for "{text}" '
        "(expected ${VAR}, ${VAR:-default} or ${VAR-default})"
    )


def test_required():
    with pytest.raises(InterpolationError) as info:
        interpolate("${UNSET:?set it in .env}", VARS)
    assert str(info.value) == (
        "required variable UNSET is missing a value: set it in .env (expected UNSET set in the environment "
        "or in .env)"
    )
    with pytest.raises(InterpolationError, match="required variable EMPTY is missing a value \\("):
        interpolate("${EMPTY:?}", VARS)


def test_compose_values_are_interpolated_keys_are_not():
    write(
        "c.yml",
        """
        x-tag: ${TAG:-dev}
        services:
          api:
            image: "app:${TAG:-dev}"
            ports: ["${PORT:-8080}:80"]
            labels:
              "$KEY": "$$literal"
            deploy:
              resources:
                limits: {memory: "${MEM:-512m}"}
        """,
    )
    project = load_compose(["c.yml"], environ={"PORT": "9090", "MEM": "1g"})
    api = project.services["api"]
    assert api.image == "app:dev"
    assert api.ports[0].host_port == 9090
    assert api.budget.mem_max == 1024**3
    assert project.doc.data["services"]["api"]["labels"] == {"$KEY": "$literal"}
    assert project.extensions == {"x-tag": "dev"}


def test_interpolation_errors_point_at_the_value():
    write(
        "compose/demo.yml",
        """
        services:
          api:
            image: "${"
            environment:
              DB_PASSWORD: "x${oops"
              LIST: ${NEEDED:?set NEEDED to a path}
        """,
    )
    assert errors(["compose/demo.yml"], {}) == [
        'compose/demo.yml:3:12: invalid interpolation format for "${" '
        "(expected ${VAR}, ${VAR:-default} or ${VAR-default})",
        # the value of a secret is never echoed
        'compose/demo.yml:5:20: invalid interpolation format for "***" '
        "(expected ${VAR}, ${VAR:-default} or ${VAR-default})",
        "compose/demo.yml:6:13: required variable NEEDED is missing a value: set NEEDED to a path "
        "(expected NEEDED set in the environment or in .env)",
    ]


def test_secret_in_list_form_is_not_echoed():
    write("c.yml", 'services:\n  api:\n    image: x\n    environment:\n      - "API_TOKEN=${"\n')
    assert errors(["c.yml"], {}) == [
        'c.yml:5:9: invalid interpolation format for "***" '
        "(expected ${VAR}, ${VAR:-default} or ${VAR-default})"
    ]


def test_unset_variable_is_a_warning_once_at_first_use():
    write(
        "c.yml",
        """
        services:
          api:
            image: x
            environment:
              A: $UNSET
              B: ${UNSET}
        """,
    )
    project = load_compose(["c.yml"], environ={})
    assert project.doc.data["services"]["api"]["environment"] == {"A": "", "B": ""}
    assert [str(w) for w in project.warnings] == [
        "c.yml:5:10: warning: variable UNSET is not set, using an empty string "
        "(expected UNSET set in the environment or in .env)"
    ]


def test_dotenv_beside_the_first_compose_file():
    write(
        "compose/.env",
        """
        # comment, then a blank line

        export FROM_BOTH=dotenv
        ONLY_DOTENV = "double ${FROM_BOTH} \\"q\\""
        SINGLE='single ${FROM_BOTH} $$'
        PLAIN=plain value # trailing comment
        HASH=a#b
        DERIVED=${ONLY_DOTENV}!
        EMPTY=
        """,
    )
    write("other/.env", "OTHER=ignored\n")  # only the first file's folder counts
    write(
        "compose/a.yml",
        """
        services:
          api:
            image: x
            environment:
              FROM_BOTH: $FROM_BOTH
              ONLY_DOTENV: $ONLY_DOTENV
              SINGLE: $SINGLE
              PLAIN: $PLAIN
              HASH: $HASH
              DERIVED: $DERIVED
              EMPTY: ${EMPTY-unset}
        """,
    )
    write("other/b.yml", "services:\n  api:\n    labels: {other: '${OTHER:-none}'}\n")
    project = load_compose(["compose/a.yml", "other/b.yml"], environ={"FROM_BOTH": "process"})
    service = project.doc.data["services"]["api"]
    assert service["environment"] == {
        "FROM_BOTH": "process",  # the process environment wins over .env
        "ONLY_DOTENV": 'double process "q"',
        "SINGLE": "single ${FROM_BOTH} $$",
        "PLAIN": "plain value",
        "HASH": "a#b",
        "DERIVED": 'double process "q"!',
        "EMPTY": "",
    }
    assert service["labels"] == {"other": "none"}


def test_dotenv_errors():
    write(".env", "GOOD=1\nthis is not an assignment\n  BAD=${\nQUOTE='open\nSECRET_TOKEN=${x\n")
    write("c.yml", "services:\n  api:\n    image: x\n")
    assert errors(["c.yml"], {}) == [
        ".env:2:1: invalid line in .env (expected KEY=VALUE)",
        ".env:3:3: invalid interpolation format in BAD (expected ${VAR}, ${VAR:-default} or ${VAR-default})",
        ".env:4:1: unterminated quoted value for QUOTE (expected a closing quote on the same line)",
        ".env:5:1: invalid interpolation format in SECRET_TOKEN (expected ${VAR}, ${VAR:-default} or "
        "${VAR-default})",
    ]
