"""Log streams split into lines, and the bounded ring buffer with search and a live filter."""

from __future__ import annotations

import struct

from skid_tui.engine.logs import LineAssembler, LogLine, split_frames, ts_key
from skid_tui.model.logbuffer import LogBuffer, compile_pattern


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


def test_frames_split_across_chunks_and_lines_across_frames():
    wire = frame(1, b"2026-11-27T01:00:00.1Z one\n2026-11-27T01:00:00.2Z tw") + frame(1, b"o\n") + frame(
        2, b"2026-11-27T01:00:00.3Z oops\n")
    buffer = bytearray()
    assembler = LineAssembler(timestamps=True)
    lines: list[LogLine] = []
    for i in range(0, len(wire), 7):  # the worst case: a few bytes at a time
        buffer += wire[i : i + 7]
        for stream, data in split_frames(buffer, multiplexed=True):
            assembler.feed(stream, data, lines)
    assert lines == [LogLine("2026-11-27T01:00:00.1Z", "one", 1), LogLine("2026-11-27T01:00:00.2Z", "two", 1),
                     LogLine("2026-11-27T01:00:00.3Z", "oops", 2)]
    assert buffer == bytearray()


def test_tty_streams_are_raw_and_a_last_line_without_newline_is_kept():
    buffer = bytearray(b"plain\r\nlast")
    assembler = LineAssembler(timestamps=False)
    lines: list[LogLine] = []
    for stream, data in split_frames(buffer, multiplexed=False):
        assembler.feed(stream, data, lines)
    assembler.flush(lines)
    assert [line.text for line in lines] == ["plain", "last"]


def test_timestamps_compare_in_time_order_despite_trimmed_nanoseconds():
    assert ts_key("2026-11-27T01:00:00.12345Z") < ts_key("2026-11-27T01:00:00.123451Z")
    assert ts_key("2026-11-27T01:00:00.9Z") > ts_key("2026-11-27T01:00:00.123456789Z")


def lines(start: int, count: int) -> list[LogLine]:
    return [LogLine("", f"line {i}" + (" ERROR" if i % 10 == 0 else ""), 1) for i in range(start, start + count)]


def test_the_ring_keeps_the_newest_lines_only():
    buf = LogBuffer(capacity=1000)
    for start in range(0, 300_000, 5000):
        buf.extend(lines(start, 5000))
    assert buf.total == 300_000 and len(buf.lines) == 1000 and buf.first == 299_000
    assert buf.view_line(0).text == "line 299000 ERROR" and buf.view_line(999).text == "line 299999"
    buf.extend(lines(0, 5000))  # a batch bigger than the ring
    assert len(buf.lines) == 1000 and buf.view_line(0).text == "line 4000 ERROR"


def test_the_filter_follows_lines_in_and_out():
    buf = LogBuffer(capacity=100)
    buf.extend(lines(0, 100))
    buf.set_filter(compile_pattern("error"))
    assert buf.view_len() == 10 and buf.view_line(0).text == "line 0 ERROR"
    buf.extend(lines(100, 50))  # 50 older lines fall off: 5 old matches go, 5 new come
    assert buf.view_len() == 10 and buf.view_line(0).text == "line 50 ERROR"
    assert buf.view_line(9).text == "line 140 ERROR"
    buf.extend(lines(150, 500))  # more than the ring in one go
    assert buf.view_len() == 10 and buf.view_line(0).text == "line 550 ERROR"
    buf.set_filter(None)
    assert buf.view_len() == 100


def test_search_forward_backward_and_wrapping_within_the_view():
    buf = LogBuffer(capacity=100)
    buf.extend(lines(0, 100))
    pattern = compile_pattern("line 4[0-9]$")
    first = buf.find(pattern, -1, forward=True)
    assert buf.lines[first - buf.first].text == "line 41"  # line 40 has " ERROR" after it
    assert buf.find(pattern, first, forward=True) == first + 1
    assert buf.find(pattern, first, forward=False) == 49  # wraps to the last match
    assert buf.find(compile_pattern("nothing"), 0) is None
    assert buf.matches(compile_pattern("error")) == 10
    buf.set_filter(compile_pattern("error"))
    assert buf.find(compile_pattern("line 9"), -1) == 90  # only lines in view
    assert buf.row_of_seq(90) == 9 and buf.seq_of_row(9) == 90


def test_a_bad_regular_expression_is_searched_as_text():
    assert compile_pattern("a[b").search("xa[by")


def test_saved_text():
    buf = LogBuffer()
    buf.extend([LogLine("2026-11-27T01:00:00Z", "hello", 1), LogLine("", "note", 0)])
    assert buf.text() == "hello\nnote\n"
    assert buf.text(timestamps=True) == "2026-11-27T01:00:00Z hello\nnote\n"
