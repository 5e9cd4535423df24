"""Right-sizing: the documented rule on known summaries, spans, profile totals, what an override would hold."""

from __future__ import annotations

import math

import pytest

from skid_tui.model.series import Summary
from skid_tui.ops.rightsize import (
    ENOUGH_SAMPLES,
    override_services,
    parse_span,
    rightsize,
    round_up,
    suggest,
)
from tests.factories import MiB, demo_stack

NOW = 1_800_000_000.0


def summary(service: str, samples: int = ENOUGH_SAMPLES, p95: int | None = 200 * MiB, mx: int | None = 300 * MiB,
            ooms: int = 0) -> Summary:
    return Summary("skid-demo", service, NOW - 7 * 86400, NOW, samples, p95 and p95 // 2, p95, p95, mx, 1.0, 5.0,
                   6.0, 9.0, ooms, 0, NOW - 86400, NOW)


class FakeStore:
    def __init__(self, summaries: dict[str, Summary]) -> None:
        self.summaries = summaries
        self.asked: list[tuple[str, str, float, float | None]] = []

    def summary(self, project: str, service: str, since: float, until: float | None = None) -> Summary:
        self.asked.append((project, service, since, until))
        return self.summaries.get(service) or summary(service, samples=0, p95=None, mx=None)


def by_hand(p95: int, mx: int) -> tuple[int, int]:
    """The README's rule, written out again here: standard = p95 x 1.2, maximum = max(max x 1.3, standard x 2),
    both rounded up to 16 MiB."""
    step = 16 * MiB
    std = math.ceil(p95 * 1.2 / step) * step
    return std, max(math.ceil(mx * 1.3 / step) * step, std * 2)


@pytest.mark.parametrize(("p95", "mx"), [(200 * MiB, 300 * MiB), (41 * MiB, 42 * MiB), (100 * MiB, 900 * MiB),
                                         (1, 2), (16 * MiB, 16 * MiB)])
def test_the_rule_is_the_documented_one(p95, mx):
    s = suggest(summary("api", p95=p95, mx=mx), 256 * MiB, 512 * MiB)
    assert (s.suggested_standard, s.suggested_maximum) == by_hand(p95, mx)
    assert s.suggested_standard % (16 * MiB) == 0 and s.suggested_maximum >= 2 * s.suggested_standard


def test_less_than_an_hour_watched_keeps_the_budget_and_says_how_much_there_is():
    s = suggest(summary("api", samples=ENOUGH_SAMPLES - 1), 256 * MiB, 512 * MiB)
    assert not s.enough and not s.changed and s.suggested_maximum is None
    assert s.why == "not enough data: 1.0 h watched of the 1.0 h needed"
    short = suggest(summary("api", samples=5), None, None, needed=10)
    assert short.why == "not enough data: 5 s watched of the 10 s needed"
    assert suggest(summary("api", samples=10), None, None, needed=10).enough


def test_an_oom_killed_service_gets_at_least_half_again_what_it_had():
    # It died at its 64 MiB limit: max used 64 MiB says what it was allowed, not what it needs.
    s = suggest(summary("api", p95=20 * MiB, mx=64 * MiB, ooms=2), 32 * MiB, 64 * MiB)
    assert s.suggested_maximum == round_up(64 * MiB * 1.5) == 96 * MiB
    assert s.why.startswith("OOM-killed 2x")
    # Without the kill the same numbers give the plain rule.
    plain = suggest(summary("api", p95=20 * MiB, mx=64 * MiB), 32 * MiB, 64 * MiB)
    assert plain.suggested_maximum == by_hand(20 * MiB, 64 * MiB)[1]


def test_every_service_is_asked_for_the_range_and_profiles_are_totalled():
    stack = demo_stack()
    store = FakeStore({"postgres": summary("postgres", p95=100 * MiB, mx=150 * MiB),
                       "redis": summary("redis", p95=10 * MiB, mx=12 * MiB)})
    result = rightsize(store, stack, 7 * 86400, now=NOW)
    assert {a[1] for a in store.asked} == set(stack.services)
    assert all(a[2] == NOW - 7 * 86400 and a[3] == NOW for a in store.asked)
    pg = next(s for s in result.suggestions if s.service == "postgres")
    assert (pg.suggested_standard, pg.suggested_maximum) == by_hand(100 * MiB, 150 * MiB)
    minimal = next(p for p in result.profiles if p.profile == "minimal")
    pg_std, pg_max = by_hand(100 * MiB, 150 * MiB)
    rd_std, rd_max = by_hand(10 * MiB, 12 * MiB)
    # minio has no data: it keeps its 256/512.
    assert minimal.standard_now == (256 + 128 + 256) * MiB and minimal.maximum_now == (512 + 256 + 512) * MiB
    assert minimal.standard_after == pg_std + rd_std + 256 * MiB
    assert minimal.maximum_after == pg_max + rd_max + 512 * MiB
    assert override_services(result) == {"postgres": (pg_std, pg_max), "redis": (rd_std, rd_max)}
    doc = result.to_json()
    assert doc["enough_samples"] == ENOUGH_SAMPLES and "p95 x 1.2" in doc["rule"]
    assert {s["service"]: s["enough"] for s in doc["services"]}["minio"] is False


@pytest.mark.parametrize(("text", "seconds"), [("7d", 7 * 86400), ("36h", 36 * 3600), ("1w", 7 * 86400),
                                               ("2d12h", 2.5 * 86400), ("90m", 5400), ("1.5h", 5400),
                                               ("30s", 30), (" 1D ", 86400)])
def test_spans(text, seconds):
    assert parse_span(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "d", "7x", "-1d", "0d", "7d junk", "1e3d"])
def test_bad_spans_say_what_was_expected(text):
    with pytest.raises(ValueError, match=r"time span"):
        parse_span(text)
