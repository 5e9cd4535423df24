"""A service's memory and CPU against its budget: plain functions of numbers."""

from __future__ import annotations

from enum import StrEnum

from skid_tui.stack import Budget


class BudgetState(StrEnum):
    """A service's memory against its budget. Strings: they are the JSON of `skid monitor --json`."""

    OK = "ok"  # below its standard allocation
    OVER_STANDARD = "over_standard"
    NEAR_MAX = "near_max"  # at or above NEAR_MAX of its maximum
    OOM = "oom"  # OOM-killed (sticky until the container starts again)
    NO_BUDGET = "no_budget"


NEAR_MAX = 0.9  # at or above 90% of the maximum, the next allocation may be the OOM killer's


def budget_state(mem_used: int | None, budget: Budget, oom: bool = False) -> BudgetState | None:
    """ok (below standard), over_standard, near_max (>= 90% of maximum), oom (sticky), no_budget.

    None when there is nothing to judge: the service has a budget but no reading (it is not running).
    """
    if oom:
        return BudgetState.OOM
    if not budget.has_memory:
        return BudgetState.NO_BUDGET
    if mem_used is None:
        return None
    if budget.mem_max is not None and mem_used >= NEAR_MAX * budget.mem_max:
        return BudgetState.NEAR_MAX
    if budget.mem_standard is not None and mem_used >= budget.mem_standard:
        return BudgetState.OVER_STANDARD
    return BudgetState.OK


def cpu_fraction(cpu_percent: float | None, cpus_limit: float | None) -> float | None:
    """CPU use as a fraction of the service's cpus limit (0.5 cpus at 25% -> 0.5); None without a limit."""
    if cpu_percent is None or not cpus_limit:
        return None
    return cpu_percent / (cpus_limit * 100.0)


def usage_tone(fraction: float | None) -> str:
    """The monitor script's colours: green < 80% <= yellow < 90% <= red."""
    if fraction is None:
        return ""
    if fraction >= 0.9:
        return "red"
    if fraction >= 0.8:
        return "yellow"
    return "green"
