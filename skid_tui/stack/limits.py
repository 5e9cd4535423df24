"""How much input skid reads: file sizes, nesting, services. Past a limit it says so in one line.

Every limit is far above a real stack (a few dozen services, YAML nested ten levels deep) and low
enough that refusing is quick and memory stays bounded whatever the file holds.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_FILE_BYTES = 10 * 1024 * 1024  # a compose file, a profile, a .env file
MAX_DEPTH = 64  # YAML collections inside collections; `${A:-${B:-...}}` inside each other
MAX_SERVICES = 1000  # the most services the dashboard shows
MAX_PROFILES = 1000  # profile files in a profiles directory
MAX_SUITES = 1000  # test suites under x-skid-tests
# Values in one YAML document, aliases expanded: a 1,000-service stack with 150 values per service fits,
# a "billion laughs" does not.
MAX_VALUES = 150_000

SERVICES_LIMIT_MESSAGE = f"more than {MAX_SERVICES} services: skid shows at most {MAX_SERVICES} services"
SERVICES_LIMIT_EXPECTED = f"expected at most {MAX_SERVICES} services, or split the stack into several compose projects"
DEPTH_EXPECTED = f"expected at most {MAX_DEPTH} levels of nesting"


class InputTooLarge(Exception):
    """A file skid will not read: too big, or not a regular file. `reason` ends 'cannot read X: '."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def describe_size(n: int) -> str:
    mib = n / (1024 * 1024)
    return f"{mib:.1f} MiB" if mib >= 0.1 else f"{n} bytes"


def read_bounded(path: Path | str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Opened without blocking and checked with fstat on the open descriptor, so a FIFO or a device
    (a symlink to /dev/zero) is refused instead of hanging or filling memory, and a file swapped
    between a check and the open cannot slip through. Reads at most limit + 1 bytes, so a file that
    grows while it is read is refused too. Raises OSError (missing, unreadable, a directory) or
    InputTooLarge.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(st.st_mode):
            raise InputTooLarge("not a regular file")
        if st.st_size > limit:
            size, most = describe_size(st.st_size), describe_size(limit)
            raise InputTooLarge(f"the file is {size}, more than the {most} skid reads")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise InputTooLarge(f"the file is more than the {describe_size(limit)} skid reads")
        return b"".join(chunks)
    finally:
        os.close(fd)
