"""The verdicts of the profile picker and the LLM's memory check, with fixed numbers."""

from __future__ import annotations

from dataclasses import replace

from skid_tui.model.planning import need_of, plan_profile, start_check, verdict
from skid_tui.stack import Budget
from tests.factories import GiB, MiB, demo_stack


def test_verdicts():
    assert verdict(3 * GiB, 5 * GiB, 6 * GiB) == "fits"
    assert verdict(3 * GiB, 7 * GiB, 6 * GiB) == "tight"
    assert verdict(7 * GiB, 9 * GiB, 6 * GiB) == "does not fit"
    assert verdict(6 * GiB, 6 * GiB, 6 * GiB) == "fits"  # exactly full still fits


def test_switching_from_minimal_to_app():
    stack = demo_stack()
    running = {"postgres", "redis", "minio", "llm-advisor"}
    used = {"postgres": 220 * MiB, "redis": 110 * MiB, "minio": 215 * MiB, "llm-advisor": 1200 * MiB}
    plan = plan_profile(stack, stack.profiles["app"], running=running, used=used, engine_total=8 * GiB, peaks={})
    assert plan.start == ("api", "orchestrator", "binary-processor")
    assert plan.stop == ("llm-advisor",)
    assert plan.keep == ("postgres", "redis", "minio")
    # app: postgres 256/512, redis 128/256, minio 256/512, api 256/512, orchestrator 256/512, bp 128/256 MiB
    assert plan.expected_total == 1280 * MiB and plan.maximum_total == 2560 * MiB
    assert plan.engine_free == 8 * GiB - 1745 * MiB
    assert plan.capacity == 6 * GiB and plan.verdict == "fits" and plan.peaks_used == ()


def test_recorded_peaks_replace_the_standard_and_are_named():
    stack = demo_stack()
    peaks = {"postgres": 300 * MiB, "redis": 60 * MiB}
    need = need_of(stack, "postgres", peaks)
    assert (need.expected, need.maximum, need.from_peak) == (300 * MiB, 512 * MiB, True)
    plan = plan_profile(stack, stack.profiles["minimal"], running=set(), used={}, engine_total=None, peaks=peaks)
    # redis' 60 MiB peak is under its 128 MiB standard: a short run's peak does not lower the estimate.
    assert plan.expected_total == (300 + 128 + 256) * MiB
    assert plan.peaks_used == ("postgres",)
    assert plan.capacity == 6 * GiB  # no engine known: the host budget alone


def test_a_small_engine_vm_makes_full_tight_or_too_big():
    stack = demo_stack()
    full = stack.profiles["full"]  # expected 2.25 GiB, maximum 4.5 GiB
    tight = plan_profile(stack, full, running=set(), used={}, engine_total=4 * GiB, peaks={})
    assert (tight.capacity, tight.verdict) == (4 * GiB, "tight")
    too_big = plan_profile(stack, full, running=set(), used={}, engine_total=2 * GiB, peaks={})
    assert too_big.verdict == "does not fit"
    with_peak = plan_profile(stack, full, running=set(), used={}, engine_total=4 * GiB,
                             peaks={"llm-advisor": 1900 * MiB})
    assert with_peak.expected_total == tight.expected_total + 876 * MiB


def test_llm_fits_when_its_maximum_fits_in_the_free_memory():
    stack = demo_stack()
    check = start_check(stack, "llm-advisor", free=3 * GiB, used={}, active=stack.profiles["minimal"], idle=set())
    assert check.fits and check.need == 2 * GiB and check.suggestions == ()


def test_llm_short_of_memory_offers_what_the_profile_does_not_need_then_idle_ones():
    stack = demo_stack()
    used = {"postgres": 220 * MiB, "redis": 110 * MiB, "minio": 215 * MiB, "api": 150 * MiB,
            "orchestrator": 140 * MiB, "binary-processor": 60 * MiB}
    minimal = stack.profiles["minimal"]
    # 1.5 GiB free: 512 MiB short. Outside minimal: api 150, orchestrator 140, bp 60 = 350 MiB: not enough,
    # so the largest idle service of the profile follows.
    check = start_check(stack, "llm-advisor", free=int(1.5 * GiB), used=used, active=minimal, idle={"minio", "redis"})
    assert not check.fits and check.shortfall == 512 * MiB
    assert check.suggestions == (("api", 150 * MiB), ("orchestrator", 140 * MiB), ("binary-processor", 60 * MiB),
                                 ("minio", 215 * MiB))
    assert check.freed >= check.shortfall
    # 100 MiB short: the largest one outside the profile is enough.
    small = start_check(stack, "llm-advisor", free=2 * GiB - 100 * MiB, used=used, active=minimal, idle=set())
    assert small.suggestions == (("api", 150 * MiB),)


def test_no_budget_service_needs_nothing():
    stack = demo_stack()
    stack.services["go"] = replace(stack.services["go"], budget=Budget())
    need = need_of(stack, "go", {})
    assert (need.expected, need.maximum) == (0, 0)


def test_a_service_with_replicas_counts_once_per_container():
    from pathlib import Path

    from skid_tui.stack import load_stack

    case = Path(__file__).parent / "data" / "compose_cases" / "replicas-and-scale" / "compose.yml"
    stack = load_stack([case], None, environ={})
    assert (stack.services["worker"].replicas, stack.services["scaled"].replicas) == (3, 2)
    assert stack.profile_totals(stack.profiles["default"]) == (0, (3 * 256 + 2 * 128) * 1024**2)
    plan = plan_profile(stack, stack.profiles["default"], running=set(), used={}, engine_total=None, peaks={})
    assert plan.maximum_total == (3 * 256 + 2 * 128) * 1024**2
