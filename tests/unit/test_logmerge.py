"""model.logmerge: the stack's logs as one stream, in time order, prefixed, a flood cut per take."""

from __future__ import annotations

from skid_tui.engine.logs import LineKind, LogLine
from skid_tui.model.logmerge import LogMerger


def ts(second: float) -> str:
    whole = int(second)
    return f"2026-12-07T10:00:{whole:02d}.{round((second - whole) * 1e9):09d}".rstrip("0").rstrip(".") + "Z"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def plain(lines: list[LogLine]) -> list[str]:
    return [line.text for line in lines]


def test_histories_wait_for_every_service_then_merge_by_time():
    clock = Clock()
    m = LogMerger(["api", "redis"], clock=clock, colour=False)
    m.follow("api")
    m.follow("redis")
    m.add("api", [LogLine(ts(1), "a1"), LogLine(ts(3), "a3")])
    assert m.take() == []  # redis's history has not come yet
    m.add("redis", [LogLine(ts(2), "r2"), LogLine(ts(2.5), "r2.5")])
    assert plain(m.take()) == ["api   | a1", "redis | r2", "redis | r2.5", "api   | a3"]
    # Then each take merges what came since.
    m.add("redis", [LogLine(ts(5), "r5")])
    m.add("api", [LogLine(ts(4), "a4"), LogLine("", "── a note ──", LineKind.NOTE), LogLine(ts(6), "a6")])
    assert plain(m.take()) == ["api   | a4", "api   | ── a note ──", "redis | r5", "api   | a6"]
    assert m.take() == []


def test_a_silent_service_holds_the_first_take_only_so_long():
    clock = Clock()
    m = LogMerger(["api", "redis"], clock=clock, history_wait=1.5)
    m.follow("api")
    m.follow("redis")
    m.add("api", [LogLine(ts(1), "a1")])
    assert m.take() == []
    clock.now = 1.6
    [line] = m.take()
    assert line.text == "\x1b[36mapi  \x1b[0m | a1"  # the first service's colour, the names aligned


def test_lines_of_one_instant_keep_their_order_and_stream():
    m = LogMerger(["a"], colour=False)
    m.follow("a")
    m.add("a", [LogLine(ts(1), "x", LineKind.ERR), LogLine(ts(1), "y"), LogLine(ts(1), "z")])
    got = m.take()
    assert plain(got) == ["a | x", "a | y", "a | z"] and got[0].stream == LineKind.ERR


def test_a_flood_from_one_service_does_not_hide_the_others():
    m = LogMerger(["flood", "quiet"], quota=100, colour=False)
    m.follow("flood")
    m.follow("quiet")
    m.add("flood", [LogLine(ts(1 + i / 10_000), f"f{i}") for i in range(5000)])
    m.add("quiet", [LogLine(ts(1.2), "q")])
    got = plain(m.take())
    assert len(got) == 102 and got[0] == "quiet | q"  # at 1.2 s: before what is kept of the flood (from 1.49 s)
    assert got[1].startswith("flood | … 4,900 lines of flood skipped here")
    assert got[-1] == "flood | f4999"
