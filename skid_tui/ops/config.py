"""Where skid's inputs come from: compose files, the profiles directory, the project and the profile.

Shared by the CLI and the dashboard so both read the same stack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from skid_tui.stack import Profile, Stack, load_stack
from skid_tui.stack.profiles import read_profiles


class UsageError(Exception):
    """A bad option value; printed as one line, exit status 2."""


def bundled_root() -> Path:
    """The directory holding `compose/` and `profiles/`: inside the wheel, or the source checkout."""
    package = Path(__file__).resolve().parent.parent  # skid_tui/
    inside_wheel = package / "bundled"
    if (inside_wheel / "compose").is_dir():
        return inside_wheel
    return package.parent


def bundled_compose(name: str = "skidbladnir.yml") -> Path:
    return bundled_root() / "compose" / name


def bundled_profiles() -> Path:
    return bundled_root() / "profiles"


@dataclass(frozen=True)
class Options:
    """The global command-line options, as given (None when not given)."""

    compose: tuple[str, ...] = ()
    profiles: str | None = None
    project_name: str | None = None
    host: str | None = None
    profile: str | None = None
    stats: str = "auto"  # auto, cgroup, api or agent
    compose_cmd: str | None = None  # the compose tool, when the user names one
    # From the config file (ops.userconfig): used when neither an option nor the environment says.
    default_compose: tuple[str, ...] = ()
    default_profile: str | None = None
    history_bytes: int | None = None  # the history database's size bound (None: the default; 0: no history)


def compose_files(options: Options, environ: Mapping[str, str]) -> list[str]:
    """`--compose` (repeatable), else SKID_COMPOSE (path-separated, like COMPOSE_FILE), else the config file's
    `compose`, else the real stack."""
    if options.compose:
        return list(options.compose)
    if environ.get("SKID_COMPOSE"):
        return [p for p in environ["SKID_COMPOSE"].split(os.pathsep) if p]
    if options.default_compose:
        return list(options.default_compose)
    return [str(bundled_compose())]


def _is_bundled(path: str) -> bool:
    try:
        return Path(path).resolve().parent == bundled_compose().parent.resolve()
    except OSError:
        return False


def _profiles_fit(stack: Stack, directory: Path) -> bool:
    """Do the bundled profiles name only services this stack has? (A Skidbladnir checkout: yes.)"""
    # The profiles alone against the services already loaded: reading the compose files again
    # would double the time `skid` takes to start on a big stack.
    profiles, issues = read_profiles(directory, stack.services)
    return bool(profiles) and not any(i.severity == "error" for i in issues)


def profiles_dir(
    options: Options, environ: Mapping[str, str], files: Sequence[str], stack: Stack | None = None
) -> str | None:
    """`--profiles`, else SKID_PROFILES, else the bundled profiles for the bundled stacks, else
    `skid-profiles/` beside the first compose file, else the bundled profiles when every service they
    name exists in the stack, else None (one `default` profile: what plain `compose up` starts)."""
    if options.profiles:
        return options.profiles
    if environ.get("SKID_PROFILES"):
        return environ["SKID_PROFILES"]
    if files and _is_bundled(files[0]):
        return str(bundled_profiles())
    beside = Path(files[0]).parent / "skid-profiles" if files else None
    if beside is not None and beside.is_dir():
        return str(beside)
    if stack is not None and bundled_profiles().is_dir() and _profiles_fit(stack, bundled_profiles()):
        return str(bundled_profiles())
    return None


def load(options: Options, environ: Mapping[str, str] | None = None) -> Stack:
    """Load the stack the options name. Raises stack.ConfigError (each issue one line)."""
    environ = os.environ if environ is None else environ
    files = compose_files(options, environ)
    directory = profiles_dir(options, environ, files)
    if directory is None:
        # Decide from the services whether the bundled profiles apply; only then load with them.
        base = load_stack(files, None, project_name=options.project_name, environ=environ)
        directory = profiles_dir(options, environ, files, base)
        if directory is None:
            return base
    return load_stack(files, directory, project_name=options.project_name, environ=environ)


def active_profile(stack: Stack, requested: str | None, remembered: str | None = None,
                   default: str | None = None) -> Profile | None:
    """`--profile`, else the one last applied to this project, else the config file's `profile` (when the stack
    has it), else `minimal`, else the first profile."""
    if requested:
        if requested not in stack.profiles:
            known = ", ".join(stack.profiles) or "none"
            raise UsageError(f"unknown profile '{requested}' (expected one of: {known})")
        return stack.profiles[requested]
    if remembered in stack.profiles:
        return stack.profiles[remembered]
    if default in stack.profiles:
        return stack.profiles[default]
    if "minimal" in stack.profiles:
        return stack.profiles["minimal"]
    return next(iter(stack.profiles.values()), None)
