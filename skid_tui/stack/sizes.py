"""Memory sizes, CPU counts and durations as compose writes them, and memory sizes as humans read them."""

from __future__ import annotations

import math
import re
from functools import lru_cache

# docker/go-units RAMInBytes: the grammar compose uses for mem_limit, memory, shm_size...
_SIZE_RE = re.compile(r"^(\d*)(?:\.(\d+))? ?([kmgtp])?i?b?$", re.IGNORECASE)  # `.5g` as compose reads it
_UNIT_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50}

SIZE_EXPECTED = "expected a number with an optional unit: b, k, kb, m, mb, g, gb"
DURATION_EXPECTED = "expected a duration such as 90s, 10m or 1h30m"
CPUS_EXPECTED = "expected a number of CPUs such as 0.5"

KIB = 1024
MIB = 1024**2
GIB = 1024**3


def parse_size(value: str | int) -> int:
    """Bytes from a compose size: an int is bytes; `"512m"`, `"1.5GB"`, `"512MiB"` use 1k = 1024."""
    if isinstance(value, bool):  # bool is an int in Python, never a size in YAML
        raise ValueError(f"malformed size {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"malformed size {value!r}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"malformed size {value!r}")
    m = _SIZE_RE.match(value)
    if not m or not (m.group(1) or m.group(2)):
        raise ValueError(f"malformed size {value!r}")
    whole, frac, unit = m.group(1) or "0", m.group(2), (m.group(3) or "").lower()
    shift = _UNIT_SHIFT[unit]
    if frac is None:
        return int(whole) << shift  # exact for whole numbers, however large
    # docker multiplies a float64 and truncates; do the same so "1.5g" matches it byte for byte
    try:
        return int(float(f"{whole}.{frac}") * (1 << shift))
    except OverflowError:
        raise ValueError(f"malformed size {value!r}") from None


@lru_cache(maxsize=4096)  # a dashboard formats the same few hundred sizes every second
def format_bytes(n: int) -> str:
    """A size for people: `512 B`, `4.0 KiB`, `9.5 MiB`, `512 MiB`, `1.20 GiB`.

    Bytes are whole; KiB and MiB get one decimal below 10 and none from 10 up (three significant
    digits at most, enough for a panel); GiB and above always get two decimals, because budgets
    of a few GiB are compared to the hundredth ("6.50 GiB, more than 6.00 GiB").
    """
    if n < 0:
        return "-" + format_bytes(-n)
    if n < KIB:
        return f"{n} B"
    units = ("KiB", "MiB", "GiB", "TiB", "PiB")
    k = 1
    while k < len(units) and n >= 1024 ** (k + 1):
        k += 1
    text = _scaled(n, k)
    if float(text) >= 1024 and k < len(units):
        # 1023.97 MiB reads better as 1.00 GiB than as 1024 MiB
        k += 1
        text = _scaled(n, k)
    return f"{text} {units[k - 1]}"


def _scaled(n: int, k: int) -> str:
    v = n / 1024**k
    if k >= 3:
        return f"{v:.2f}"
    text = f"{v:.1f}"
    return f"{v:.0f}" if float(text) >= 10 else text


# Go's time.ParseDuration units, which compose uses for healthcheck intervals and timeouts.
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PLAIN_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def parse_duration(value: str | int | float) -> float:
    """Seconds from a compose duration (`"10m"`, `"1m30s"`, `"500ms"`); a plain number is seconds."""
    if isinstance(value, bool):
        raise ValueError(f"malformed duration {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"malformed duration {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"malformed duration {value!r}")
    text = value.strip()
    if _PLAIN_NUMBER.match(text):
        return float(text)
    if not text:
        raise ValueError(f"malformed duration {value!r}")
    total, pos = 0.0, 0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m:
            raise ValueError(f"malformed duration {value!r}")
        total += float(m.group(1)) * _DURATION_SECONDS[m.group(2)]
        pos = m.end()
    return total


def parse_cpus(value: str | int | float) -> float:
    """A CPU count as compose takes it: a number or a numeric string, never negative."""
    if isinstance(value, bool):
        raise ValueError(f"malformed cpus {value!r}")
    if isinstance(value, str):
        if not _PLAIN_NUMBER.match(value.strip()):
            raise ValueError(f"malformed cpus {value!r}")
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    raise ValueError(f"malformed cpus {value!r}")


def format_cpus(value: float) -> str:
    """`0.5`, `1`, `1.25`: no trailing zeros."""
    return f"{value:g}"


def compact_bytes(n: float) -> str:
    """Short sizes for tight columns: 512B, 4.0K, 219M, 1.2G (binary units)."""
    for unit, size in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return f"{n:.0f}B"


def compact_rate(bps: float | None) -> str:
    return "-" if bps is None else f"{compact_bytes(bps)}/s"
