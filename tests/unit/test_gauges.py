"""Text gauges: sparklines that stay flat when the series is flat, rulers with budget marks."""

import random

from skid_tui.ui.gauges import SparkMemo, memory_ruler_cells, percent, ruler_scale, sparkline
from skid_tui.ui.views import resource_view
from tests.factories import MiB, container
from tests.unit.test_model import model, sample


def test_a_flat_series_stays_flat_and_scales_to_its_top():
    assert sparkline([100] * 10, 10, 400) == "▃" * 10
    assert sparkline([0, 400], 4, 400) == "  ▁█"
    assert sparkline([], 3, 10) == "   "
    assert sparkline([5, 50], 2, 0) == "▂█"  # no top: the series' own maximum


def test_the_memo_draws_what_sparkline_draws_as_a_series_grows_slides_and_changes_scale():
    memo, rng = SparkMemo(), random.Random(7)
    series: list[float] = []
    width, top = 12, 100.0
    for step in range(200):
        series = [*series, rng.uniform(0, 120)][-20:]  # grows to 20, then slides by one
        if step == 60:
            width = 30  # wider than the ring: the pad shrinks as it grows again
        if step == 120:
            top = 50.0
        if step == 150:
            series = series[:5]  # a new container: a shorter series
        values = tuple(series)
        assert memo.draw("k", values, width, top) == sparkline(values, width, top), step
    # A foreign series under the same key one reading "ahead" of the old is not shifted onto it.
    memo.draw("j", (1.0, 2.0, 3.0), 3, 3.0)
    assert memo.draw("j", (9.0, 9.0, 3.0, 0.0), 3, 3.0) == sparkline((9.0, 9.0, 3.0, 0.0), 3, 3.0)


def test_ruler_marks_standard_and_maximum():
    ruler = memory_ruler_cells(20, 8, 9, 19, "green").plain
    assert ruler == "━" * 8 + "─╋" + "─" * 9 + "┫"
    assert memory_ruler_cells(20, 15, 9, 19, "green").plain == "━" * 9 + "╋" + "━" * 5 + "─" * 4 + "┫"
    assert len(memory_ruler_cells(37, 37, 17, 36, "red").plain) == 37


def test_scale_is_the_maximum_else_room_above_what_was_seen():
    assert ruler_scale(100, 256, 512, None) == 512
    assert ruler_scale(100, None, None, 400) == 500
    assert ruler_scale(None, 256, None, None) == 512


def test_percent_precision():
    assert (percent(None), percent(1.234), percent(0.4), percent(45.6)) == ("…", "1%", "0%", "46%")


def test_resource_view_is_quantized_so_steady_numbers_do_not_repaint():
    m = model()
    c = container("postgres")
    from skid_tui.engine.sampler import StatsBatch
    from skid_tui.engine.watcher import ServiceUpdate

    m.apply(ServiceUpdate("postgres", (c,)))
    m.apply(StatsBatch((sample(c.id, 221 * MiB, 0.41),), "cgroup"))
    first = resource_view(m.resources("postgres"), 46)
    m.apply(StatsBatch((sample(c.id, 221 * MiB + 4096, 0.44),), "cgroup"))
    second = resource_view(m.resources("postgres"), 46)
    # Same cells, same text, same flat sparkline: the panel does not repaint.
    assert (first.mem_text, first.ruler_filled, first.cpu_text) == (second.mem_text, second.ruler_filled,
                                                                     second.cpu_text)
    assert first.mem_spark.strip() == "▄" and second.mem_spark.strip() == "▄▄"
    assert first.limits_text == "std 256 MiB · max 512 MiB · peak 221 MiB"
