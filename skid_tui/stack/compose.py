"""Loading compose files as `docker compose -f a.yml -f b.yml` does, into ServiceSpecs.

Order of work, as in compose: read `.env` beside the first file, load and interpolate each file,
merge them (later over earlier), then read each service. Every problem becomes a ConfigIssue at
the value that caused it; all of them are collected before anything is raised.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .checks import describe, in_file_order, one_of, wrong_type
from .dotenv import read_dotenv
from .extends import resolve_extends
from .include import resolve_includes
from .interpolate import Redactions, interpolate_tree, missing_variable_warnings, redact_issues
from .limits import MAX_SERVICES, SERVICES_LIMIT_EXPECTED, SERVICES_LIMIT_MESSAGE
from .merge import merge_files
from .model import ConfigError, ConfigIssue, Location, ServiceSpec
from .references import check_references
from .services import build_service, depends_on_locations
from .shape import check_shape
from .yamlloc import YamlDoc, YNode, load_tree, to_doc

SERVICES_EXPECTED = "expected a mapping of service names to services"
_NOT_IN_NAME = re.compile(r"[^a-z0-9_-]")


@dataclass(frozen=True)
class ComposeProject:
    """The merged compose files: services in file order, top-level `x-` keys, the project name."""

    project: str
    files: tuple[Path, ...]
    services: dict[str, ServiceSpec]
    extensions: dict[str, object] = field(default_factory=dict)
    top_level_name: str | None = None
    warnings: tuple[ConfigIssue, ...] = ()
    doc: YamlDoc = field(default_factory=lambda: YamlDoc({}))  # merged data with locations
    active_profiles: tuple[str, ...] = ()  # COMPOSE_PROFILES (the environment, else .env): what plain `up` enables
    sources: tuple[tuple[str, str], ...] = ()  # (file, why it was read): the compose files, .env, extends, include


@dataclass(frozen=True)
class ComposeRead:
    """What read_compose found, errors included (load_stack adds profile errors before raising)."""

    project: ComposeProject
    issues: list[ConfigIssue]  # errors and warnings, in the order found
    service_names: tuple[str, ...] | None  # every service written; None if the files could not be read
    # values secret-named variables went into, by location: later readers (suites) redact with them
    redactions: Redactions = field(default_factory=dict)

    @property
    def errors(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "error"]


class ProjectNameError(ValueError):
    """A project name with no letter or digit left after normalising."""

    def __init__(self, raw: str, source: str) -> None:
        self.raw = raw
        self.source = source  # "explicit", "COMPOSE_PROJECT_NAME", "name" or "directory"
        super().__init__(f"invalid project name '{raw}'")


def normalize_project_name(name: str) -> str:
    """Compose's rule: lowercase, only [a-z0-9_-], no leading '_' or '-'."""
    return _NOT_IN_NAME.sub("", name.lower()).lstrip("_-")


def resolve_project_name(
    first_file: Path | str,
    *,
    explicit: str | None = None,
    environ: Mapping[str, str] | None = None,
    top_level: str | None = None,
) -> str:
    """The project name compose would use: explicit (`-p`), else COMPOSE_PROJECT_NAME, else the
    top-level `name:`, else the first compose file's directory name; normalised.
    Raises ProjectNameError if nothing usable is left."""
    env = os.environ if environ is None else environ
    if explicit:
        raw, source = explicit, "explicit"
    elif env.get("COMPOSE_PROJECT_NAME"):
        raw, source = env["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME"
    elif top_level:
        raw, source = top_level, "name"
    else:
        raw, source = Path(os.path.abspath(first_file)).parent.name, "directory"
    name = normalize_project_name(raw)
    if not name:
        raise ProjectNameError(raw, source)
    return name


def load_compose(
    files: Sequence[Path | str],
    *,
    environ: Mapping[str, str] | None = None,
    project_name: str | None = None,
) -> ComposeProject:
    """Load and merge compose files; raise ConfigError listing every error found."""
    read = read_compose(files, environ=environ, project_name=project_name)
    if read.errors:
        raise ConfigError(read.errors)
    return read.project


def read_compose(
    files: Sequence[Path | str],
    *,
    environ: Mapping[str, str] | None = None,
    project_name: str | None = None,
) -> ComposeRead:
    """Like load_compose, but return the issues instead of raising."""
    if not files:
        raise ValueError("at least one compose file is needed")
    paths = [Path(f) for f in files]
    displays = [os.fspath(f) for f in files]  # messages name files as the caller wrote them
    start = Location(displays[0])
    env = dict(os.environ if environ is None else environ)

    dotenv_display = str(Path(displays[0]).parent / ".env")
    dotenv, issues = read_dotenv(paths[0].parent / ".env", dotenv_display, env)
    variables = {**dotenv, **env}  # the process environment wins over .env
    variables.setdefault("PWD", os.getcwd())  # as compose: `${PWD}` is the working directory when unset

    trees: list[YNode] = []
    readable = True
    missing: dict[str, Location] = {}
    redactions: Redactions = {}
    shape_issues: list[ConfigIssue] = []  # said only where no reader of the field says something more precise
    others: dict[Path, YNode | None] = {}  # files that services extend, loaded once

    sources: list[tuple[str, str]] = [(d, "compose file") for d in displays]  # every file read, and why
    if (paths[0].parent / ".env").is_file():
        sources.append((dotenv_display, "variables"))

    def load_other(other: Path, why: str = "extends") -> YNode | None:
        other = Path(os.path.abspath(other))
        if other not in others:
            display = os.path.relpath(other) if other.is_relative_to(Path.cwd()) else str(other)
            sources.append((display, why))
            tree, file_issues = load_tree(other, display=display, kind="compose file", services_key="services")
            issues.extend(file_issues)
            if tree is not None and isinstance(tree.value, dict):
                issues.extend(interpolate_tree(tree, variables, missing, redactions))
                check_shape(tree, shape_issues, empty_values=False)
                others[other] = tree
            else:
                others[other] = None
        return others[other]

    for path, display in zip(paths, displays, strict=True):
        tree, file_issues = load_tree(path, display=display, kind="compose file", services_key="services")
        issues.extend(file_issues)
        if tree is None:
            readable = False
            continue
        if not isinstance(tree.value, dict):
            issues.append(
                ConfigIssue(
                    tree.loc,
                    f"compose file is {describe(tree.value)}",
                    "expected a mapping with a 'services' key",
                )
            )
            readable = False
            continue
        issues.extend(interpolate_tree(tree, variables, missing, redactions))
        check_shape(tree, shape_issues, empty_values=not trees)  # an override file's `key:` leaves the value
        directory = Path(os.path.abspath(path)).parent
        resolve_extends(tree, directory, load_other, issues)
        resolve_includes(tree, directory, lambda p: load_other(p, "include"),
                         lambda t, d: resolve_extends(t, d, load_other, issues), issues)
        trees.append(tree)
    issues.extend(missing_variable_warnings(missing))
    merged = merge_files(trees) if trees else YNode({}, start)
    check_references(merged, issues)

    services: dict[str, ServiceSpec] = {}
    names: tuple[str, ...] | None = None
    services_node = merged.get("services")
    if services_node is None:
        names = ()  # compose accepts files without services (a file of shared x- fields, networks...)
    elif not isinstance(services_node.value, dict):
        issues.append(wrong_type("services", services_node, SERVICES_EXPECTED.removeprefix("expected ")))
    elif len(services_node.value) > MAX_SERVICES:
        # each file was within the limit while it was read; together (or through aliases) they are not
        extra = list(services_node.value.values())[MAX_SERVICES]
        issues.append(ConfigIssue(extra.key_loc or extra.where, SERVICES_LIMIT_MESSAGE, SERVICES_LIMIT_EXPECTED))
        readable = False  # nothing is built from them: no flood of errors about the rest
    else:
        names = tuple(services_node.value)
        project_dir = Path(os.path.abspath(paths[0])).parent
        for name, node in services_node.value.items():
            spec = build_service(name, node, project_dir, variables, issues)
            if spec is not None:
                services[name] = spec
        for name, node in services_node.value.items():
            for dep, dep_node in depends_on_locations(node).items():
                if dep not in names:
                    issues.append(
                        ConfigIssue(
                            dep_node.key_loc or dep_node.where,
                            f"{name}: depends on unknown service '{dep}'",
                            one_of(sorted(names)),
                        )
                    )

    top_level: str | None = None
    name_node = merged.get("name")
    if name_node is not None and name_node.value is not None:
        if isinstance(name_node.value, str):
            top_level = name_node.value
        else:
            issues.append(wrong_type("name", name_node, "a project name"))
    try:
        project = resolve_project_name(
            paths[0], explicit=project_name, environ=variables, top_level=top_level
        )
    except ProjectNameError as e:
        at = name_node.where if e.source == "name" and name_node is not None else start
        hint = "expected letters, digits, '_' or '-', starting with a letter or digit"
        origin = {
            "COMPOSE_PROJECT_NAME": " from COMPOSE_PROJECT_NAME",
            "directory": " from the compose file's directory name",
        }.get(e.source, "")
        issues.append(ConfigIssue(at, f"invalid project name '{e.raw}'{origin}", hint))
        project = ""

    said = {i.location for i in issues}
    issues.extend(i for i in shape_issues if i.location not in said)
    issues = redact_issues(in_file_order(issues, [dotenv_display, *displays]), redactions)
    extensions = {k: v.plain() for k, v in merged.value.items() if k.startswith("x-")}
    result = ComposeProject(
        project=project,
        files=tuple(paths),
        services=services,
        extensions=extensions,
        top_level_name=top_level,
        warnings=tuple(i for i in issues if i.severity == "warning"),
        doc=to_doc(merged),
        active_profiles=tuple(p.strip() for p in variables.get("COMPOSE_PROFILES", "").split(",") if p.strip()),
        sources=tuple(sources),
    )
    return ComposeRead(result, issues, names if readable else None, redactions)
