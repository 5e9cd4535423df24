"""load_stack: compose files and profiles together, every error of both reported at once."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from .compose import read_compose
from .model import ConfigError, ConfigIssue, Location, Profile, Stack
from .profiles import budget_warning, default_profile, read_profiles
from .suites import read_suites


def load_stack(
    compose_files: Sequence[Path | str],
    profiles_dir: Path | str | None = None,
    *,
    project_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Stack:
    """Load the stack: compose files merged in order, then the profiles.

    Without a profiles directory (or with one holding no profile) there is one profile, `default`:
    the services without compose `profiles:`. Raises ConfigError with every error (compose errors
    first); warnings (budgets, unset variables) are kept in Stack.warnings.
    """
    compose = read_compose(compose_files, environ=environ, project_name=project_name)
    services = compose.project.services
    issues: list[ConfigIssue] = list(compose.issues)
    suites, suite_issues = read_suites(compose, environ)  # `x-skid-tests:`, in the compose files
    issues.extend(suite_issues)
    profiles: dict[str, Profile] = {}
    if profiles_dir is not None:
        profiles, profile_issues = read_profiles(
            profiles_dir,
            services,
            known=compose.service_names,
            check_services=compose.service_names is not None,
        )
        issues.extend(profile_issues)
    if not profiles:
        # no directory, or one without profiles (warned above): what `docker compose up` would start
        start = Location(os.fspath(compose_files[0]))
        profile = default_profile(services, start, compose.project.active_profiles)
        profiles = {profile.name: profile}
        warning = budget_warning(profile, services, start)
        if warning is not None:
            issues.append(warning)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise ConfigError(errors)
    volume_names, external = _volumes(compose.project.doc.data, compose.project.project)
    return Stack(
        project=compose.project.project,
        compose_files=compose.project.files,
        services=services,
        profiles=profiles,
        profiles_dir=None if profiles_dir is None else Path(profiles_dir),
        extensions=compose.project.extensions,
        warnings=tuple(i for i in issues if i.severity == "warning"),
        volume_names=volume_names,
        external_volumes=external,
        suites=suites,
        sources=compose.project.sources,
    )


def _volumes(doc: object, project: str) -> tuple[dict[str, str], frozenset[str]]:
    """Top-level `volumes:`: the engine name of each (`name:` or `<project>_<key>`), and the external ones."""
    top = doc.get("volumes") if isinstance(doc, dict) else None
    names: dict[str, str] = {}
    external: set[str] = set()
    for key, raw in (top or {}).items() if isinstance(top, dict) else ():
        spec = raw if isinstance(raw, dict) else {}
        ext = spec.get("external")
        if ext is True or isinstance(ext, dict):
            external.add(key)
        name = spec.get("name") or (ext.get("name") if isinstance(ext, dict) else None)
        names[key] = str(name) if name else f"{project}_{key}"
    return names, frozenset(external)
