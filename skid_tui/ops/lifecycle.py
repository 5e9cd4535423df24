"""The lifecycle decisions both front ends make the same way: which service is the LLM, what applying a
profile stops and starts and in which order, how every profile plans against what runs now."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from skid_tui.model import PeakStore
from skid_tui.model.planning import ProfilePlan, plan_profile
from skid_tui.ops.operations import Kind
from skid_tui.ops.rightsize import ENOUGH_SAMPLES, SummarySource
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


USUAL_SPAN = 7 * 86400  # the range whose p95 planning counts: a working week
USUAL_BASIS = "p95 of 7 days"
PEAK_BASIS = "recorded peak"


def usual_use(stack: Stack, store: SummarySource | None, now: float | None = None) -> dict[str, int]:
    """Each service's p95 memory over the last week (every replica), for those with enough history (as
    right-sizing asks: an hour watched). Blocking: SQLite reads; the dashboard runs it on a thread."""
    if store is None:
        return {}
    until = time.time() if now is None else now
    usual = {}
    for name, spec in stack.services.items():
        summary = store.summary(stack.project, name, until - USUAL_SPAN, until)
        if summary.samples >= ENOUGH_SAMPLES and summary.mem_p95 is not None:
            usual[name] = summary.mem_p95 * spec.replicas
    return usual


@dataclass(frozen=True)
class Expected:
    """What planning counts for each service with a measurement, and which measurement it is."""

    values: dict[str, int] = field(default_factory=dict)
    basis: dict[str, str] = field(default_factory=dict)  # service -> USUAL_BASIS or PEAK_BASIS


def expected_use(usual: Mapping[str, int], peaks: Mapping[str, int]) -> Expected:
    """The week's p95 where history has one, else the single recorded peak (one spike of a day long gone
    says less about a working day than a week's p95, so the p95 wins when both are known)."""
    values = {**peaks, **usual}
    basis = {s: USUAL_BASIS if s in usual else PEAK_BASIS for s in values}
    return Expected(values, basis)


def basis_note(services: Iterable[str], basis: Mapping[str, str]) -> str:
    """"at p95 of 7 days: api, minio; at recorded peak: llm-advisor" for the services counted above their
    standard allocation."""
    groups: dict[str, list[str]] = {}
    for s in services:
        groups.setdefault(basis.get(s, PEAK_BASIS), []).append(s)
    return "; ".join(f"at {b}: {', '.join(names)}" for b, names in sorted(groups.items(), reverse=True))


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
