"""One merged compose service -> ServiceSpec: image, build, profiles, ports, healthcheck, depends_on."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from .budget import resolve_budget
from .checks import describe, issue_at, wrong_type
from .merge import volume_source
from .model import BuildSpec, ConfigIssue, PortSpec, ServiceSpec
from .ports import SHORT_EXPECTED, PortError, parse_port, parse_port_mapping
from .yamlloc import YNode

SERVICE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
_URL_CONTEXT = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@)")


def build_service(
    name: str,
    node: YNode,
    project_dir: Path,
    variables: Mapping[str, str],
    issues: list[ConfigIssue],
) -> ServiceSpec | None:
    """The ServiceSpec of one service, or None when it is not a mapping. Problems go to issues."""
    location = node.key_loc or node.loc
    if not SERVICE_NAME.match(name):
        issues.append(
            ConfigIssue(
                location, f"invalid service name '{name}'", "expected letters, digits, '.', '_' or '-'"
            )
        )
    if not isinstance(node.value, dict):
        issues.append(issue_at(node, f"{name}: service is {describe(node.value)}", "expected a mapping"))
        return None
    image = _string(node, "image", "an image name such as postgres:15-alpine", issues)
    build = _build(node.get("build"), project_dir, variables, issues)
    provider = _provider(node)
    _env_files(name, node.get("env_file"), project_dir, issues)
    if provider is None and all(n is None or n.value is None for n in (node.get("image"), node.get("build"))):
        issues.append(
            ConfigIssue(
                location, f"{name}: service has neither an image nor a build", "expected image: or build:"
            )
        )
    return ServiceSpec(
        name=name,
        location=location,
        image=image,
        build=build,
        compose_profiles=tuple(_strings(node.get("profiles"), "profiles", "a list of profile names", issues)),
        budget=resolve_budget(name, node, issues),
        ports=_ports(node.get("ports"), issues),
        has_healthcheck=_has_healthcheck(node.get("healthcheck"), issues),
        depends_on=_depends_on(node.get("depends_on"), issues),
        named_volumes=named_volumes(node.get("volumes")),
        replicas=_replicas(name, node, issues),
        provider=provider,
    )


def named_volumes(node: YNode | None) -> tuple[str, ...]:
    """Named volume sources of a service's mounts: `data:/var/lib/x`, or the long form with type volume.

    Bind mounts (paths) and anonymous volumes are not data skid could name; malformed entries are
    left to compose to report.
    """
    if node is None or not isinstance(node.value, list):
        return ()
    return tuple(dict.fromkeys(name for item in node.value if (name := volume_source(item))))


def _string(parent: YNode, key: str, expected: str, issues: list[ConfigIssue]) -> str | None:
    node = parent.get(key)
    if node is None or node.value is None:
        return None
    if not isinstance(node.value, str):
        issues.append(wrong_type(key, node, expected))
        return None
    return node.value


def _strings(node: YNode | None, key: str, expected: str, issues: list[ConfigIssue]) -> list[str]:
    if node is None or node.value is None:
        return []
    if not isinstance(node.value, list):
        issues.append(wrong_type(key, node, expected))
        return []
    out = []
    for item in node.value:
        if isinstance(item.value, str):
            out.append(item.value)
        else:
            issues.append(issue_at(item, f"'{key}' item is {describe(item.value)}", "expected a string"))
    return out


def _build(
    node: YNode | None, project_dir: Path, variables: Mapping[str, str], issues: list[ConfigIssue]
) -> BuildSpec | None:
    if node is None or node.value is None:
        return None
    if isinstance(node.value, str):
        return BuildSpec(context=_context(project_dir, node.value))
    if not isinstance(node.value, dict):
        issues.append(wrong_type("build", node, "a context path or a mapping with context:"))
        return None
    context = _string(node, "context", "a directory", issues) or "."
    dockerfile = _string(node, "dockerfile", "a file name", issues) or "Dockerfile"
    target = _string(node, "target", "a build stage name", issues)
    args: dict[str, str] = {}
    args_node = node.get("args")
    if args_node is not None and isinstance(args_node.value, dict):  # list form normalised by merge
        for key, value in args_node.value.items():
            if value.value is None:
                # `args: [VERSION]`: compose takes the value from the environment, or leaves it out
                if key in variables:
                    args[key] = variables[key]
            elif isinstance(value.value, bool):
                args[key] = "true" if value.value else "false"
            elif isinstance(value.value, str | int | float):
                args[key] = str(value.value)
            else:
                issues.append(wrong_type(key, value, "a string"))
    elif args_node is not None and args_node.value is not None:
        issues.append(wrong_type("args", args_node, "a mapping or a list of KEY=VALUE"))
    return BuildSpec(context=_context(project_dir, context), dockerfile=dockerfile, args=args, target=target)


def _context(project_dir: Path, context: str) -> Path:
    """Relative contexts are relative to the project directory (the first compose file's, as
    docker compose documents for `-f a -f b`); made absolute so the engine can build from anywhere."""
    if _URL_CONTEXT.match(context):
        return Path(context)  # a git URL: the engine fetches it, nothing to resolve
    return Path(os.path.abspath(project_dir / os.path.expanduser(context)))


def _ports(node: YNode | None, issues: list[ConfigIssue]) -> tuple[PortSpec, ...]:
    if node is None or node.value is None:
        return ()
    if not isinstance(node.value, list):
        issues.append(wrong_type("ports", node, "a list of ports"))
        return ()
    out: list[PortSpec] = []
    for item in node.value:
        try:
            if isinstance(item.value, dict):
                out.extend(parse_port_mapping({k: v.value for k, v in item.value.items()}))
            elif isinstance(item.value, str | int) and not isinstance(item.value, bool):
                out.extend(parse_port(item.value))
            else:
                issues.append(issue_at(item, f"port is {describe(item.value)}", SHORT_EXPECTED))
        except PortError as e:
            # point at the long-syntax key at fault (its value, or the key itself if unknown)
            at = item.get(e.field) if e.field else None
            loc = (at.key_loc if e.message.startswith("unknown key") else at.where) if at else item.where
            issues.append(ConfigIssue(loc or item.where, e.message, e.expected))
    return tuple(out)


def _has_healthcheck(node: YNode | None, issues: list[ConfigIssue]) -> bool:
    """True for a healthcheck with a test that is not `["NONE"]` and is not `disable: true`."""
    if node is None or node.value is None:
        return False
    if not isinstance(node.value, dict):
        issues.append(wrong_type("healthcheck", node, "a mapping with test:"))
        return False
    disable = node.get("disable")
    if disable is not None and (disable.value is True or str(disable.value).lower() == "true"):
        return False
    test = node.get("test")
    if test is None or test.value is None:
        return False
    if isinstance(test.value, str):
        return bool(test.value.strip())
    if isinstance(test.value, list):
        words = [t.value for t in test.value]
        if not words or not all(isinstance(w, str) for w in words):
            issues.append(wrong_type("test", test, 'a command such as ["CMD", "pg_isready"]'))
            return False
        return words != ["NONE"]
    issues.append(wrong_type("test", test, 'a command such as ["CMD", "pg_isready"]'))
    return False


def _depends_on(node: YNode | None, issues: list[ConfigIssue]) -> tuple[str, ...]:
    if node is None or node.value is None:
        return ()
    if isinstance(node.value, dict):  # the list form of names arrives normalised to a mapping
        return tuple(node.value)
    if isinstance(node.value, list):
        for item in node.value:
            if not isinstance(item.value, str):
                issues.append(
                    issue_at(item, f"'depends_on' item is {describe(item.value)}", "expected a service name")
                )
        return ()
    issues.append(wrong_type("depends_on", node, "a list of service names or a mapping"))
    return ()


def depends_on_locations(node: YNode) -> dict[str, YNode]:
    """Each dependency name -> the node written for it (for "unknown service" errors)."""
    deps = node.get("depends_on")
    if deps is None or not isinstance(deps.value, dict):
        return {}
    return dict(deps.value)


def _replicas(name: str, node: YNode, issues: list[ConfigIssue]) -> int:
    """How many containers compose runs: `deploy.replicas`, else `scale`, else 1 (0 is allowed: none)."""
    deploy = node.get("deploy")
    for holder, key in ((deploy, "replicas"), (node, "scale")):
        value = holder.get(key) if holder is not None else None
        if value is None or value.value is None:
            continue
        raw = value.value
        if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit())):
            issues.append(issue_at(value, f"{name}: {key} is {describe(raw)}", "expected a whole number of containers"))
            return 1
        return int(raw)
    return 1


def _provider(node: YNode) -> str | None:
    """`provider: {type: ...}`: a service compose delegates to a provider, with no container of its own."""
    provider = node.get("provider")
    if provider is None or not isinstance(provider.value, dict):
        return None
    kind = provider.get("type")
    return str(kind.value) if kind is not None and kind.value is not None else "provider"


def _env_files(name: str, node: YNode | None, project_dir: Path, issues: list[ConfigIssue]) -> None:
    """Each `env_file:` that compose requires must exist (compose refuses to run without it)."""
    if node is None or node.value is None:
        return
    entries = node.value if isinstance(node.value, list) else [node]
    for entry in entries:
        path_node, required = entry, True
        if isinstance(entry.value, dict):
            path_node = entry.get("path") or entry
            req = entry.get("required")
            required = not (req is not None and req.value in (False, "false", "False"))
        if not isinstance(path_node.value, str) or not required:
            continue
        path = Path(path_node.value).expanduser()
        if not (path if path.is_absolute() else project_dir / path).is_file():
            issues.append(issue_at(path_node, f"{name}: env file {path_node.value} not found",
                                   "expected an existing file, or required: false"))

