"""Laptop profiles: which services run together and the host memory they may use.

One YAML file per profile in a profiles directory (sorted by file name):

    name: llm                      # defaults to the file's stem
    description: Data services and the LLM advisor
    services: [postgres, redis, minio, llm-advisor]
    host_budget: 6g                # compose size units; default 6 GiB
    on_demand:
      llm-advisor: {idle_timeout: 10m}   # idle_timeout optional, default 10m
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from itertools import islice
from pathlib import Path

from .checks import describe, in_file_order, issue_at, one_of, wrong_type
from .limits import MAX_PROFILES
from .model import ConfigIssue, Location, OnDemand, Profile, ServiceSpec
from .sizes import DURATION_EXPECTED, GIB, SIZE_EXPECTED, format_bytes, parse_duration, parse_size
from .yamlloc import YNode, load_tree

PROFILE_KEYS = ("name", "description", "services", "host_budget", "on_demand")
ON_DEMAND_KEYS = ("idle_timeout",)
DEFAULT_HOST_BUDGET = 6 * GIB
DEFAULT_IDLE_TIMEOUT = 600.0
SERVICES_EXPECTED = "expected a list of service names"
DEFAULT_PROFILE = "default"


def read_profiles(
    profiles_dir: Path | str,
    services: Mapping[str, ServiceSpec],
    *,
    known: Collection[str] | None = None,
    check_services: bool = True,
) -> tuple[dict[str, Profile], list[ConfigIssue]]:
    """Every profile in the directory, with errors and budget warnings.

    `known` is every service name written in the compose files (default: the keys of services,
    which lack services too broken to build). With check_services=False (the compose files could
    not be read) profiles are not also flooded with "unknown service" errors.
    """
    names = sorted(services if known is None else known) if check_services else None
    dir_display = os.fspath(profiles_dir)
    try:
        found = (
            p
            for p in Path(profiles_dir).iterdir()
            if p.suffix.lower() in (".yaml", ".yml") and not p.name.startswith(".")
        )
        # one past the limit is enough to refuse: a huge directory is neither listed whole nor read
        entries = sorted(islice(found, MAX_PROFILES + 1), key=lambda p: p.name)
    except OSError as e:
        return {}, [
            ConfigIssue(
                Location(dir_display),
                f"cannot read profiles directory: {e.strerror or e}",
                "expected a directory of *.yaml profiles",
            )
        ]
    if not entries:
        # not fatal: the caller falls back to the default profile, and the dashboard still runs
        return {}, [
            ConfigIssue(
                Location(dir_display),
                f"no profiles in profiles directory, using the '{DEFAULT_PROFILE}' profile",
                "expected at least one *.yaml or *.yml file",
                severity="warning",
            )
        ]
    if len(entries) > MAX_PROFILES:
        return {}, [
            ConfigIssue(
                Location(dir_display),
                f"more than {MAX_PROFILES} profiles in profiles directory",
                f"expected at most {MAX_PROFILES} *.yaml or *.yml files",
            )
        ]
    profiles: dict[str, Profile] = {}
    issues: list[ConfigIssue] = []
    for entry in entries:
        display = str(Path(profiles_dir) / entry.name)
        file_issues = _read_one(entry, display, names, services, profiles)
        issues.extend(in_file_order(file_issues, [display]))
    return profiles, issues


def _read_one(
    entry: Path,
    display: str,
    names: list[str] | None,
    services: Mapping[str, ServiceSpec],
    profiles: dict[str, Profile],
) -> list[ConfigIssue]:
    """Read one profile file into profiles; return its issues."""
    tree, issues = load_tree(entry, display=display, kind="profile")
    if tree is None:
        return issues
    profile, budget_at = _profile(tree, entry.stem, names, issues)
    if profile is None:
        return issues
    first = profiles.get(profile.name)
    if first is not None:
        issues.append(
            ConfigIssue(
                profile.location,
                f"profile '{profile.name}' is already defined at {first.location}",
                "expected a unique profile name",
            )
        )
        return issues
    profiles[profile.name] = profile
    warning = budget_warning(profile, services, budget_at)
    if warning is not None:
        issues.append(warning)
    return issues


def default_profile(services: Mapping[str, ServiceSpec], location: Location,
                    active: Sequence[str] = ()) -> Profile:
    """The profile used without a profiles directory: the services `docker compose up` starts, that is,
    those without compose `profiles:` and those in a profile COMPOSE_PROFILES enables (`*`: every one)."""
    enabled = set(active)

    def starts(spec: ServiceSpec) -> bool:
        return not spec.compose_profiles or "*" in enabled or bool(enabled & set(spec.compose_profiles))

    tail = f", and those in {', '.join(active)} (COMPOSE_PROFILES)" if active else ""
    return Profile(
        name=DEFAULT_PROFILE,
        location=location,
        services=tuple(name for name, spec in services.items() if starts(spec)),
        description=f"Services without a compose profile{tail} (what docker compose up starts)",
    )


def budget_warning(profile: Profile, services: Mapping[str, ServiceSpec], at: Location) -> ConfigIssue | None:
    """A warning when the profile's services need more than its host budget at standard allocation."""
    standard = sum(services[s].standard_total for s in profile.services if s in services)
    if standard <= profile.host_budget:
        return None
    return ConfigIssue(
        at,
        f"profile '{profile.name}' needs {format_bytes(standard)} at standard allocation, "
        f"more than its host budget of {format_bytes(profile.host_budget)}",
        "expected at most the host budget",
        severity="warning",
    )


def _profile(
    tree: YNode, stem: str, names: list[str] | None, issues: list[ConfigIssue]
) -> tuple[Profile | None, Location]:
    """One profile file -> (Profile, where to put a budget warning); problems go to issues."""
    start = Location(tree.loc.file)
    if not isinstance(tree.value, dict):
        keys = ", ".join(PROFILE_KEYS)
        issues.append(
            ConfigIssue(
                tree.loc, f"profile is {describe(tree.value)}", f"expected a mapping with keys: {keys}"
            )
        )
        return None, start
    for key, node in tree.value.items():
        if key not in PROFILE_KEYS:
            issues.append(ConfigIssue(node.key_loc or node.loc, f"unknown key '{key}'", one_of(PROFILE_KEYS)))

    name, location = stem, start
    name_node = tree.get("name")
    if name_node is not None:
        if isinstance(name_node.value, str) and name_node.value.strip():
            name, location = name_node.value, name_node.loc
        else:
            issues.append(wrong_type("name", name_node, "a profile name"))

    description = ""
    desc_node = tree.get("description")
    if desc_node is not None and desc_node.value is not None:
        if isinstance(desc_node.value, str):
            description = desc_node.value
        else:
            issues.append(wrong_type("description", desc_node, "a string"))

    services = _services(tree, start, names, issues)

    host_budget, budget_at = DEFAULT_HOST_BUDGET, location
    budget_node = tree.get("host_budget")
    if budget_node is not None:
        host_budget = _host_budget(budget_node, issues)
        budget_at = budget_node.where

    on_demand = _on_demand(tree.get("on_demand"), names, issues)
    profile = Profile(
        name=name,
        location=location,
        services=tuple(services),
        description=description,
        host_budget=host_budget,
        on_demand=tuple(on_demand),
    )
    return profile, budget_at


def _services(tree: YNode, start: Location, names: list[str] | None, issues: list[ConfigIssue]) -> list[str]:
    node = tree.get("services")
    if node is None:
        issues.append(ConfigIssue(start, "missing key 'services'", SERVICES_EXPECTED))
        return []
    if not isinstance(node.value, list) or not node.value:
        issues.append(wrong_type("services", node, SERVICES_EXPECTED.removeprefix("expected ")))
        return []
    out: list[str] = []
    for item in node.value:
        if not isinstance(item.value, str):
            issues.append(
                issue_at(item, f"'services' item is {describe(item.value)}", "expected a service name")
            )
        elif names is not None and item.value not in names:
            issues.append(issue_at(item, f"unknown service '{item.value}'", one_of(names)))
        elif item.value in out:
            issues.append(
                issue_at(item, f"service '{item.value}' is listed twice", "expected each service once")
            )
        else:
            out.append(item.value)
    return out


def _host_budget(node: YNode, issues: list[ConfigIssue]) -> int:
    value = node.value
    if value is None or isinstance(value, bool | list | dict):
        issues.append(wrong_type("host_budget", node, SIZE_EXPECTED.removeprefix("expected ")))
        return DEFAULT_HOST_BUDGET
    try:
        size = parse_size(value)
    except ValueError:
        issues.append(issue_at(node, f"malformed size '{value}'", SIZE_EXPECTED))
        return DEFAULT_HOST_BUDGET
    if size == 0:
        issues.append(issue_at(node, "host_budget is 0", "expected a size greater than 0, such as 6g"))
        return DEFAULT_HOST_BUDGET
    return size


def _on_demand(node: YNode | None, names: list[str] | None, issues: list[ConfigIssue]) -> list[OnDemand]:
    """On-demand services may be started from any profile, so they need not be in `services`
    (and count in its budget only if they are)."""
    if node is None or node.value is None:
        return []
    if not isinstance(node.value, dict):
        issues.append(wrong_type("on_demand", node, "a mapping of service names to {idle_timeout: 10m}"))
        return []
    out: list[OnDemand] = []
    for service, entry in node.value.items():
        key_at = entry.key_loc or entry.loc
        if names is not None and service not in names:
            issues.append(ConfigIssue(key_at, f"unknown service '{service}'", one_of(names)))
            continue
        timeout = _idle_timeout(service, entry, issues)
        given = timeout is not None
        out.append(OnDemand(service, timeout if timeout is not None else DEFAULT_IDLE_TIMEOUT, explicit=given))
    return out


def _idle_timeout(service: str, entry: YNode, issues: list[ConfigIssue]) -> float | None:
    """The idle timeout the profile gives, None when it gives none (or a wrong one): the user's default then."""
    if entry.value is None:
        return None  # `llm-advisor:` with nothing: all defaults
    if not isinstance(entry.value, dict):
        issues.append(wrong_type(service, entry, "a mapping such as {idle_timeout: 10m}"))
        return None
    for key, value in entry.value.items():
        if key not in ON_DEMAND_KEYS:
            issues.append(
                ConfigIssue(value.key_loc or value.loc, f"unknown key '{key}'", one_of(ON_DEMAND_KEYS))
            )
    node = entry.get("idle_timeout")
    if node is None or node.value is None:
        return None
    if isinstance(node.value, bool | list | dict):
        issues.append(wrong_type("idle_timeout", node, DURATION_EXPECTED.removeprefix("expected ")))
        return None
    try:
        seconds = parse_duration(node.value)
    except ValueError:
        issues.append(issue_at(node, f"malformed duration '{node.value}'", DURATION_EXPECTED))
        return None
    if seconds <= 0:
        issues.append(issue_at(node, "idle_timeout is 0", "expected a duration greater than 0, such as 10m"))
        return None
    return seconds
