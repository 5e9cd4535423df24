"""A service's budget from its compose keys: standard = reservation, maximum = limit.

Compose has two spellings: `deploy.resources.{reservations,limits}` (the spec's) and the legacy
`mem_reservation` / `mem_limit` / `cpus`. The deploy ones win, as in compose v2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .checks import wrong_type
from .model import Budget, ConfigIssue
from .sizes import CPUS_EXPECTED, SIZE_EXPECTED, format_bytes, format_cpus, parse_cpus, parse_size
from .yamlloc import YNode

Parsed = tuple[float | int | None, YNode | None]  # the value, and the node it was read from


def resolve_budget(name: str, service: YNode, issues: list[ConfigIssue]) -> Budget:
    """The budget of one service (a mapping node); problems are appended to issues."""
    return _BudgetReader(name, issues).read(service)


class _BudgetReader:
    def __init__(self, name: str, issues: list[ConfigIssue]) -> None:
        self.name = name
        self.issues = issues

    def read(self, service: YNode) -> Budget:
        resources = self.mapping(self.mapping(service, "deploy"), "resources")
        reservations = self.mapping(resources, "reservations")
        limits = self.mapping(resources, "limits")
        std = self.prefer(
            (self.size(reservations, "memory"), "deploy.resources.reservations.memory"),
            (self.size(service, "mem_reservation"), "mem_reservation"),
            format_bytes,
        )
        mx = self.prefer(
            (self.size(limits, "memory"), "deploy.resources.limits.memory"),
            (self.size(service, "mem_limit"), "mem_limit"),
            format_bytes,
        )
        cpu_res = self.cpus(reservations, "cpus")
        cpu_lim = self.prefer(
            (self.cpus(limits, "cpus"), "deploy.resources.limits.cpus"),
            (self.cpus(service, "cpus"), "cpus"),
            format_cpus,
        )
        if std[0] is not None and mx[0] is not None and std[0] > mx[0] and std[1] is not None:
            self.issues.append(
                ConfigIssue(
                    std[1].where,
                    f"{self.name}: standard memory {format_bytes(int(std[0]))} is greater than maximum "
                    f"{format_bytes(int(mx[0]))}",
                    "expected reservation <= limit",
                )
            )
        if cpu_res[0] is not None and cpu_lim[0] is not None and cpu_res[0] > cpu_lim[0] and cpu_res[1]:
            self.issues.append(
                ConfigIssue(
                    cpu_res[1].where,
                    f"{self.name}: CPU reservation {format_cpus(cpu_res[0])} is greater than limit "
                    f"{format_cpus(cpu_lim[0])}",
                    "expected reservation <= limit",
                )
            )
        return Budget(
            mem_standard=None if std[0] is None else int(std[0]),
            mem_max=None if mx[0] is None else int(mx[0]),
            cpus_reservation=None if cpu_res[0] is None else float(cpu_res[0]),
            cpus_limit=None if cpu_lim[0] is None else float(cpu_lim[0]),
        )

    def mapping(self, parent: YNode | None, key: str) -> YNode | None:
        node = parent.get(key) if parent is not None else None
        if node is None or node.value is None:
            return None
        if not isinstance(node.value, dict):
            self.issues.append(wrong_type(key, node, "a mapping"))
            return None
        return node

    def size(self, parent: YNode | None, key: str) -> Parsed:
        return self.parse(parent, key, parse_size, "size", SIZE_EXPECTED)

    def cpus(self, parent: YNode | None, key: str) -> Parsed:
        return self.parse(parent, key, parse_cpus, "cpus", CPUS_EXPECTED)

    def parse(
        self, parent: YNode | None, key: str, parse: Callable[[object], float | int], what: str, expected: str
    ) -> Parsed:
        node = parent.get(key) if parent is not None else None
        if node is None or node.value is None:
            return None, None  # not written: no budget, which is not a budget of 0
        value = node.value
        if isinstance(value, bool | list | dict):
            self.issues.append(wrong_type(key, node, expected.removeprefix("expected ")))
            return None, None
        try:
            parsed = parse(value)
        except ValueError:
            self.issues.append(ConfigIssue(node.where, f"malformed {what} '{value}'", expected))
            return None, None
        # 0 is how compose writes "no limit" (`mem_limit: 0`, `cpus: 0`): no budget, not a budget of 0.
        return (parsed, node) if parsed else (None, None)

    def prefer(
        self, deploy: tuple[Parsed, str], legacy: tuple[Parsed, str], fmt: Callable[[Any], str]
    ) -> Parsed:
        """The deploy value if written, else the legacy one; a warning when both disagree."""
        (d_value, _), d_key = deploy
        (l_value, l_node), l_key = legacy
        if d_value is None:
            return legacy[0]
        if l_value is not None and l_value != d_value and l_node is not None:
            self.issues.append(
                ConfigIssue(
                    l_node.where,
                    f"{self.name}: {l_key} {fmt(l_value)} differs from {d_key} {fmt(d_value)}, "
                    "using the deploy value",
                    "expected only one of them, or equal values",
                    severity="warning",
                )
            )
        return deploy[0]
