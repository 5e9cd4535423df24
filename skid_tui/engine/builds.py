"""Image builds through the Engine API's build endpoint, streamed step by step, cancellable.

A service with a compose `build:` section is built as `docker compose build` would build it: its
context (honouring `.dockerignore` as the docker CLI does), Dockerfile, args and target, tagged with
the name compose gives the image (`image:`, else `<project>-<service>`). The engine's stream is JSON
chunks whose text is cut anywhere (`Step 2/5 : RUN ...` and its newline often arrive apart), so lines
are reassembled before they are classified: a step (i of n), a cache hit, a warning, an error, or
plain output. Everything here blocks; the dashboard runs it in a thread, several at once if it likes.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import docker.errors
import urllib3.exceptions

from skid_tui.engine import dockerapi
from skid_tui.engine.client import ENGINE_ERRORS, Engine, describe_error
from skid_tui.stack.model import BuildSpec, Stack
from skid_tui.stack.sizes import format_bytes

EVENT_KINDS = ("step", "cache", "output", "warning", "error")
# Docker's legacy builder writes `Step 2/5 : RUN ...` and ` ---> Using cache`; Podman's compatible API
# (Buildah) `STEP 2/5: RUN ...` and `--> Using cache <id>`.
_STEP = re.compile(r"^(?:Step|STEP) (\d+)/(\d+) ?: (.*)$", re.DOTALL)
_CACHE = re.compile(r"^\s*-{2,3}> Using cache\b")
_BUILT = re.compile(r"^Successfully built ([0-9a-f]{12,64})\s*$")
_WARNING = re.compile(
    r"^\s*(?:\[warn(?:ing)?\]|warn(?:ing)?:|npm warn\b|security warning\b|\w+: warning:)", re.IGNORECASE
)
_RESET = "\x1b[0m"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_URL_CONTEXT = re.compile(r"^(?:[a-z][a-z0-9+.-]*:/|git@)")
SPOOL_BYTES = 32 * 1024**2  # contexts up to this size stay in memory; larger ones spill to a temp file


@dataclass(frozen=True)
class BuildEvent:
    """One line of a build, classified.

    kind: "step" (text is the instruction, e.g. `RUN npm ci`; step/steps say i of n), "cache" (the
    current step was a cache hit), "output" (anything else the build printed), "warning", "error" (the
    engine's error message, which ends the build). step/steps are the current step where known.
    Output text may carry ANSI colours (the engine shows a RUN's stderr in red): Text.from_ansi.
    """

    kind: str
    text: str
    step: int | None = None
    steps: int | None = None


@dataclass(frozen=True)
class BuildResult:
    """How a build ended. failing_step is the instruction that failed (`RUN exit 3`), when one did;
    failing_step_number its number (of `steps`)."""

    service: str
    tag: str
    ok: bool
    seconds: float
    image_id: str | None
    size_bytes: int | None
    error: str
    failing_step: str | None
    cancelled: bool = False
    cache_hits: int = 0
    steps: int = 0
    failing_step_number: int | None = None


def buildable_services(stack: Stack) -> list[str]:
    """Services with a `build:` section, in compose file order."""
    return [name for name, spec in stack.services.items() if spec.build is not None]


def image_tag(stack: Stack, service: str) -> str:
    """The image name compose gives a service's build: its `image:`, else `<project>-<service>` (Compose
    v2), with `:latest` when no tag is written."""
    spec = stack.services.get(service)
    if spec is None:
        raise ValueError(f"unknown service '{service}'")
    name = spec.image or f"{stack.project}-{service}"
    if "@" in name or ":" in name.rsplit("/", 1)[-1]:
        return name
    return f"{name}:latest"


# -- .dockerignore -------------------------------------------------------------------------------------


class ContextError(Exception):
    """The build context cannot be sent: a missing directory, an unreadable file, a bad pattern."""


def read_dockerignore(text: str) -> list[str]:
    """Patterns of a .dockerignore file, normalised as the docker CLI does: `#` comments, blank lines
    dropped, surrounding spaces trimmed, paths cleaned, a leading `/` removed, `!` kept in front."""
    patterns: list[str] = []
    for raw in text.removeprefix("\ufeff").splitlines():
        if raw.startswith("#"):
            continue
        pattern = raw.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = _clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append(("!" if invert else "") + pattern)
    return patterns


def _clean(path: str) -> str:
    """Go's filepath.Clean for slash paths ("//a/./b/../c" -> "/a/c", "" -> ".")."""
    cleaned = posixpath.normpath(path.replace("\\", "/") if os.sep == "\\" else path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


@dataclass(frozen=True)
class _Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]


def _compile(pattern: str) -> re.Pattern[str]:
    """moby's patternmatcher: `**` spans directories, `*` and `?` stay inside one, `\\` escapes."""
    out = "^"
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out += ".*" if i >= n else "(.*/)?"
                continue
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\":
            if i + 1 < n:
                out += re.escape(pattern[i + 1])
                i += 2
                continue
            out += re.escape("\\")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ContextError(f"bad .dockerignore pattern '{pattern}': unclosed '['")
            body = pattern[i + 1 : end]
            if body.startswith("^"):
                body = "^" + body[1:].replace("\\", "\\\\")
            else:
                body = body.replace("\\", "\\\\").replace("^", "\\^")
            out += f"[{body}]"
            i = end + 1
            continue
        else:
            out += re.escape(ch)
        i += 1
    try:
        return re.compile(out + "$", re.DOTALL)
    except re.error as exc:
        raise ContextError(f"bad .dockerignore pattern '{pattern}': {exc}") from None


class IgnoreMatcher:
    """Whether a context path is excluded: the last pattern that matches it (or one of its parent
    directories) decides, as in the docker CLI (`!pattern` re-includes)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            exclusion = text.startswith("!")
            if exclusion:
                text = text[1:]
                if not text:
                    raise ContextError('illegal exclusion pattern: "!"')
            text = _clean(text)
            self.patterns.append(_Pattern(text, exclusion, _compile(text)))

    @property
    def has_exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excluded(self, path: str) -> bool:
        matched = False
        parent = posixpath.dirname(path)
        parent_dirs = parent.split("/") if parent else []
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue  # an exclusion only matters once matched, an inclusion only before
            match = bool(pattern.regex.match(path))
            if not match and parent:
                # any parent directory that matches takes its contents with it (moby's MatchesOrParentMatches)
                match = any(pattern.regex.match("/".join(parent_dirs[: i + 1])) for i in range(len(parent_dirs)))
            if match:
                matched = not pattern.exclusion
        return matched

    def may_include_under(self, directory: str) -> bool:
        """Whether an exception (`!dir/file`) may re-include something inside an excluded directory."""
        prefix = directory + "/"
        return any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)


@dataclass
class ContextInfo:
    """What was sent: the Dockerfile's name inside the context, counts and size of the tar."""

    dockerfile: str
    files: int = 0
    excluded: int = 0
    size: int = 0
    ignore_file: str | None = None
    excluded_paths: list[str] = field(default_factory=list)


def context_files(root: Path, patterns: list[str], always: Iterable[str] = ()) -> Iterator[tuple[str, bool]]:
    """Every path of a context (relative, `/`-separated, parents before children) with whether it is
    sent. `always` (the Dockerfile, .dockerignore) are sent whatever the patterns say, as the CLI does."""
    keep = list(always)
    matcher = IgnoreMatcher(patterns)
    extra = [f"!{k}" for k in keep if matcher.excluded(k)]
    if extra:
        matcher = IgnoreMatcher([*patterns, *extra])

    def walk(directory: Path, rel: str) -> Iterator[tuple[str, bool]]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise ContextError(f"cannot read {directory}: {exc.strerror or exc}") from None
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if matcher.excluded(path):
                yield path, False
                if is_dir and matcher.may_include_under(path):
                    yield from walk(Path(entry.path), path)
                continue
            yield path, True
            if is_dir:
                yield from walk(Path(entry.path), path)

    yield from walk(root, "")


def write_context(
    root: Path,
    dockerfile: Path,
    fileobj: IO[bytes],
    *,
    gzip: bool = False,
    cancel: threading.Event | None = None,
) -> ContextInfo:
    """Tar the build context into fileobj, honouring `<Dockerfile>.dockerignore` (BuildKit's per-file
    ignore) or else `.dockerignore`. A Dockerfile outside the context is added under a private name."""
    root = root.resolve()
    if not root.is_dir():
        raise ContextError(f"build context {root} is not a directory")
    dockerfile = dockerfile if dockerfile.is_absolute() else root / dockerfile
    if not dockerfile.is_file():
        raise ContextError(f"no Dockerfile at {dockerfile}")
    specific = Path(f"{dockerfile}.dockerignore")
    ignore = specific if specific.is_file() else root / ".dockerignore"
    patterns: list[str] = []
    if ignore.is_file():
        try:
            patterns = read_dockerignore(ignore.read_text(encoding="utf-8", errors="replace"))
        except OSError as exc:
            raise ContextError(f"cannot read {ignore}: {exc.strerror or exc}") from None
    try:
        inside = dockerfile.resolve().relative_to(root).as_posix()
    except ValueError:
        inside = None
    info = ContextInfo(dockerfile=inside or f".dockerfile.{secrets.token_hex(6)}",
                       ignore_file=str(ignore) if ignore.is_file() else None)
    always = [".dockerignore", *([inside] if inside else [])]
    with tarfile.open(fileobj=fileobj, mode="w:gz" if gzip else "w", format=tarfile.PAX_FORMAT) as tar:
        for rel, sent in context_files(root, patterns, always):
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            if not sent:
                info.excluded += 1
                info.excluded_paths.append(rel)
                continue
            full = root / rel
            try:
                member = tar.gettarinfo(str(full), arcname=rel)
            except OSError as exc:
                raise ContextError(f"cannot read {rel} in the build context: {exc.strerror or exc}") from None
            if member is None:  # a socket: nothing to send
                continue
            _normalise(member)
            if member.isreg():
                try:
                    with open(full, "rb") as f:
                        tar.addfile(member, f)
                except OSError as exc:
                    raise ContextError(f"cannot read {rel} in the build context: {exc.strerror or exc}") from None
                info.size += member.size
            else:
                tar.addfile(member)
            if not member.isdir():
                info.files += 1
        if inside is None:
            data = dockerfile.read_bytes()
            member = tarfile.TarInfo(info.dockerfile)
            member.size, member.mode, member.mtime = len(data), 0o644, int(time.time())
            with tempfile.SpooledTemporaryFile() as f:
                f.write(data)
                f.seek(0)
                tar.addfile(member, f)
            info.files += 1
            info.size += len(data)
    return info


def _normalise(member: tarfile.TarInfo) -> None:
    """Owned by root, as the docker CLI sends them (the engine would otherwise copy the host's ids)."""
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    if member.mtime < 0 or member.mtime > 8**11 - 1:
        member.mtime = int(max(0, min(member.mtime, 8**11 - 1)))


class _Cancelled(Exception):
    pass


class _CancellableReader:
    """The context as the request body: reading stops (and the upload aborts) once cancel is set."""

    def __init__(self, f: IO[bytes], cancel: threading.Event) -> None:
        self.f = f
        self.cancel = cancel

    def read(self, size: int = -1) -> bytes:
        if self.cancel.is_set():
            raise _Cancelled
        return self.f.read(size)

    def __len__(self) -> int:
        position = self.f.tell()
        end = self.f.seek(0, os.SEEK_END)
        self.f.seek(position)
        return end - position


# -- the build stream ----------------------------------------------------------------------------------


class BuildStream:
    """Reassembles the engine's build chunks into lines and classifies them.

    feed() takes each decoded JSON chunk; close() flushes a last line that had no newline. The state
    (current step, cache hits, the error and the step it failed at, the image id) is read afterwards.
    """

    def __init__(self, on_event: Callable[[BuildEvent], None]) -> None:
        self.on_event = on_event
        self.buffer = ""
        self.step: int | None = None
        self.steps: int | None = None
        self.step_text: str | None = None
        self.cache_hits = 0
        self.warnings = 0
        self.image_id: str | None = None
        self.error = ""
        self.failing_step: str | None = None
        self.failing_step_number: int | None = None
        self._pulled: dict[str, str] = {}

    def feed(self, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            return
        if isinstance(chunk.get("stream"), str):
            self._text(chunk["stream"])
        if "status" in chunk:
            self._status(chunk)
        aux = chunk.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            self.image_id = aux["ID"]
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail") or {}
            message = str(chunk.get("error") or detail.get("message") or "the build failed").strip()
            self._flush()
            self.error = message
            if self.step_text is not None:
                self.failing_step, self.failing_step_number = self.step_text, self.step
            self._emit("error", message)

    def close(self) -> None:
        self._flush()

    def _text(self, text: str) -> None:
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            self._line(line)

    def _flush(self) -> None:
        if self.buffer:
            line, self.buffer = self.buffer, ""
            self._line(line)

    def _line(self, raw: str) -> None:
        # A terminal would show what follows the last carriage return (progress bars redraw with \r).
        parts = [p for p in raw.split("\r") if p.strip()]
        line = parts[-1] if parts else raw.replace("\r", "")
        # The engine wraps a RUN's stderr in red (`\x1b[91m...\n\x1b[0m`): the reset lands at the start
        # of the next line, where it only gets in the way.
        line = line.removeprefix(_RESET)
        plain = _ANSI.sub("", line)  # the engine colours a RUN's stderr; classify the text without it
        step = _STEP.match(line)
        if step:
            self.step, self.steps = int(step.group(1)), int(step.group(2))
            self.step_text = step.group(3).strip()
            self._emit("step", self.step_text)
            return
        if _CACHE.match(plain):
            self.cache_hits += 1
            self._emit("cache", "Using cache")
            return
        built = _BUILT.match(plain)
        if built and self.image_id is None:
            self.image_id = built.group(1)
        if _WARNING.match(plain):
            self.warnings += 1
            self._emit("warning", line)
            return
        self._emit("output", line)

    def _status(self, chunk: dict[str, Any]) -> None:
        """Pull progress while FROM fetches a base image: one line per layer state, not every tick."""
        status = str(chunk.get("status") or "")
        ident = str(chunk.get("id") or "")
        progress = chunk.get("progressDetail") or {}
        if progress.get("current") is not None and progress.get("total"):
            return
        if ident and self._pulled.get(ident) == status:
            return
        if ident:
            self._pulled[ident] = status
        self._flush()
        self._emit("output", f"{ident}: {status}" if ident else status)

    def _emit(self, kind: str, text: str) -> None:
        self.on_event(BuildEvent(kind, text, self.step, self.steps))


# -- the build -----------------------------------------------------------------------------------------


def build_service(
    engine: Engine,
    stack: Stack,
    service: str,
    on_event: Callable[[BuildEvent], None],
    cancel: threading.Event,
) -> BuildResult:
    """Build one service's image and tag it as compose would; on_event gets every line as it comes.

    Blocks until the build ends, fails or is cancelled (set `cancel` from another thread: the
    connection is closed, and the engine stops the build). Only a service that is unknown or has no
    `build:` raises (ValueError); every other failure is in the result.
    """
    spec = stack.services.get(service)
    if spec is None:
        raise ValueError(f"unknown service '{service}'")
    if spec.build is None:
        raise ValueError(f"service '{service}' has no build: section")
    tag = image_tag(stack, service)
    started = time.monotonic()

    def result(stream: BuildStream | None = None, **kwargs: Any) -> BuildResult:
        values: dict[str, Any] = {
            "service": service, "tag": tag, "ok": False, "seconds": time.monotonic() - started,
            "image_id": None, "size_bytes": None, "error": "", "failing_step": None,
        }  # fmt: skip
        if stream is not None:
            values.update(cache_hits=stream.cache_hits, steps=stream.steps or 0,
                          failing_step=stream.failing_step, failing_step_number=stream.failing_step_number)
        values.update(kwargs)
        return BuildResult(**values)

    if _URL_CONTEXT.match(str(spec.build.context)):
        return result(error=f"remote build contexts are not supported by skid: {spec.build.context}")
    if cancel.is_set():
        return result(error="cancelled", cancelled=True)
    # The engine reads the context from a socket on this machine: compressing it would only cost CPU.
    gzip = engine.info.candidate.socket_path is None
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as body:
        try:
            info = write_context(spec.build.context, Path(spec.build.dockerfile), body, gzip=gzip, cancel=cancel)
        except ContextError as exc:
            on_event(BuildEvent("error", str(exc)))
            return result(error=str(exc))
        except _Cancelled:
            return result(error="cancelled", cancelled=True)
        sent = body.tell()
        body.seek(0)
        ignored = f", {info.excluded} excluded by {Path(info.ignore_file).name}" if info.excluded else ""
        on_event(BuildEvent("output", f"Sending build context: {info.files} files, {format_bytes(sent)}{ignored}"))
        stream = BuildStream(on_event)
        try:
            reader = _CancellableReader(body, cancel)
            response = _post_build(engine, spec.build, info.dockerfile, tag, reader, gzip=gzip)
        except _Cancelled:
            return result(error="cancelled", cancelled=True)
        except docker.errors.APIError as exc:
            message = _api_message(exc)
            on_event(BuildEvent("error", message))
            return result(error=message)
        except ENGINE_ERRORS as exc:
            if cancel.is_set():
                return result(error="cancelled", cancelled=True)
            message = f"the engine failed: {describe_error(exc)}"
            on_event(BuildEvent("error", message))
            return result(error=message)

        done = threading.Event()
        watcher = threading.Thread(target=_close_on_cancel, args=(response, cancel, done), daemon=True,
                                   name=f"build-cancel-{service}")
        watcher.start()
        try:
            for chunk in dockerapi.json_stream(engine.api, response):
                stream.feed(chunk)
            stream.close()
        except docker.errors.APIError as exc:
            if not cancel.is_set():
                stream.close()
                message = _api_message(exc)
                on_event(BuildEvent("error", message))
                return result(stream, error=message)
        except (*ENGINE_ERRORS, urllib3.exceptions.HTTPError, ValueError) as exc:  # a cut connection
            if not cancel.is_set():
                stream.close()
                message = f"the engine stopped answering mid-build: {describe_error(exc)}"
                on_event(BuildEvent("error", message))
                return result(stream, error=message)
        finally:
            done.set()
            dockerapi.close_stream(response)
    if cancel.is_set():
        return result(stream, error="cancelled", cancelled=True)
    if stream.error:
        return result(stream, error=stream.error)
    try:
        image = engine.api.inspect_image(tag)
    except docker.errors.ImageNotFound:
        message = "the engine ended the build without tagging an image"
        on_event(BuildEvent("error", message))
        return result(stream, error=message)
    except ENGINE_ERRORS as exc:
        return result(stream, ok=True, image_id=stream.image_id,
                      error=f"built, but the image could not be inspected: {describe_error(exc)}")
    return result(stream, ok=True, image_id=str(image.get("Id") or stream.image_id),
                  size_bytes=int(image.get("Size") or 0))


def _post_build(
    engine: Engine, build: BuildSpec, dockerfile: str, tag: str, body: _CancellableReader, *, gzip: bool
) -> Any:
    """POST /build as docker-py's APIClient.build does, but keeping the response so it can be closed."""
    params: dict[str, Any] = {
        "t": tag,
        "dockerfile": dockerfile,
        "rm": True,
        "forcerm": True,  # a failed step's container goes too
        "q": False,
        "nocache": False,
        "pull": False,
    }
    if build.args:
        params["buildargs"] = json.dumps(build.args)
    if build.target:
        params["target"] = build.target
    headers = {"Content-Type": "application/x-tar"}
    if gzip:
        headers["Content-Encoding"] = "gzip"
    dockerapi.add_registry_auth(engine.api, headers)
    return dockerapi.open_stream(engine.api, "POST", "/build", data=body, params=params, headers=headers)


def _close_on_cancel(response: Any, cancel: threading.Event, done: threading.Event) -> None:
    while not done.is_set():
        if cancel.wait(0.1):
            dockerapi.close_stream(response)
            return


def _api_message(exc: docker.errors.APIError) -> str:
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return str(explanation).strip()
    return str(exc).strip()
