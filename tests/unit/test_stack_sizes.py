"""Sizes, durations and CPU counts as compose writes them; sizes as people read them."""

import math

import pytest

from skid_tui.stack import format_bytes, parse_cpus, parse_duration, parse_size

KiB, MiB, GiB, TiB, PiB = 1024, 1024**2, 1024**3, 1024**4, 1024**5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (536870912, 512 * MiB),  # an int is bytes
        ("0", 0),
        ("100", 100),
        ("100b", 100),
        ("100B", 100),
        ("2k", 2 * KiB),
        ("2K", 2 * KiB),
        ("2kb", 2 * KiB),
        ("2KB", 2 * KiB),
        ("2kib", 2 * KiB),
        ("2KiB", 2 * KiB),
        ("0.5k", 512),
        ("512m", 512 * MiB),
        ("512M", 512 * MiB),
        ("512mb", 512 * MiB),
        ("512MB", 512 * MiB),
        ("512MiB", 512 * MiB),
        ("512mi", 512 * MiB),
        ("512 m", 512 * MiB),  # docker's grammar allows one space before the unit
        ("1g", GiB),
        ("1G", GiB),
        ("1gb", GiB),
        ("1GB", GiB),
        ("1GiB", GiB),
        ("1.5g", int(1.5 * GiB)),
        ("1.25G", int(1.25 * GiB)),
        ("2t", 2 * TiB),
        ("2TB", 2 * TiB),
        ("1p", PiB),
        ("1PiB", PiB),
        ("100000000000000000000p", 100000000000000000000 * PiB),  # exact, no float rounding
    ],
)
def test_parse_size_accepts_every_compose_unit(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "m", "-1", -1, "12xb", "5x", "512mm", "1.5.2g", "1e3", " 512m", "512m ", "1,5g", "abc", "g512",
     "512 mb b", True, None, 1.5, [512]],
)  # fmt: skip
def test_parse_size_rejects(value):
    with pytest.raises(ValueError, match="malformed size"):
        parse_size(value)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (4096, "4.0 KiB"),
        (10 * KiB, "10 KiB"),
        (int(9.5 * MiB), "9.5 MiB"),
        (int(9.96 * MiB), "10 MiB"),  # rounds to 10: no decimal from 10 up
        (10 * MiB, "10 MiB"),
        (512 * MiB, "512 MiB"),
        (1023 * MiB, "1023 MiB"),
        (GiB - 1, "1.00 GiB"),  # not "1024 MiB"
        (GiB, "1.00 GiB"),
        (int(1.2 * GiB), "1.20 GiB"),
        (int(6.5 * GiB), "6.50 GiB"),
        (6 * GiB, "6.00 GiB"),
        (TiB, "1.00 TiB"),
        (3 * PiB, "3.00 PiB"),
        (-512 * MiB, "-512 MiB"),  # a delta
    ],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_format_bytes_round_trips_budget_sizes():
    for text in ("128m", "256m", "512m"):
        assert format_bytes(parse_size(text)) == f"{text[:-1]} MiB"
    assert format_bytes(parse_size("2g")) == "2.00 GiB"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("45s", 45.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("1m30s", 90.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("250us", 0.00025),
        ("100ns", 1e-7),
        ("1h1m1s1ms", 3661.001),
        ("10", 10.0),
        ("2.5", 2.5),
        ("0", 0.0),
        (10, 10.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration(value, seconds):
    assert math.isclose(parse_duration(value), seconds)


@pytest.mark.parametrize(
    "value", ["", "10x", "m", "-5s", -1, "1m30", "10 m", "1H", "nan", "s10", True, None, float("inf")]
)
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError, match="malformed duration"):
        parse_duration(value)


@pytest.mark.parametrize(("value", "cpus"), [(0.5, 0.5), ("0.5", 0.5), (1, 1.0), ("1", 1.0), ("1.50", 1.5)])
def test_parse_cpus(value, cpus):
    assert parse_cpus(value) == cpus


@pytest.mark.parametrize("value", ["abc", "", "-1", -0.5, True, "nan", "inf", "1e3", float("nan"), None])
def test_parse_cpus_rejects(value):
    with pytest.raises(ValueError, match="malformed cpus"):
        parse_cpus(value)
