"""What panels and the header show, as pure functions of the model."""

from dataclasses import fields, replace
from datetime import timedelta

import pytest

from skid_tui.engine.watcher import EngineStatus
from skid_tui.stack import Budget
from skid_tui.ui.views import (
    ResourceView,
    ServiceView,
    budget_text,
    engine_line,
    format_uptime,
    order_services,
    ports_text,
    service_view,
    tone_of,
)
from skid_tui.ui.widgets.service_panel import line_keys, service_line
from tests.factories import NOW, MiB, container, demo_stack


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h 0m"), (7322, "2h 2m"), (90000, "1d 1h")],
)
def test_uptime_is_coarse(seconds, text):
    assert format_uptime(seconds) == text


def view(service="postgres", containers=(), profile="minimal", engine="connected", stack=None):
    stack = stack or demo_stack()
    return service_view(stack.services[service], containers, profile=stack.profiles[profile],
                        engine_state=engine, now=NOW)


def test_not_created_service_shows_its_budget_and_spec_ports():
    v = view()
    assert (v.state, v.health, v.uptime, v.tone, v.wanted) == ("not created", "none", "", "off", True)
    assert v.budget == "256 MiB std / 512 MiB max · cpus 0.25-0.5"
    assert v.ports == ("127.0.0.1: 15432→5432",)
    assert v.membership == "in minimal"


def test_running_healthy():
    v = view(containers=(container("postgres", up_for=timedelta(minutes=3, seconds=5)),))
    assert (v.state, v.health, v.uptime, v.tone) == ("running", "healthy", "3m", "ok")
    assert v.ports == ("127.0.0.1: 15432→5432",)


def test_starting_is_a_warning_and_unhealthy_is_bad():
    assert view(containers=(container("postgres", health="starting"),)).tone == "warn"
    assert view(containers=(container("postgres", health="unhealthy"),)).tone == "bad"


def test_exited_with_code_is_bad_and_clean_exit_is_off():
    bad = view(containers=(container("postgres", state="exited", exit_code=137, health="unhealthy"),))
    assert (bad.state_text, bad.tone, bad.health) == ("exited (137)", "bad", "none")
    clean = view(containers=(container("postgres", state="exited", exit_code=0),))
    assert (clean.state_text, clean.tone) == ("exited (0)", "off")


def test_oom_killed():
    v = view(containers=(container("postgres", state="exited", exit_code=137, oom=True),))
    assert v.oom and v.tone == "bad"


def test_engine_lost_greys_out_every_panel():
    v = view(containers=(container("postgres"),), engine="lost")
    assert v.tone == "lost" and v.state == "running"  # the last known state stays visible


def test_membership():
    assert view("llm-advisor").membership == "on demand"
    assert view("api").membership == "not in minimal" and not view("api").wanted
    assert view("orchestrator").budget == "256 MiB std / 512 MiB max"


def test_replicas():
    v = view(containers=(container("postgres"), container("postgres", number=2, state="exited")))
    assert v.replicas == "1/2 running"


def test_declared_replicas_are_said_with_the_containers_that_run():
    from dataclasses import replace as dc_replace

    stack = demo_stack()
    stack.services["postgres"] = dc_replace(stack.services["postgres"], replicas=3)
    v = view(stack=stack, containers=(container("postgres"), container("postgres", number=2, state="exited")))
    assert v.replicas == "x3 · 1/2 running"
    assert view(stack=stack).replicas == "x3"


def test_tone_table():
    assert tone_of("paused", "none", None, False, "connected") == "warn"
    assert tone_of("dead", "none", None, False, "connected") == "bad"
    assert tone_of("created", "none", None, False, "connected") == "off"


def test_order_is_by_profile_active_first():
    stack = demo_stack()
    order = order_services(list(stack.services), list(stack.profiles.values()), stack.profiles["llm"])
    assert order[:4] == ["postgres", "redis", "minio", "llm-advisor"]
    assert order[4:7] == ["api", "orchestrator", "binary-processor"]
    assert sorted(order) == sorted(stack.services)


def test_engine_lines():
    assert "retrying every 3 s" in engine_line(EngineStatus("lost", retry_interval=3))
    assert engine_line(EngineStatus("connecting")).startswith("looking for")


def test_budget_text_never_shows_a_missing_side_as_zero():
    stack = demo_stack()
    bp = stack.services["binary-processor"]
    assert budget_text(bp) == "128 MiB std / 256 MiB max · cpus ≤ 0.3"
    only_max = replace(bp, budget=Budget(mem_max=256 * MiB, cpus_reservation=0.5))
    assert budget_text(only_max) == "≤ 256 MiB max · cpus ≥ 0.5"
    assert budget_text(replace(bp, budget=Budget())) == "no budget"


def test_ports_grouped_by_address():
    assert ports_text([("127.0.0.1", 19000, 9000, "tcp"), ("127.0.0.1", 19001, 9001, "tcp"),
                       ("0.0.0.0", 5353, 53, "udp"), (None, None, 8080, "tcp")]) == (
        "127.0.0.1: 19000→9000, 19001→9001", "*: 5353→53/udp, 8080")


def test_a_panel_line_whose_key_is_unchanged_draws_the_same():
    """ServicePanel rebuilds only the lines whose key changed: every field a line reads is in its key."""
    r1 = ResourceView(True, "120 MiB", 30, 12, 15, 29, "green", "std 256 MiB", "▁▂▃", "▁▁▂", "12%", "", "↓1B/s",
                      "ok", "")
    r2 = ResourceView(False, "9 MiB", 31, 3, None, None, "red", "max 1 GiB", "▅▆", "█", "80%", "bold red",
                      "↓5kB/s", "oom", "OOM-KILLED 2x")
    v1 = replace(view(containers=(container("postgres", up_for=timedelta(minutes=3)),)), resources=r1)
    v2 = ServiceView("x", "exited", "unhealthy", "9h", "img:2", ("127.0.0.1: 1→2",), "no budget", "on demand",
                     False, "bad", 137, "x2 · 1/2 running", "lost", True, r2, "starting", "no check has run")
    variants = [replace(v1, **{f.name: getattr(v2, f.name)}) for f in fields(ServiceView)]
    variants += [replace(v1, resources=replace(r1, **{f.name: getattr(r2, f.name)})) for f in fields(ResourceView)]
    variants += [replace(v1, engine=e) for e in ("connecting", "unreachable")]
    for b in variants:
        ka, kb = line_keys(v1), line_keys(b)
        if len(ka) != len(kb):
            continue  # a different set of lines: the panel rebuilds them all
        for y, (x, z) in enumerate(zip(ka, kb, strict=True)):
            if x == z:
                assert service_line(v1, y) == service_line(b, y), (y, b)


def test_panel_lines_draw_as_rich_draws_them_at_every_width():
    """line_segments (the panel's fast path) gives the cells and styles that truncating, rendering and
    applying the panel's style with Rich gives: narrower than the line (ellipsis), exact, and padded."""
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style
    from rich.text import Text

    from skid_tui.ui.widgets.service_panel import line_segments, service_lines

    console = Console(color_system="truecolor", width=300)
    base = Style.parse("#e0e0e0 on #202020")
    r = ResourceView(True, "120 MiB", 30, 12, 15, 29, "green", "std 256 MiB", "▁▂▃", "▁▁▂", "12%", "", "↓1B/s",
                     "ok", "OOM-KILLED 2x")
    views = [replace(view(containers=(container("postgres", up_for=timedelta(minutes=3)),)), resources=r),
             view(), view(engine="lost"), view(containers=(container("postgres", state="exited", exit_code=1),))]
    overlapping = Text("abcdef", style="bold")
    overlapping.stylize("red", 0, 4)
    overlapping.stylize("on blue", 2, 6)
    lines = [line for v in views for line in service_lines(v)] + [overlapping, Text(""), Text("日本語 wide")]

    def cells(segments):
        return [(ch, seg.style) for seg in Segment.simplify(segments) for ch in seg.text]

    for line in lines:
        for width in (1, 5, line.cell_len - 1, line.cell_len, line.cell_len + 7, 46):
            if width <= 0:
                continue
            slow = line.copy()
            slow.truncate(width, overflow="ellipsis", pad=True)
            want = list(Segment.apply_style(slow.render(console), base))
            got = line_segments(line, width, base, console)
            assert cells(got) == cells(want), (line.plain, width)
            assert Segment.get_line_length(got) == width
