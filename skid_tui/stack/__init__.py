"""The stack as plain data: compose files, laptop profiles, budgets. No Textual, no engine."""

from .compose import ComposeProject, load_compose, normalize_project_name, resolve_project_name
from .load import load_stack
from .model import (
    Budget,
    BuildSpec,
    ConfigError,
    ConfigIssue,
    Location,
    OnDemand,
    PortSpec,
    Profile,
    ServiceSpec,
    Severity,
    Stack,
    TestSuite,
)
from .sizes import format_bytes, parse_cpus, parse_duration, parse_size
from .yamlloc import YamlDoc, load_yaml

__all__ = [
    "Budget",
    "BuildSpec",
    "ComposeProject",
    "ConfigError",
    "ConfigIssue",
    "Location",
    "OnDemand",
    "PortSpec",
    "Profile",
    "ServiceSpec",
    "Severity",
    "Stack",
    "TestSuite",
    "YamlDoc",
    "format_bytes",
    "load_compose",
    "load_stack",
    "load_yaml",
    "normalize_project_name",
    "parse_cpus",
    "parse_duration",
    "parse_size",
    "resolve_project_name",
]
