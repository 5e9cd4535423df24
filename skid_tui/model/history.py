"""The history store: per-container resource samples kept in SQLite (`history.sqlite3` in the state dir).

Resolutions: 1 s rows kept 2 hours, 1-minute rollups kept 14 days, 15-minute rollups kept 365 days, in a
file of bounded size (over the bound the oldest rows go, whatever their resolution: the history gets
shorter, never patchy). Peaks and the active profile live here too; the old JSON files are imported once.

Schema (user_version 1; page 1 is written with auto_vacuum=INCREMENTAL before any table):
- containers(id INTEGER PRIMARY KEY, project, service, container, UNIQUE(project, service, container)): the
  names are stored once; a sample row carries the small integer `cid`.
- samples(res, cid, t, n, mem_sum, mem_max, cpu_n, cpu_sum, cpu_max, rx_n, rx_sum, tx_n, tx_sum, pids_max),
  PRIMARY KEY (res, cid, t), WITHOUT ROWID, with an index on (res, t) for the retention deletes. A row is
  the bucket [t, t + res). Sums, not means: a rollup's mean is sum / n, exact for memory, and a rollup is
  updated with additions only. cpu_n, rx_n and tx_n count the samples that had the value (it may be unknown).
- marks(project, service, container, at, kind, key, UNIQUE(project, service, container, kind, key)).
- peaks(project, service, peak_mem_bytes, at), profiles(project, profile), meta(key, value).

Several processes may write (the dashboard and `skid monitor`): WAL, a busy timeout, and every write
transaction starts with BEGIN IMMEDIATE. A 1 s row is inserted only if its (container, second) is new, and
the rollups are updated only then, so a second process recording the same second adds nothing.

Connections stay on the thread that made them (sqlite3's check): write and prune keep one per calling
thread (in practice the recorder's), every other method opens one for the call. A broken file is moved
aside (with its -wal and -shm) and a new history started, only when no other skid has it open (a flock on
`history.sqlite3.lock`: SQLite deletes NAME-wal by name when a connection to a moved file closes, which
would be the new file's). A file or directory skid may not use is left alone and the store does nothing.
Every problem is one warning through statefile.warn: the history must never stop skid from starting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import queue
import sqlite3
import stat
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from skid_tui.model import statefile
from skid_tui.model.active import valid_profiles
from skid_tui.model.peaks import valid_peaks
from skid_tui.model.series import Mark, Point, Reading, Series, Summary

try:
    import fcntl
except ImportError:  # Windows: no guard against another process (see _Guard)
    fcntl = None  # type: ignore[assignment]

RESOLUTIONS = (1, 60, 900)
RETENTION = {1: 2 * 3600, 60: 14 * 86400, 900: 365 * 86400}
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
MARK_RETENTION = 365 * 86400
FILE_NAME = "history.sqlite3"

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000  # another skid's write transaction takes milliseconds; 5 s means something is wrong
WAL_LIMIT_BYTES = 4 * 1024 * 1024  # the WAL is truncated to this after a checkpoint (a big prune grows it)
BOUND_TARGET = 0.9  # over the bound, shrink to 90% of it: the next minutes' samples do not trigger it again
KEEP_WHEN_LOCKED = 600.0  # seconds of readings the recorder holds while the database stays locked
MAX_HELD = 200_000  # and never more readings than this, whatever their times

# Primary result codes (sqlite3 exceptions carry the extended code; the low byte is the primary one).
_BUSY, _LOCKED, _CORRUPT, _FULL, _NOTADB = 5, 6, 11, 13, 26

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS containers (id INTEGER PRIMARY KEY, project TEXT NOT NULL, service TEXT NOT NULL,"
    " container TEXT NOT NULL, UNIQUE (project, service, container))",
    "CREATE TABLE IF NOT EXISTS samples (res INTEGER NOT NULL, cid INTEGER NOT NULL, t INTEGER NOT NULL,"
    " n INTEGER NOT NULL, mem_sum INTEGER NOT NULL, mem_max INTEGER NOT NULL,"
    " cpu_n INTEGER NOT NULL, cpu_sum REAL NOT NULL, cpu_max REAL,"
    " rx_n INTEGER NOT NULL, rx_sum INTEGER NOT NULL, tx_n INTEGER NOT NULL, tx_sum INTEGER NOT NULL,"
    " pids_max INTEGER, PRIMARY KEY (res, cid, t)) WITHOUT ROWID",
    # The primary key is ordered for reading one service; retention deletes by age across all containers.
    "CREATE INDEX IF NOT EXISTS samples_by_age ON samples (res, t)",
    "CREATE TABLE IF NOT EXISTS marks (project TEXT NOT NULL, service TEXT NOT NULL, container TEXT NOT NULL,"
    " at REAL NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, UNIQUE (project, service, container, kind, key))",
    "CREATE INDEX IF NOT EXISTS marks_by_time ON marks (project, service, at)",
    "CREATE TABLE IF NOT EXISTS peaks (project TEXT NOT NULL, service TEXT NOT NULL, peak_mem_bytes INTEGER NOT NULL,"
    " at REAL NOT NULL, PRIMARY KEY (project, service)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS profiles (project TEXT PRIMARY KEY, profile TEXT NOT NULL) WITHOUT ROWID",
)

_COLUMNS = "res, cid, t, n, mem_sum, mem_max, cpu_n, cpu_sum, cpu_max, rx_n, rx_sum, tx_n, tx_sum, pids_max"
_INSERT_SECOND = (f"INSERT INTO samples ({_COLUMNS}) VALUES (1, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                  " ON CONFLICT DO NOTHING")
# SQLite's max(a, b) is NULL if either is: coalesce keeps the known one.
_UPSERT_ROLLUP = f"""INSERT INTO samples ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (res, cid, t) DO UPDATE SET
    n = n + excluded.n,
    mem_sum = mem_sum + excluded.mem_sum,
    mem_max = max(mem_max, excluded.mem_max),
    cpu_n = cpu_n + excluded.cpu_n,
    cpu_sum = cpu_sum + excluded.cpu_sum,
    cpu_max = coalesce(max(cpu_max, excluded.cpu_max), cpu_max, excluded.cpu_max),
    rx_n = rx_n + excluded.rx_n,
    rx_sum = rx_sum + excluded.rx_sum,
    tx_n = tx_n + excluded.tx_n,
    tx_sum = tx_sum + excluded.tx_sum,
    pids_max = coalesce(max(pids_max, excluded.pids_max), pids_max, excluded.pids_max)"""
# One segment of a service's rows (see _segments); the summary's queries are over a UNION ALL of them.
_SERVICE_SEGMENT = ("SELECT {} FROM samples WHERE res = ? AND cid IN"
                    " (SELECT id FROM containers WHERE project = ? AND service = ?) AND t BETWEEN ? AND ?")
# Weighted nearest rank, in SQL (sorting in C: a week of three replicas is 50k rows): the smallest v with at
# least p% of the weight at or below it is the first v whose running weight reaches the rank (_ranks).
_PERCENTILES = """WITH r(v, w) AS ({rows}),
c AS (SELECT v, sum(w) OVER (ORDER BY v ROWS UNBOUNDED PRECEDING) AS seen FROM r)
SELECT min(CASE WHEN seen >= ? THEN v END), min(CASE WHEN seen >= ? THEN v END), min(CASE WHEN seen >= ? THEN v END)
FROM c"""
_PERCENTS = (50, 95, 99)
_SERIES_STEPS = """SELECT max(0, min(?, CAST((t - ?) / ? AS INTEGER))) AS step,
    sum(n), sum(mem_sum), max(mem_max), sum(cpu_n), sum(cpu_sum), max(cpu_max) FROM samples
WHERE res = ? AND cid IN (SELECT id FROM containers WHERE project = ? AND service = ?) AND t BETWEEN ? AND ?
GROUP BY step ORDER BY step"""
_EXPORT_ROWS = """SELECT s.t, s.res, c.service, c.container, s.n, s.mem_sum, s.mem_max, s.cpu_n, s.cpu_sum, s.cpu_max,
    s.rx_n, s.rx_sum, s.tx_n, s.tx_sum, s.pids_max
FROM samples s JOIN containers c ON c.id = s.cid
WHERE c.project = ? AND s.res = ? AND s.t BETWEEN ? AND ? ORDER BY s.t, c.service, c.container"""
# A merge of three ordered index scans: the k-th oldest row without sorting the table.
_KTH_OLDEST = ("SELECT t FROM samples WHERE res = 1 UNION ALL SELECT t FROM samples WHERE res = 60"
               " UNION ALL SELECT t FROM samples WHERE res = 900 ORDER BY 1 LIMIT 1 OFFSET ?")
# A container's 15-minute rows outlive its finer ones: checked only when those were deleted.
_DELETE_ORPHANS = ("DELETE FROM containers WHERE NOT EXISTS"
                   " (SELECT 1 FROM samples WHERE res IN (1, 60, 900) AND cid = containers.id)")
_MARK_COUNTS = """SELECT
    coalesce(sum(kind = 'oom'), 0),
    coalesce(sum(kind = 'start' AND EXISTS (SELECT 1 FROM marks e WHERE e.project = m.project
        AND e.service = m.service AND e.container = m.container AND e.kind = 'start' AND e.at < m.at)), 0)
FROM marks m WHERE project = ? AND service = ? AND at BETWEEN ? AND ?"""

T = TypeVar("T")
Busy = Literal["raise", "skip"]


class _NotHistory(Exception):
    """An SQLite file that is not skid's history (tables but no schema version): treated as unreadable."""


class _TooNew(Exception):
    """Written by a newer skid: left alone rather than written with an older schema."""


def _code(exc: BaseException) -> int:
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF


def _is_busy(exc: BaseException) -> bool:
    return _code(exc) in (_BUSY, _LOCKED) or "locked" in str(exc)


def _is_corrupt(exc: BaseException) -> bool:
    """The file's content is broken (moved aside), as opposed to a file skid may not use (left alone)."""
    if isinstance(exc, _NotHistory):
        return True
    if not isinstance(exc, sqlite3.DatabaseError) or _is_busy(exc):
        return False
    return _code(exc) in (_CORRUPT, _NOTADB) or type(exc) is sqlite3.DatabaseError


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return str(exc.strerror or exc)
    return str(exc) or type(exc).__name__


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) that has read nothing of the file yet: a
    broken file fails on the first statement, and the caller decides when to close (see _start_afresh).
    Without `create`, a missing file is an error rather than a new database."""
    uri = f"file:{urllib.parse.quote(str(path))}?mode={'rwc' if create else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _configure(conn: sqlite3.Connection) -> None:
    """The per-connection pragmas (these read the schema)."""
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL stays consistent; a power cut may lose the last seconds
    conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}").fetchall()


def _connect_configured(path: Path) -> sqlite3.Connection:
    conn = _connect(path, create=False)
    try:
        _configure(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _close(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


def _vacuum(conn: sqlite3.Connection) -> None:
    # executescript steps the pragma to the end; execute() steps it once, which frees a single page.
    conn.executescript("PRAGMA incremental_vacuum;")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock at once: waiting happens here, under the busy timeout, never as a
    # deadlock between two readers both upgrading to writers.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _prepare(conn: sqlite3.Connection) -> None:
    """WAL, and the schema created or checked. The first statements that read the file: a file that is not
    a database fails here."""
    if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
        # A new file. Only now: setting it takes the write lock, and it must precede journal_mode, whose
        # switch to WAL writes page 1 (auto_vacuum is fixed once page 1 has tables).
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("PRAGMA journal_mode = WAL").fetchall()
    _configure(conn)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise _TooNew(f"written by a newer skid (schema {version})")
    with _transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have made it meanwhile
        if version == SCHEMA_VERSION:
            return
        if conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
            raise _NotHistory("an SQLite file, but not skid's history")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _move_aside(path: Path) -> Path:
    """Rename the file (a symlink's target) and its -wal and -shm to NAME.bad-TIMESTAMP*, over nothing.

    The WAL must go with it: left behind, SQLite would replay the old file's pages into the new one.
    """
    target = Path(os.path.realpath(path))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    n = 1
    while True:
        aside = target.with_name(f"{target.name}.bad-{stamp}" + (f"-{n}" if n > 1 else ""))
        if not any(os.path.lexists(f"{aside}{suffix}") for suffix in ("", "-wal", "-shm")):
            break
        n += 1
    os.rename(target, aside)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.rename(f"{target}{suffix}", f"{aside}{suffix}")
    return aside


def _ceil_to(x: float, step: int) -> int:
    return math.ceil(x / step) * step


def _segments(since: float, until: float, now: float) -> list[tuple[int, int, int]]:
    """The stored rows that cover [since, until]: (resolution, first row t, last row t), oldest first.

    Each part of the range is read at the finest resolution still kept for it (relative to `now`): 1 s
    rows from the first whole minute within the last 2 h, 1-minute rows from the first whole quarter hour
    within the last 14 days, 15-minute rows before that. A seam falls on a bucket edge of the coarser side,
    so its last row ends exactly where the finer rows begin: no sample is counted twice or missed. At the
    range's own ends, a row counts if its bucket overlaps the range. A range that starts within 2 h is all
    1 s rows, one that starts within 14 days has no 15-minute rows.
    """
    seam_1 = _ceil_to(now - RETENTION[1], 60)
    seam_60 = _ceil_to(now - RETENTION[60], 900)
    if since >= now - RETENTION[1]:
        parts: list[tuple[int, int | None]] = [(1, None)]
    elif since >= now - RETENTION[60]:
        parts = [(60, seam_1), (1, None)]
    else:
        parts = [(900, seam_60), (60, seam_1), (1, None)]
    segments = []
    lo = math.floor(since - parts[0][0]) + 1  # the first row whose bucket [t, t + res) reaches past since
    for res, end in parts:
        hi = math.floor(until) if end is None else min(end - 1, math.floor(until))
        if lo <= hi:
            segments.append((res, lo, hi))
        if end is not None:
            lo = max(lo, end)
    return segments


def _ranks(total: int) -> list[int]:
    """The nearest ranks of _PERCENTS among `total` samples, in integers: 95% of 100 samples is exactly 95."""
    return [max(1, -(-p * total // 100)) for p in _PERCENTS]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _values(r: Reading) -> tuple[Any, ...]:
    """A reading as a row's columns after (res, cid, t): mem_sum, mem_max, cpu_n, cpu_sum, cpu_max, rx_n, rx_sum,
    tx_n, tx_sum, pids_max. Network rates are whole bytes per second: integers sum exactly and store smaller."""
    cpu = _finite(r.cpu_percent)
    rx, tx = _finite(r.net_rx_bps), _finite(r.net_tx_bps)
    return (int(r.mem_bytes), int(r.mem_bytes), int(cpu is not None), cpu or 0.0, cpu,
            int(rx is not None), round(rx or 0), int(tx is not None), round(tx or 0), r.pids)


# Connections to a file that was moved aside, kept open on purpose: when SQLite closes the last connection
# to a WAL database it deletes NAME-wal and NAME-shm by name, which by then are the new database's.
_ABANDONED: list[sqlite3.Connection] = []


class _Guard:
    """A flock on NAME.lock: shared while this process has the database open, exclusive to move it aside, so
    a skid never moves the file from under another one (whose connections would then delete the new file's
    WAL, above). Without fcntl (Windows) or a lock file, there is no guard and moving aside is allowed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _file(self) -> int | None:
        if self._fd is None and fcntl is not None:
            with contextlib.suppress(OSError):
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        return self._fd

    def share(self) -> None:
        fd = self._file()
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while another skid moves the file aside: milliseconds
            except OSError:  # a file system without flock: no guard, rather than no history
                self.release()

    def exclusive(self) -> bool:
        """True: no other process has the database open (or there is no guard). False: the shared lock is
        released too, so the other process can move it aside."""
        fd = self._file()
        if fd is None:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)  # a failed conversion would drop the shared lock anyway (flock(2))
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError:
            return True
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class HistoryStore:
    """The SQLite history of one state dir. Nothing is opened until `open()` (or the first use).

    Callable from any thread. `write` and `prune` use a connection of the calling thread, kept open (in
    practice the recorder's thread); every other method opens a connection for the call and closes it.
    The only error a public method raises is `sqlite3.OperationalError` ("database is locked") from
    `write`, when another process held the lock past the busy timeout.
    """

    def __init__(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, clock: Callable[[], float] = time.time,
                 legacy_dir: Path | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.clock = clock
        self.legacy_dir = path.parent if legacy_dir is None else legacy_dir
        self._lock = threading.RLock()  # the state, the connections' registry, moving the file aside
        self._state: Literal["new", "ready", "off"] = "new"
        self._conns: dict[int, sqlite3.Connection] = {}  # by thread id: sqlite3 keeps each on its thread
        self._briefs = 0  # short-lived connections open now: the file is not moved aside under them
        self._identity: tuple[int, int] | None = None  # the file opened, to notice it removed or replaced
        self._guard = _Guard(path.with_name(path.name + ".lock"))

    @classmethod
    def default(cls, max_bytes: int = DEFAULT_MAX_BYTES) -> HistoryStore:
        return cls(statefile.state_dir() / FILE_NAME, max_bytes=max_bytes)

    # -- opening -------------------------------------------------------------------------------------------

    def open(self) -> bool:
        """Connect, create or check the schema, import the old JSON files once. False: no history for now,
        either for the rest of this run (the store said why, once) or, if another skid holds the database
        locked or open while it needs moving aside, until a later call tries again. Idempotent."""
        with self._lock:
            if self._state == "new":
                self._open_file(moved=False)
            return self._state == "ready"

    @property
    def working(self) -> bool:
        """False once the store gave up for this run: every method then does nothing."""
        return self._state != "off"

    def close(self) -> None:
        """Close this thread's connection (the one write and prune keep); the store opens again if used."""
        with self._lock:
            _close(self._conns.pop(threading.get_ident(), None))
            if not self._conns and self._state == "ready":
                self._state = "new"
                self._guard.release()

    def _open_file(self, *, moved: bool) -> None:
        """Open (with the lock held). After a move aside the guard is already exclusive."""
        refused = self._refusal()
        if refused:
            self._off(f"{self.path}: {refused}: left alone; skid keeps no history this run")
            return
        conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not moved:
                self._guard.share()
            conn = _connect(self.path, create=True)
            _prepare(conn)
            self._import_legacy(conn)
        except (sqlite3.Error, OSError, _NotHistory, _TooNew) as exc:
            if not moved and _is_corrupt(exc):
                self._start_afresh(exc, conn)
                return
            _close(conn)
            if _is_busy(exc):  # another skid is creating it or holds a long write: try again on the next call
                self._guard.release()
            elif moved:
                self._off(f"{self.path}: a new history could not be started ({_why(exc)}): "
                          "skid keeps no history this run")
            else:
                self._off(f"{self.path}: cannot use it ({_why(exc)}): left as it is; skid keeps no history this run")
            return
        self._guard.share()  # after a move aside: back from exclusive
        self._identity = _identity(self.path)
        # Closed: the threads that write keep their own (_connection), the others open one per call (_brief).
        conn.close()
        self._state = "ready"

    def _refusal(self) -> str | None:
        """Why the path cannot be the database, found without touching what is there (None: it can)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"cannot use it ({_why(exc)})"
        if stat.S_ISDIR(st.st_mode):
            return "a directory where skid keeps its history"
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file"
        return None

    def _start_afresh(self, exc: BaseException, conn: sqlite3.Connection | None) -> None:
        """Move the broken file aside and open a new one (with the lock held; `conn` is on the broken file)."""
        try:
            if self._briefs or not self._guard.exclusive():
                statefile.warn(f"{self.path}: could not be read ({_why(exc)}); it is in use, so skid leaves it "
                               "and tries again later")
                if not self._briefs:
                    self._guard.release()  # the other skid may then move it aside itself
                return
            try:
                aside = _move_aside(self.path)
            except OSError as move_error:
                self._off(f"{self.path}: could not be read ({_why(exc)}) nor moved aside ({_why(move_error)}): "
                          "left as it is; skid keeps no history this run")
                return
        finally:
            # Only now: closed before the move, SQLite may delete the WAL (it removes NAME-wal when the last
            # connection closes); after it, the WAL has gone aside too, and the new file has none yet.
            _close(conn)
        statefile.warn(f"{self.path}: could not be read ({_why(exc)}): moved aside as {aside.name}, "
                       "starting a new history")
        self._open_file(moved=True)

    def _off(self, message: str) -> None:
        statefile.warn(message)
        self._state = "off"
        self._guard.release()

    def _connection(self) -> sqlite3.Connection | None:
        """This thread's kept connection, for write and prune (None: no history now). Raises sqlite3.Error."""
        with self._lock:
            if self._state == "ready" and _identity(self.path) != self._identity:
                # Removed or replaced by someone else: a new database at the path, never writes to the old one.
                _ABANDONED.extend(self._conns.values())
                self._conns.clear()
                self._state = "new"
            if not self.open():
                if self._state == "new":  # locked, or in use while it needs moving aside: write keeps the batch
                    raise sqlite3.OperationalError("database is locked (the history could not be opened yet)")
                return None
            ident = threading.get_ident()
            conn = self._conns.get(ident)
            if conn is None:
                conn = self._conns[ident] = _connect_configured(self.path)
            return conn

    @contextlib.contextmanager
    def _brief(self) -> Iterator[sqlite3.Connection | None]:
        """A connection for one call, closed after it (None: no history now)."""
        with self._lock:
            ready = self.open()
            self._briefs += ready
        if not ready:
            yield None
            return
        try:
            conn = _connect_configured(self.path)
            try:
                yield conn
            finally:
                conn.close()
        finally:
            with self._lock:
                self._briefs -= 1

    def _recover(self, exc: BaseException, conn: sqlite3.Connection) -> bool:
        """`conn` found the file broken: move it aside and start afresh. True: try again."""
        with self._lock:
            ident = threading.get_ident()
            if self._conns.get(ident) is not conn:  # another thread already replaced the file
                return self.open()
            del self._conns[ident]
            _ABANDONED.extend(self._conns.values())  # other threads': on the old file, never to be closed
            self._conns.clear()
            self._state = "new"
            self._start_afresh(exc, conn)
            return self._state == "ready"

    def _import_legacy(self, conn: sqlite3.Connection) -> None:
        """peaks.json and active-profile.json, once per database; the files are read, never written."""
        if conn.execute("SELECT 1 FROM meta WHERE key = 'legacy_import'").fetchone():
            return
        peaks = statefile.load(self.legacy_dir / "peaks.json", valid_peaks, holds="projects").data
        profiles = statefile.load(self.legacy_dir / "active-profile.json", valid_profiles,
                                  holds="projects to profile names").data
        with _transaction(conn):
            if conn.execute("SELECT 1 FROM meta WHERE key = 'legacy_import'").fetchone():
                return  # another process imported them meanwhile
            for project, services in peaks.items():
                for service, entry in services.items():
                    _upsert_peak(conn, project, service, entry["peak_mem_bytes"], entry["at"])
            conn.executemany("INSERT INTO profiles (project, profile) VALUES (?, ?) ON CONFLICT DO NOTHING",
                             profiles.items())
            conn.execute("INSERT INTO meta (key, value) VALUES ('legacy_import', ?)", (str(time.time()),))

    # -- error handling ------------------------------------------------------------------------------------

    def _writing(self, action: Callable[[sqlite3.Connection], T], default: T, busy: Busy) -> T:
        """action(this thread's connection); a broken file replaced (once), other problems a warning."""
        for attempt in (1, 2):
            conn: sqlite3.Connection | None = None
            try:
                conn = self._connection()
                return default if conn is None else action(conn)
            except sqlite3.Error as exc:
                if _is_busy(exc):
                    if busy == "raise":
                        raise
                    return default
                if _is_corrupt(exc) and conn is not None:
                    if attempt == 1 and self._recover(exc, conn):
                        continue
                    return default  # _recover said what happened
                if self.working:
                    statefile.warn(f"{self.path}: history not saved ({_why(exc)})")
                return default
        return default

    def _briefly(self, action: Callable[[sqlite3.Connection], T], default: T, failed: str = "could not be read") -> T:
        """action(a connection for this call); a problem is a warning and `default`, never an error."""
        try:
            with self._brief() as conn:
                return default if conn is None else action(conn)
        except sqlite3.Error as exc:
            statefile.warn(f"{self.path}: history {failed} ({_why(exc)})")
            return default

    # -- writing -------------------------------------------------------------------------------------------

    def write(self, readings: Iterable[Reading], marks: Iterable[Mark] = ()) -> int:
        """Record readings and marks in one transaction; the number of new 1 s rows (a second already recorded
        for that container, by this process or another, adds nothing). Raises sqlite3.OperationalError if
        the database stayed locked past the busy timeout: the caller keeps the batch and tries again."""
        readings = [r for r in readings if math.isfinite(r.at)]
        marks = list(marks)
        if not readings and not marks:
            return 0
        return self._writing(lambda conn: _write(conn, readings, marks), 0, busy="raise")

    def prune(self, now: float | None = None) -> None:
        """Delete rows past their resolution's retention and marks past a year, then keep the file within
        max_bytes. Cheap when there is little to delete: meant to run every minute."""
        at = self.clock() if now is None else now
        self._writing(lambda conn: self._prune(conn, at), None, busy="skip")  # locked: the next prune does it

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        with _transaction(conn):
            orphans = False
            for res in RESOLUTIONS:
                deleted = conn.execute("DELETE FROM samples WHERE res = ? AND t < ?", (res, now - RETENTION[res]))
                orphans = orphans or (res == 900 and deleted.rowcount > 0)
            conn.execute("DELETE FROM marks WHERE at < ?", (now - MARK_RETENTION,))
            if orphans:
                conn.execute(_DELETE_ORPHANS)
        _vacuum(conn)
        self._enforce_bound(conn)

    def _enforce_bound(self, conn: sqlite3.Connection) -> None:
        """Over max_bytes: delete the oldest rows of every resolution up to one cut time, so the history gets
        shorter rather than patchy (the oldest rows are 15-minute rollups, then 1-minute ones)."""
        size = _size(conn)
        if size <= self.max_bytes:
            return
        target = self.max_bytes * BOUND_TARGET
        for _ in range(10):  # the estimate is per average row: usually once, a few times for a tiny bound
            rows = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
            if not rows:
                break
            excess = min(rows, max(1, math.ceil((size - target) * rows / size)))
            (cut,) = conn.execute(_KTH_OLDEST, (excess - 1,)).fetchone()
            with _transaction(conn):
                for res in RESOLUTIONS:
                    conn.execute("DELETE FROM samples WHERE res = ? AND t <= ?", (res, cut))
                conn.execute(_DELETE_ORPHANS)
            _vacuum(conn)
            size = _size(conn)
            if size <= target:
                break
        # The main file shrinks when the WAL is copied back into it; PASSIVE never waits for readers.
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def observe_peaks(self, project: str, peaks: Mapping[str, tuple[int, float]]) -> None:
        """service -> (bytes, at): each kept if higher than the recorded peak (in any process)."""
        def upsert(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                for service, (peak, at) in peaks.items():
                    _upsert_peak(conn, project, service, peak, at)
        if peaks:
            self._briefly(upsert, None, "not saved")

    def set_profile(self, project: str, profile: str) -> None:
        def upsert(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute("INSERT INTO profiles (project, profile) VALUES (?, ?)"
                             " ON CONFLICT (project) DO UPDATE SET profile = excluded.profile", (project, profile))
        self._briefly(upsert, None, "not saved")

    # -- reading -------------------------------------------------------------------------------------------

    def size_bytes(self) -> int:
        """The database's size: its pages (the main file's size once the WAL is checkpointed)."""
        return self._briefly(_size, 0)

    def recorded_peaks(self, project: str) -> dict[str, int]:
        return self._briefly(lambda conn: dict(conn.execute(
            "SELECT service, peak_mem_bytes FROM peaks WHERE project = ?", (project,))), {})

    def profile(self, project: str) -> str | None:
        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT profile FROM profiles WHERE project = ?", (project,)).fetchone()
            return row[0] if row else None
        return self._briefly(read, None)

    def services(self, project: str) -> list[str]:
        """The project's services with samples or marks, sorted."""
        return self._briefly(lambda conn: [s for (s,) in conn.execute(
            "SELECT service FROM containers WHERE project = ? UNION SELECT service FROM marks WHERE project = ?"
            " ORDER BY 1", (project, project))], [])

    def marks(self, project: str, service: str, since: float, until: float | None = None) -> list[Mark]:
        end = self.clock() if until is None else until
        return self._briefly(lambda conn: _marks(conn, project, service, since, end), [])

    def summary(self, project: str, service: str, since: float, until: float | None = None) -> Summary:
        """Percentiles, maxima, OOM kills and restarts over [since, until], every container of the service
        pooled (replicas, and the containers before a recreate). Memory percentiles are per container.

        Restarts are start marks that are not their container's first recorded start.
        """
        now = self.clock()
        end = now if until is None else until
        empty = Summary(project, service, since, end, 0, None, None, None, None, None, None, None, None, 0, 0,
                        None, None)

        def read(conn: sqlite3.Connection) -> Summary:
            segments = _segments(since, end, now)
            params = [x for res, lo, hi in segments for x in (res, project, service, lo, hi)]

            def union(columns: str) -> str:
                return " UNION ALL ".join(_SERVICE_SEGMENT.format(columns) for _ in segments)

            oom, restarts = conn.execute(_MARK_COUNTS, (project, service, since, end)).fetchone()
            samples, cpu_samples, mem_max, cpu_max, first, last = conn.execute(
                "SELECT sum(n), sum(cpu_n), max(mem_max), max(cpu_max), min(t), max(t)"
                f" FROM ({union('n, cpu_n, mem_max, cpu_max, t')})", params).fetchone() if segments else (None,) * 6
            if not samples:
                return dataclasses.replace(empty, oom_kills=oom, restarts=restarts)
            mem = conn.execute(_PERCENTILES.format(rows=union("mem_sum * 1.0 / n, n")),
                               [*params, *_ranks(samples)]).fetchone()
            cpu = conn.execute(_PERCENTILES.format(rows=union("cpu_sum / cpu_n, cpu_n").replace(
                "t BETWEEN ? AND ?", "t BETWEEN ? AND ? AND cpu_n > 0")), [*params, *_ranks(cpu_samples)]).fetchone()
            return Summary(
                project, service, since, end, samples=samples,
                mem_p50=_whole(mem[0]), mem_p95=_whole(mem[1]), mem_p99=_whole(mem[2]), mem_max=mem_max,
                cpu_p50=cpu[0], cpu_p95=cpu[1], cpu_p99=cpu[2], cpu_max=cpu_max,
                oom_kills=oom, restarts=restarts,
                # To the row's resolution: a rollup knows its bucket, not its first and last second.
                first_at=float(max(since, first)), last_at=float(min(end, last)),
            )

        return self._briefly(read, empty)

    def series(self, project: str, service: str, since: float, until: float | None = None,
               points: int = 120) -> Series:
        """The service over [since, until] in at most `points` equal steps (never finer than the rows), read
        at the finest resolution kept for `since`; steps without samples are left out."""
        now = self.clock()
        end = now if until is None else until
        res = 1 if since >= now - RETENTION[1] else 60 if since >= now - RETENTION[60] else 900
        points = max(1, points)
        step = max((end - since) / points, float(res))
        empty = Series(project, service, since, end, step, res, (), ())

        def read(conn: sqlite3.Connection) -> Series:
            lo, hi = math.floor(since - res) + 1, math.floor(end)
            drawn = tuple(
                Point(since + i * step, mem / n, int(mem_max), cpu / cpu_n if cpu_n else None, cpu_max, n)
                for i, n, mem, mem_max, cpu_n, cpu, cpu_max in conn.execute(
                    _SERIES_STEPS, (points - 1, since, step, res, project, service, lo, hi)))
            return Series(project, service, since, end, step, res, drawn,
                          tuple(_marks(conn, project, service, since, end)))

        return self._briefly(read, empty) if end >= since else empty

    def export_rows(self, project: str, since: float, until: float | None = None) -> Iterator[dict[str, Any]]:
        """Every container's rows over the range at the finest resolution kept (as `summary` reads them),
        ordered by time then service."""
        now = self.clock()
        end = now if until is None else until
        try:
            with self._brief() as conn:
                if conn is None:
                    return
                yield from _export(conn, project, _segments(since, end, now))
        except sqlite3.Error as exc:
            statefile.warn(f"{self.path}: history could not be read ({_why(exc)})")


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def _export(conn: sqlite3.Connection, project: str, segments: list[tuple[int, int, int]]) -> Iterator[dict[str, Any]]:
    for res, lo, hi in segments:
        for (t, row_res, service, container, n, mem, mem_max, cpu_n, cpu, cpu_max,
             rx_n, rx, tx_n, tx, pids) in conn.execute(_EXPORT_ROWS, (project, res, lo, hi)):
            yield {"time": t, "resolution": row_res, "service": service, "container": container,
                   "samples": n, "mem_avg": mem / n, "mem_max": mem_max,
                   "cpu_avg": cpu / cpu_n if cpu_n else None, "cpu_max": cpu_max,
                   "net_rx_bps": rx / rx_n if rx_n else None, "net_tx_bps": tx / tx_n if tx_n else None,
                   "pids_max": pids}


def _size(conn: sqlite3.Connection) -> int:
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    return int(pages) * int(page_size)


def _upsert_peak(conn: sqlite3.Connection, project: str, service: str, peak: int, at: float) -> None:
    conn.execute("INSERT INTO peaks (project, service, peak_mem_bytes, at) VALUES (?, ?, ?, ?)"
                 " ON CONFLICT (project, service) DO UPDATE SET peak_mem_bytes = excluded.peak_mem_bytes,"
                 " at = excluded.at WHERE excluded.peak_mem_bytes > peaks.peak_mem_bytes",
                 (project, service, int(peak), float(at)))


def _marks(conn: sqlite3.Connection, project: str, service: str, since: float, until: float) -> list[Mark]:
    return [Mark(*row) for row in conn.execute(
        "SELECT project, service, container, at, kind, key FROM marks"
        " WHERE project = ? AND service = ? AND at BETWEEN ? AND ? ORDER BY at, container, kind, key",
        (project, service, since, until))]


def _write(conn: sqlite3.Connection, readings: list[Reading], marks: list[Mark]) -> int:
    inserted = 0
    # The rollups of the seconds actually inserted, summed here: one upsert per bucket per batch, not two per
    # reading (the write's cost is its statements; a 5 s batch of 50 containers has 250 readings, 100 buckets).
    rollups: dict[tuple[int, int, int], list[Any]] = {}
    with _transaction(conn):
        ids: dict[tuple[str, str, str], int] = {}  # per transaction: a prune elsewhere may delete a container
        for r in readings:
            key = (r.project, r.service, r.container)
            cid = ids.get(key)
            if cid is None:
                cid = ids[key] = _container_id(conn, key)
            t = math.floor(r.at)
            values = _values(r)
            if conn.execute(_INSERT_SECOND, (cid, t, *values)).rowcount == 1:
                inserted += 1
                for res in (60, 900):
                    bucket = (res, cid, t - t % res)
                    acc = rollups.get(bucket)
                    if acc is None:
                        rollups[bucket] = [1, *values]
                    else:
                        _accumulate(acc, values)
        conn.executemany(_UPSERT_ROLLUP, [(*bucket, *acc) for bucket, acc in rollups.items()])
        conn.executemany("INSERT INTO marks (project, service, container, at, kind, key) VALUES (?, ?, ?, ?, ?, ?)"
                         " ON CONFLICT DO NOTHING",
                         [(m.project, m.service, m.container, m.at, m.kind, m.key) for m in marks])
    return inserted


def _accumulate(acc: list[Any], values: tuple[Any, ...]) -> None:
    """Add one reading's columns (as _values gives them) to a rollup's [n, *columns]: sums add, maxima max."""
    mem_sum, mem_max, cpu_n, cpu_sum, cpu_max, rx_n, rx_sum, tx_n, tx_sum, pids_max = values
    acc[0] += 1
    acc[1] += mem_sum
    acc[2] = max(acc[2], mem_max)
    acc[3] += cpu_n
    acc[4] += cpu_sum
    acc[5] = cpu_max if acc[5] is None else acc[5] if cpu_max is None else max(acc[5], cpu_max)
    acc[6] += rx_n
    acc[7] += rx_sum
    acc[8] += tx_n
    acc[9] += tx_sum
    acc[10] = pids_max if acc[10] is None else acc[10] if pids_max is None else max(acc[10], pids_max)


def _container_id(conn: sqlite3.Connection, key: tuple[str, str, str]) -> int:
    row = conn.execute("SELECT id FROM containers WHERE project = ? AND service = ? AND container = ?", key).fetchone()
    if row:
        return int(row[0])
    cursor = conn.execute("INSERT INTO containers (project, service, container) VALUES (?, ?, ?)", key)
    return int(cursor.lastrowid or 0)


class HistoryRecorder:
    """Writes on its own thread so the dashboard's event loop never waits for SQLite."""

    def __init__(self, store: HistoryStore, flush_every: float = 5.0, prune_every: float = 60.0) -> None:
        self.store = store
        self.flush_every = flush_every
        self.prune_every = prune_every
        self._queue: queue.SimpleQueue[Reading | Mark] = queue.SimpleQueue()
        self._readings: list[Reading] = []  # taken from the queue, not yet written (held while locked)
        self._marks: list[Mark] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread: it opens the store, then writes every flush_every s and prunes every prune_every s."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="skid-history", daemon=True)
            self._thread.start()

    def add(self, reading: Reading) -> None:
        """Queue a reading (a put: cheap, from any thread)."""
        if not self._stopping.is_set():  # after stop nothing would write it: do not let the queue grow
            self._queue.put(reading)

    def mark(self, mark: Mark) -> None:
        if not self._stopping.is_set():
            self._queue.put(mark)

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued and close the store (waits at most `timeout` s for the thread)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        else:  # never started: the caller's thread writes what was queued
            self._flush()
            self.store.close()

    def _run(self) -> None:
        try:
            self.store.open()
            next_prune = time.monotonic()  # at once: a skid that did not run for days finds stale rows
            while True:
                stopping = self._stopping.wait(self.flush_every)
                self._flush()
                if not stopping and time.monotonic() >= next_prune:
                    self.store.prune()
                    next_prune = time.monotonic() + self.prune_every
                if stopping:
                    break
        except Exception as exc:  # a bug here must cost the history, not the dashboard: said, not raised
            statefile.warn(f"{self.store.path}: history stopped ({type(exc).__name__}: {exc})")
        finally:
            self.store.close()

    def _flush(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Mark):
                self._marks.append(item)
            else:
                self._readings.append(item)
        if not self._readings and not self._marks:
            return
        try:
            self.store.write(self._readings, self._marks)
        except sqlite3.OperationalError:  # locked past the busy timeout: held for the next flush
            self._hold()
            return
        self._readings, self._marks = [], []

    def _hold(self) -> None:
        """Keep at most the last KEEP_WHEN_LOCKED seconds (and MAX_HELD readings) while the lock lasts."""
        if self._readings:
            newest = max(r.at for r in self._readings)
            self._readings = [r for r in self._readings if r.at >= newest - KEEP_WHEN_LOCKED][-MAX_HELD:]
