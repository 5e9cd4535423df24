"""Test suites declared in the compose file itself, under the top-level extension `x-skid-tests:`.

Compose keeps `x-` keys and ignores them, so each stack file carries its own suites. By the time they
are read here the files are merged and interpolated (`$$` is a literal `$`), and every value still
knows where it was written, so each problem is one `FILE:LINE:COL` line like any other config error.

    x-skid-tests:
      unit-pass:                      # the suite's name
        image: skid-demo/base:latest  # or service: api (its image or build tag, environment, working_dir)
        command: ["sh", "-c", "..."]  # list or string (a string runs with sh -c)
        working_dir: /src             # optional
        environment: {KEY: value}     # optional, list or mapping as compose
        volumes: ["../src:/src:ro"]   # optional; bind sources relative to the first compose file
        shm_size: 1g                  # optional
        description: ...              # optional
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .checks import describe, one_of
from .compose import ComposeRead
from .dotenv import read_dotenv
from .interpolate import is_secret_name, redact_issues
from .limits import MAX_SUITES
from .model import ConfigIssue, Location, ServiceSpec, TestSuite
from .sizes import SIZE_EXPECTED, parse_size
from .yamlloc import KeyPath, YamlDoc

SECTION = "x-skid-tests"
KEYS = ("image", "service", "command", "working_dir", "environment", "volumes", "shm_size", "description")
# Suite names go into container names (`<project>-test-<suite>-<random>`): the engine's name rule.
SUITE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
_ENV_NAME = re.compile(r"^[^=\s]+$")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_MODES = frozenset(
    ("ro", "rw", "z", "Z", "shared", "rshared", "slave", "rslave", "private", "rprivate", "nocopy", "cached",
     "delegated", "consistent")
)
COMMAND_EXPECTED = 'expected a list of strings such as ["npm", "test"], or a string run with sh -c'
VOLUME_EXPECTED = "expected SOURCE:TARGET[:ro], SOURCE a path or a named volume of the stack"


def read_suites(
    compose: ComposeRead, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, TestSuite], list[ConfigIssue]]:
    """The suites of what read_compose found. Variables as compose sees them: the process environment
    over the `.env` beside the first file (whose problems read_compose has already reported)."""
    files = compose.project.files
    if not files:
        return {}, []
    env = dict(os.environ if environ is None else environ)
    dotenv, _ = read_dotenv(files[0].parent / ".env", str(files[0].parent / ".env"), env)
    suites, issues = parse_suites(
        compose.project.doc,
        Path(os.path.abspath(files[0])).parent,
        compose.project.services,
        service_names=compose.service_names,
        variables={**dotenv, **env},
        display=os.fspath(files[0]),
    )
    return suites, redact_issues(issues, compose.redactions)  # `shm_size: ${SECRET}` quotes the source


def parse_suites(
    doc: YamlDoc,
    project_dir: Path,
    services: Mapping[str, ServiceSpec],
    *,
    service_names: tuple[str, ...] | None,
    variables: Mapping[str, str],
    display: str,
) -> tuple[dict[str, TestSuite], list[ConfigIssue]]:
    """The suites of the merged compose document, and one issue per problem found.

    `service_names` are every service written (None when the files could not be read: then a suite's
    service is not checked); `variables` fill `environment: [NAME]` entries, as compose does;
    `display` names the first compose file where nothing better is known.
    """
    data = doc.data if isinstance(doc.data, dict) else {}
    if SECTION not in data or data[SECTION] is None:
        return {}, []
    reader = _Reader(doc, display)
    section = data[SECTION]
    if not isinstance(section, dict):
        reader.error((SECTION,), f"'{SECTION}' is {describe(section)}", "expected a mapping of suite names to suites")
        return {}, reader.issues
    if len(section) > MAX_SUITES:
        name = list(section)[MAX_SUITES]
        reader.error((SECTION, name), f"more than {MAX_SUITES} test suites under '{SECTION}'",
                     f"expected at most {MAX_SUITES} test suites", key=True)
        return {}, reader.issues
    volumes = data.get("volumes") if isinstance(data.get("volumes"), dict) else {}
    suites: dict[str, TestSuite] = {}
    for name, raw in section.items():
        suite = reader.suite(name, raw, project_dir=project_dir, services=services, service_names=service_names,
                             volumes=volumes, variables=variables)
        if suite is not None:
            suites[name] = suite
    return suites, reader.issues


class _Reader:
    def __init__(self, doc: YamlDoc, display: str) -> None:
        self.doc = doc
        self.display = display
        self.issues: list[ConfigIssue] = []

    def at(self, path: KeyPath, *, key: bool = False) -> Location:
        if key and path in self.doc.key_locations:
            return self.doc.key_locations[path]
        loc = self.doc.locations.get(path)
        if loc is None:
            loc = self.doc.key_locations.get(path) or self.doc.location(path)
        return loc if loc.file != "<unknown>" else Location(self.display)

    def error(self, path: KeyPath, message: str, expected: str, *, key: bool = False) -> None:
        self.issues.append(ConfigIssue(self.at(path, key=key), message, expected))

    def suite(
        self,
        name: str,
        raw: Any,
        *,
        project_dir: Path,
        services: Mapping[str, ServiceSpec],
        service_names: tuple[str, ...] | None,
        volumes: Mapping[str, Any],
        variables: Mapping[str, str],
    ) -> TestSuite | None:
        base: KeyPath = (SECTION, name)
        what = f"test suite '{name}'"
        before = len(self.issues)
        if not SUITE_NAME.match(name):
            self.error(base, f"invalid test suite name '{name}'", "expected letters, digits, '.', '_' or '-'",
                       key=True)
        if not isinstance(raw, dict):
            self.error(base, f"{what} is {describe(raw)}", "expected a mapping with image: or service:, and command:")
            return None
        for key in raw:
            if key not in KEYS:
                self.error((*base, key), f"{what}: unknown key '{key}'", one_of(KEYS), key=True)

        written = len(self.issues)
        image = self.string(base, raw, "image", what, "an image name such as skid-demo/base:latest")
        service = self.string(base, raw, "service", what, "the name of a service of this stack")
        if image is None and service is None and len(self.issues) == written:
            self.error(base, f"{what} has neither an image nor a service", "expected image: or service:", key=True)
        if image is not None and service is not None:
            self.error((*base, "service"), f"{what} has both an image and a service",
                       "expected image: or service:, not both", key=True)
        spec: ServiceSpec | None = None
        if service is not None and service_names is not None:
            if service not in service_names:
                self.error((*base, "service"), f"{what}: unknown service '{service}'", one_of(service_names))
            spec = services.get(service)

        command = self.command(base, raw, what)
        working_dir = self.string(base, raw, "working_dir", what, "an absolute path in the container")
        if working_dir is not None and not working_dir.startswith("/"):
            self.error((*base, "working_dir"), f"{what}: working_dir '{working_dir}' is not absolute",
                       "expected an absolute path in the container")
        description = self.string(base, raw, "description", what, "a line of text") or ""

        environment: dict[str, str] = {}
        service_doc: dict[str, Any] = {}
        if spec is not None:
            services_data = self.doc.data.get("services") if isinstance(self.doc.data, dict) else None
            found = services_data.get(service) if isinstance(services_data, dict) else None
            service_doc = found if isinstance(found, dict) else {}
            # the service's own environment first (merge made it a mapping), the suite's over it
            environment.update(_service_environment(service_doc.get("environment"), variables))
            if working_dir is None and isinstance(service_doc.get("working_dir"), str):
                working_dir = service_doc["working_dir"]
        environment.update(self.environment(base, raw, what, variables))
        mounts = self.volumes(base, raw, what, project_dir, volumes)
        shm_size = self.size(base, raw, what)

        if len(self.issues) > before or command is None:
            return None
        return TestSuite(
            name=name,
            location=self.at(base, key=True),
            command=command,
            image=image,
            service=service,
            working_dir=working_dir,
            environment=environment,
            volumes=mounts,
            shm_size=shm_size,
            description=description,
            secrets=_secrets_in(command, {**variables, **environment}),
        )

    def string(self, base: KeyPath, raw: dict[str, Any], key: str, what: str, expected: str) -> str | None:
        if key not in raw or raw[key] is None:
            return None
        value = raw[key]
        if not isinstance(value, str) or not value.strip():
            self.error((*base, key), f"{what}: '{key}' is {describe(value)}", f"expected {expected}")
            return None
        return value

    def command(self, base: KeyPath, raw: dict[str, Any], what: str) -> tuple[str, ...] | None:
        path = (*base, "command")
        if "command" not in raw or raw["command"] is None:
            self.error(base if "command" not in raw else path, f"{what} has no command", COMMAND_EXPECTED, key=True)
            return None
        value = raw["command"]
        if isinstance(value, str):
            if not value.strip():
                self.error(path, f"{what}: 'command' is an empty string", COMMAND_EXPECTED)
                return None
            return ("sh", "-c", value)
        if not isinstance(value, list) or not value:
            self.error(path, f"{what}: 'command' is {describe(value)}", COMMAND_EXPECTED)
            return None
        words: list[str] = []
        for i, word in enumerate(value):
            if isinstance(word, bool) or not isinstance(word, str | int | float):
                self.error((*path, i), f"{what}: 'command' item is {describe(word)}", "expected a string")
                return None
            words.append(str(word))
        return tuple(words)

    def environment(
        self, base: KeyPath, raw: dict[str, Any], what: str, variables: Mapping[str, str]
    ) -> dict[str, str]:
        path = (*base, "environment")
        value = raw.get("environment")
        if value is None:
            return {}
        out: dict[str, str] = {}
        if isinstance(value, dict):
            for key, item in value.items():
                text = _env_value(item)
                if text is _BAD:
                    self.error((*path, key), f"{what}: environment '{key}' is {describe(item)}",
                               "expected a string, a number or a boolean")
                elif text is None:
                    if key in variables:  # `KEY:` with no value: from the environment, as compose does
                        out[key] = variables[key]
                else:
                    out[key] = str(text)
            return out
        if isinstance(value, list):
            for i, item in enumerate(value):
                if not isinstance(item, str) or not _ENV_NAME.match(item.partition("=")[0]):
                    self.error((*path, i), f"{what}: environment item is {describe(item)}", "expected KEY=VALUE")
                    continue
                key, sep, text = item.partition("=")
                if sep:
                    out[key] = text
                elif key in variables:
                    out[key] = variables[key]
            return out
        self.error(path, f"{what}: 'environment' is {describe(value)}", "expected a mapping or a list of KEY=VALUE")
        return {}

    def volumes(
        self, base: KeyPath, raw: dict[str, Any], what: str, project_dir: Path, declared: Mapping[str, Any]
    ) -> tuple[str, ...]:
        path = (*base, "volumes")
        value = raw.get("volumes")
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(path, f"{what}: 'volumes' is {describe(value)}", "expected a list of SOURCE:TARGET[:ro]")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                parsed = _short_volume(item)
            elif isinstance(item, dict):
                parsed = _long_volume(item)
            else:
                parsed = f"a volume is {describe(item)}"
            if isinstance(parsed, str):
                self.error((*path, i), f"{what}: {parsed}", VOLUME_EXPECTED)
                continue
            source, target, mode = parsed
            if _is_path(source):
                source = os.path.abspath(project_dir / os.path.expanduser(source))
            elif source not in declared:
                known = f"one of the top-level volumes: {', '.join(declared)}" if declared else "a path"
                self.error((*path, i), f"{what}: unknown volume '{source}'",
                           f"expected a path (./dir, /dir) or {known}")
                continue
            out.append(f"{source}:{target}" + (f":{mode}" if mode else ""))
        return tuple(out)

    def size(self, base: KeyPath, raw: dict[str, Any], what: str) -> int | None:
        value = raw.get("shm_size")
        if value is None:
            return None
        try:
            size = parse_size(value)
        except ValueError:
            self.error((*base, "shm_size"), f"{what}: malformed size {value!r} for 'shm_size'", SIZE_EXPECTED)
            return None
        return size


_BAD = object()


def _secrets_in(command: tuple[str, ...], variables: Mapping[str, str]) -> tuple[str, ...]:
    """Values of secret-named variables that appear in the command, longest first (so masking one
    never leaves part of another)."""
    found = {v for k, v in variables.items() if is_secret_name(k) and len(v) >= 3 and any(v in c for c in command)}
    return tuple(sorted(found, key=len, reverse=True))


def _env_value(value: Any) -> Any:
    """A compose environment value as text: None (take it from the environment) or _BAD."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return _BAD


def _service_environment(value: Any, variables: Mapping[str, str]) -> dict[str, str]:
    """A service's environment (a mapping after merge; errors in it are compose's to report)."""
    out: dict[str, str] = {}
    if not isinstance(value, dict):
        return out
    for key, item in value.items():
        text = _env_value(item)
        if text is None:
            if key in variables:
                out[key] = variables[key]
        elif text is not _BAD:
            out[key] = text
    return out


def _is_path(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or bool(_WINDOWS_DRIVE.match(source))


def _short_volume(text: str) -> tuple[str, str, str] | str:
    """`SOURCE:TARGET[:MODE]` as (source, target, mode), or what is wrong with it."""
    drive = ""
    rest = text
    if _WINDOWS_DRIVE.match(text):
        drive, rest = text[:2], text[2:]
    parts = rest.split(":")
    parts[0] = drive + parts[0]
    if len(parts) == 1:
        return f"volume '{text}' has no source (an anonymous volume would outlive the run)"
    if len(parts) > 3:
        return f"malformed volume '{text}'"
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    if not source:
        return f"volume '{text}' has no source"
    if not target.startswith("/"):
        return f"volume '{text}': the target '{target}' is not an absolute path"
    if mode and not set(mode.split(",")) <= _MODES:
        return f"volume '{text}': unknown mode '{mode}'"
    return source, target, mode


def _long_volume(item: Mapping[str, Any]) -> tuple[str, str, str] | str:
    kind, source, target = item.get("type"), item.get("source"), item.get("target")
    if kind not in ("bind", "volume"):
        return f"volume type is {describe(kind) if not isinstance(kind, str) else repr(kind)}; only bind and volume"
    if not isinstance(source, str) or not source:
        return "volume has no source (an anonymous volume would outlive the run)"
    if not isinstance(target, str) or not target.startswith("/"):
        return "volume has no absolute target"
    if kind == "bind" and not _is_path(source):
        source = "./" + source  # a bind source is a path even when written without ./
    return source, target, "ro" if item.get("read_only") is True else ""
