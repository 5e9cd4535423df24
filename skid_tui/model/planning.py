"""Will it fit? Profile switches and on-demand starts, planned against the budgets and the engine.

Plain functions of numbers: the profile picker, `skid profiles`, the `L` key and `skid llm on` all call
these, so they all give the same verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from enum import StrEnum

from skid_tui.stack import Profile, Stack


class Verdict(StrEnum):
    """Whether a profile fits its room. Strings: they are the JSON of `skid profiles --json`."""

    FITS = "fits"  # even the maxima fit
    TIGHT = "tight"  # the expected use fits, the maxima do not
    DOES_NOT_FIT = "does not fit"




@dataclass(frozen=True)
class Need:
    """What one service is expected to use: its recorded peak where that is above its standard allocation,
    else its standard."""

    service: str
    expected: int
    maximum: int
    from_peak: bool


def need_of(stack: Stack, service: str, peaks: Mapping[str, int]) -> Need:
    """A recorded peak above the standard allocation raises the expectation; one below it does not lower
    it (a peak recorded over a short run, an LLM stopped mid-load, says little about a working day)."""
    spec = stack.services[service]
    standard = spec.standard_total  # every replica; a recorded peak is the service's, all its containers
    peak = peaks.get(service)
    from_peak = peak is not None and peak > standard
    expected = peak if from_peak and peak is not None else standard
    maximum = max(spec.maximum_total, expected)
    return Need(service, expected, maximum, from_peak)


def verdict(expected: int, maximum: int, capacity: int) -> Verdict:
    """fits: even the maximum fits; tight: the expected use fits, the maximum does not; else does not fit."""
    if maximum <= capacity:
        return Verdict.FITS
    if expected <= capacity:
        return Verdict.TIGHT
    return Verdict.DOES_NOT_FIT


@dataclass(frozen=True)
class ProfilePlan:
    profile: Profile
    start: tuple[str, ...]  # in the profile, not running
    stop: tuple[str, ...]  # running, not in the profile
    keep: tuple[str, ...]  # running and in the profile
    expected_total: int
    maximum_total: int
    host_budget: int
    engine_free: int | None  # the engine's memory not used by this stack now
    capacity: int  # what the profile may use: its host budget, or less when the engine has less
    verdict: Verdict
    peaks_used: tuple[str, ...]  # services counted at their recorded peak rather than their standard

    @property
    def changes(self) -> bool:
        return bool(self.start or self.stop)


def plan_profile(
    stack: Stack,
    profile: Profile,
    *,
    running: Set[str],
    used: Mapping[str, int],
    engine_total: int | None,
    peaks: Mapping[str, int],
) -> ProfilePlan:
    """What switching to `profile` starts and stops, and whether its services fit.

    The capacity is the profile's host budget, or the engine's memory if that is smaller (a Docker Desktop
    VM of 4 GiB holds no 6 GiB profile). Services the switch keeps count at their expected use too.
    """
    members = [s for s in profile.services if s in stack.services]
    needs = [need_of(stack, s, peaks) for s in members]
    expected = sum(n.expected for n in needs)
    maximum = sum(n.maximum for n in needs)
    engine_free = None if engine_total is None else max(0, engine_total - sum(used.values()))
    capacity = profile.host_budget if engine_total is None else min(profile.host_budget, engine_total)
    return ProfilePlan(
        profile=profile,
        start=tuple(s for s in members if s not in running),
        stop=tuple(s for s in stack.services if s in running and s not in members),
        keep=tuple(s for s in members if s in running),
        expected_total=expected,
        maximum_total=maximum,
        host_budget=profile.host_budget,
        engine_free=engine_free,
        capacity=capacity,
        verdict=verdict(expected, maximum, capacity),
        peaks_used=tuple(n.service for n in needs if n.from_peak),
    )


@dataclass(frozen=True)
class StartCheck:
    """Before an on-demand start: does its maximum fit in the engine's free memory, and if not, what to stop."""

    service: str
    need: int  # its maximum allocation
    free: int
    suggestions: tuple[tuple[str, int], ...] = ()  # (service, memory it would free), largest first

    @property
    def fits(self) -> bool:
        return self.need <= self.free

    @property
    def shortfall(self) -> int:
        return max(0, self.need - self.free)

    @property
    def freed(self) -> int:
        return sum(m for _, m in self.suggestions)


def start_check(
    stack: Stack,
    service: str,
    *,
    free: int,
    used: Mapping[str, int],
    active: Profile | None,
    idle: Set[str],
) -> StartCheck:
    """The memory check of `L`: the service's maximum against the engine's free memory; when short, the
    largest running services the active profile does not need, then the largest idle ones, until the
    shortfall is covered."""
    need = stack.services[service].maximum_total
    check = StartCheck(service, need, free)
    if check.fits:
        return check
    wanted = set(active.services) if active else set()
    running = {s: m for s, m in used.items() if s != service and m > 0}
    outside = sorted((s for s in running if s not in wanted), key=lambda s: -running[s])
    idle_inside = sorted((s for s in running if s in wanted and s in idle), key=lambda s: -running[s])
    picked: list[tuple[str, int]] = []
    for s in outside + idle_inside:
        if sum(m for _, m in picked) >= check.shortfall:
            break
        picked.append((s, running[s]))
    return StartCheck(service, need, free, tuple(picked))
