"""The lifecycle decisions both front ends make the same way: which service is the LLM, what applying a
profile stops and starts and in which order, how every profile plans against what runs now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from skid_tui.model import PeakStore
from skid_tui.model.planning import ProfilePlan, plan_profile
from skid_tui.ops.operations import Kind
from skid_tui.stack import Profile, Stack

LLM_FALLBACK = "llm-advisor"


def llm_service(stack: Stack, profile: Profile | None) -> str | None:
    """The active profile's first on-demand service that the stack has, else `llm-advisor`; None if neither."""
    if profile is not None:
        for od in profile.on_demand:
            if od.service in stack.services:
                return od.service
    return LLM_FALLBACK if LLM_FALLBACK in stack.services else None


def recorded_peaks(stack: Stack, store: PeakStore | None) -> dict[str, int]:
    """The stack's services' recorded peaks (planning counts a peak above the standard allocation)."""
    if store is None:
        return {}
    return {s: p for s in stack.services if (p := store.recorded(stack.project, s)) is not None}


def plan_profiles(stack: Stack, *, running: Iterable[str], used: Mapping[str, int], engine_total: int | None,
                  peaks: Mapping[str, int]) -> list[ProfilePlan]:
    """Every profile planned against what runs now (the picker and `skid profiles` show the same plans)."""
    running = set(running)
    return [plan_profile(stack, p, running=running, used=dict(used), engine_total=engine_total, peaks=dict(peaks))
            for p in stack.profiles.values()]


def profile_steps(stack: Stack, profile: Profile, running: Iterable[str] | None) -> list[tuple[Kind, tuple[str, ...]]]:
    """Applying a profile: stop the running services it does not have, then `up -d` every one of its services
    (stop first: what goes frees the memory of what comes). Every member is named, running or not: compose
    leaves an up-to-date container alone and recreates one whose configuration changed, so the profile is
    applied as its files say. `running` None (no engine to ask): every other service is stopped, and compose
    says what it can. Empty steps are left out."""
    members = tuple(s for s in profile.services if s in stack.services)
    up = None if running is None else set(running)
    stop = tuple(s for s in stack.services if s not in members and (up is None or s in up))
    return [(kind, services) for kind, services in ((Kind.STOP, stop), (Kind.START, members)) if services]
