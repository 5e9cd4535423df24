"""Builds without an engine: the build stream's lines and their classes (on chunks recorded from Docker
Engine 20.10's legacy builder), .dockerignore as the docker CLI applies it, the context tar, image tags,
and what `skid build` prints."""

from __future__ import annotations

import io
import tarfile
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from skid_tui.cli.buildtest import BuildPrinter, build_summary, build_targets, cmd_build
from skid_tui.engine.builds import (
    BuildEvent,
    BuildResult,
    BuildStream,
    ContextError,
    IgnoreMatcher,
    buildable_services,
    context_files,
    image_tag,
    read_dockerignore,
    write_context,
)
from skid_tui.ops.config import Options
from skid_tui.stack import load_stack

REPO = Path(__file__).resolve().parents[2]

# `docker build` of FROM / ARG / RUN (stdout and stderr) / RUN exit 3, as the engine streamed it: each
# step's text and its newline come apart, stderr is wrapped in red with the reset on the next chunk.
FAILING = [
    {"stream": "Step 1/4 : FROM skid-demo/base:latest"},
    {"stream": "\n"},
    {"stream": " ---> 9528e6cc9c2c\n"},
    {"stream": "Step 2/4 : ARG X"},
    {"stream": "\n"},
    {"stream": " ---> Running in 146eeefa7508\n"},
    {"stream": "Removing intermediate container 146eeefa7508\n"},
    {"stream": " ---> 667b801926f3\n"},
    {"stream": "Step 3/4 : RUN echo hi && echo oops >&2"},
    {"stream": "\n"},
    {"stream": " ---> Running in 4d5abc8e5653\n"},
    {"stream": "\u001b[91moops\n\u001b[0m"},
    {"stream": "hi\n"},
    {"stream": "Removing intermediate container 4d5abc8e5653\n"},
    {"stream": " ---> f3f1cae50067\n"},
    {"stream": "Step 4/4 : RUN exit 3"},
    {"stream": "\n"},
    {"stream": " ---> Running in ec1ce035cd09\n"},
    {"stream": "Removing intermediate container ec1ce035cd09\n"},
    {
        "errorDetail": {"code": 3, "message": "The command '/bin/sh -c exit 3' returned a non-zero code: 3"},
        "error": "The command '/bin/sh -c exit 3' returned a non-zero code: 3",
    },
]

# The same build again, passing, every step after FROM from the cache, with an unused build arg.
CACHED = [
    {"stream": "Step 1/3 : FROM skid-demo/base:latest"},
    {"stream": "\n"},
    {"stream": " ---> 9528e6cc9c2c\n"},
    {"stream": "Step 2/3 : ARG X"},
    {"stream": "\n"},
    {"stream": " ---> Using cache\n"},
    {"stream": " ---> 667b801926f3\n"},
    {"stream": "Step 3/3 : RUN echo hi"},
    {"stream": "\n"},
    {"stream": " ---> Using cache\n"},
    {"stream": " ---> f3f1cae50067\n"},
    {"stream": "[Warning] One or more build-args [Y] were not consumed\n"},
    {"aux": {"ID": "sha256:f3f1cae50067f3f1cae50067f3f1cae50067f3f1cae50067f3f1cae50067abcd"}},
    {"stream": "Successfully built f3f1cae50067\n"},
    {"stream": "Successfully tagged skidtest-build/x:latest\n"},
]


def run(chunks: list[dict]) -> tuple[BuildStream, list[BuildEvent]]:
    events: list[BuildEvent] = []
    stream = BuildStream(events.append)
    for chunk in chunks:
        stream.feed(chunk)
    stream.close()
    return stream, events


def test_steps_are_reassembled_from_split_chunks_and_numbered():
    stream, events = run(FAILING)
    steps = [(e.step, e.steps, e.text) for e in events if e.kind == "step"]
    assert steps == [
        (1, 4, "FROM skid-demo/base:latest"),
        (2, 4, "ARG X"),
        (3, 4, "RUN echo hi && echo oops >&2"),
        (4, 4, "RUN exit 3"),
    ]
    assert stream.steps == 4


def test_output_lines_carry_their_step_and_stderr_keeps_its_colour_but_not_the_stray_reset():
    _, events = run(FAILING)
    step3 = [e.text for e in events if e.kind == "output" and e.step == 3]
    assert step3 == [
        " ---> Running in 4d5abc8e5653",
        "\x1b[91moops",
        "hi",
        "Removing intermediate container 4d5abc8e5653",
        " ---> f3f1cae50067",
    ]


def test_an_error_names_the_failing_step():
    stream, events = run(FAILING)
    assert events[-1] == BuildEvent("error", "The command '/bin/sh -c exit 3' returned a non-zero code: 3", 4, 4)
    assert stream.error == "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    assert (stream.failing_step, stream.failing_step_number) == ("RUN exit 3", 4)
    assert stream.cache_hits == 0
    assert stream.image_id is None


def test_cache_hits_warnings_and_the_image_id():
    stream, events = run(CACHED)
    assert [(e.kind, e.step) for e in events if e.kind in ("cache", "warning")] == [
        ("cache", 2),
        ("cache", 3),
        ("warning", 3),
    ]
    assert stream.cache_hits == 2
    assert stream.warnings == 1
    assert stream.image_id.startswith("sha256:f3f1cae50067")
    assert stream.error == "" and stream.failing_step is None


def test_an_error_before_any_step_has_no_failing_step():
    stream, events = run([{"error": "dockerfile parse error line 2: unknown instruction: RUNN",
                           "errorDetail": {"message": "dockerfile parse error line 2: unknown instruction: RUNN"}}])
    assert [e.kind for e in events] == ["error"]
    assert stream.failing_step is None and stream.failing_step_number is None


def test_a_line_cut_anywhere_is_one_line_and_carriage_returns_keep_the_last_state():
    text = "Step 1/1 : RUN npm ci\n ---> Running in abc\nadded 12 packages\r\nprogress 10%\rprogress 100%\nend"
    chunks = [{"stream": text[i : i + 3]} for i in range(0, len(text), 3)]
    _, events = run(chunks)
    assert [e.text for e in events] == [
        "RUN npm ci", " ---> Running in abc", "added 12 packages", "progress 100%", "end",
    ]  # fmt: skip


def test_pull_progress_is_one_line_per_layer_state():
    _, events = run([
        {"stream": "Step 1/1 : FROM node:18-alpine\n"},
        {"status": "Pulling from library/node", "id": "18-alpine"},
        {"status": "Downloading", "progressDetail": {"current": 10, "total": 100}, "id": "a1"},
        {"status": "Downloading", "progressDetail": {"current": 50, "total": 100}, "id": "a1"},
        {"status": "Pull complete", "progressDetail": {}, "id": "a1"},
        {"status": "Pull complete", "progressDetail": {}, "id": "a1"},
        {"status": "Status: Downloaded newer image for node:18-alpine"},
    ])  # fmt: skip
    assert [e.text for e in events] == [
        "FROM node:18-alpine",
        "18-alpine: Pulling from library/node",
        "a1: Pull complete",
        "Status: Downloaded newer image for node:18-alpine",
    ]


def test_podman_build_lines_are_understood_too():
    stream, events = run([
        {"stream": "STEP 1/2: FROM docker.io/library/alpine:3.19\n"},
        {"stream": "STEP 2/2: RUN apk add curl\n"},
        {"stream": "--> Using cache 8b2d0e6a6f1c5d3c\n"},
        {"stream": "COMMIT localhost/x:latest\n"},
    ])  # fmt: skip
    assert [(e.kind, e.step, e.steps) for e in events] == [
        ("step", 1, 2), ("step", 2, 2), ("cache", 2, 2), ("output", 2, 2),
    ]  # fmt: skip
    assert stream.cache_hits == 1


@pytest.mark.parametrize(
    "line",
    ["[Warning] One or more build-args [Y] were not consumed", "[WARNING]: Empty continuation line found in:",
     "npm WARN deprecated inflight@1.0.6: not supported", "SECURITY WARNING: You are building a Docker image"],
)  # fmt: skip
def test_warnings_are_recognised(line):
    _, events = run([{"stream": f"{line}\n"}])
    assert [e.kind for e in events] == ["warning"]


# --- .dockerignore ---------------------------------------------------------------------------------


def test_dockerignore_lines_are_normalised_as_the_cli_does():
    text = "\ufeff# comment\n  *.log  \n\n!  keep.log\n/abs/path/\n./a/../b\n #not a comment\n"
    assert read_dockerignore(text) == ["*.log", "!keep.log", "abs/path", "b", "#not a comment"]


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.bin"], "bloat.bin", True),
        (["*.bin"], "dir/bloat.bin", False),  # `*` stays in one directory
        (["**/*.bin"], "dir/sub/bloat.bin", True),
        (["**/*.bin"], "bloat.bin", True),
        (["docs"], "docs/a/b.md", True),  # a matching parent excludes what is inside
        (["docs/**"], "docs/a/b.md", True),
        (["docs/*.md"], "docs/a/b.md", False),
        (["local-only/", "!local-only/keep.txt"], "local-only/keep.txt", False),
        (["local-only/", "!local-only/keep.txt"], "local-only/secret.txt", True),
        (["*", "!src"], "src/main.py", False),
        (["*", "!src", "src/*.tmp"], "src/x.tmp", True),  # the last matching pattern decides
        (["a?c"], "abc", True),
        (["a?c"], "a/c", False),
        (["[a-c]x"], "bx", True),
        (["[^a-c]x"], "bx", False),
        (["\\*star"], "*star", True),
        (["\\*star"], "xstar", False),
        (["node_modules"], "node_modules", True),
        (["**"], "anything/at/all", True),
        (["**/node_modules"], "packages/a/node_modules/x.js", True),  # through any parent, as BuildKit does
        (["a/b"], "a/b/c/d", True),
    ],
)
def test_patterns_match_as_moby_matches_them(patterns, path, excluded):
    assert IgnoreMatcher(patterns).excluded(path) is excluded


def test_a_bad_pattern_is_a_context_error():
    with pytest.raises(ContextError, match="unclosed"):
        IgnoreMatcher(["[abc"])
    with pytest.raises(ContextError, match="illegal exclusion"):
        IgnoreMatcher(["!"])


def make_context(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def tar_names(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers()}


def test_the_context_tar_honours_dockerignore_but_always_sends_the_dockerfile_and_the_ignore_file(tmp_path):
    root = make_context(tmp_path / "ctx", {
        "Dockerfile": "FROM x\n", ".dockerignore": "*\n!src\n!src/**\nsrc/*.tmp\n", "src/main.py": "print()\n",
        "src/scratch.tmp": "x", "secret.env": "TOKEN=1", "node_modules/big/index.js": "//",
    })  # fmt: skip
    buffer = io.BytesIO()
    info = write_context(root, Path("Dockerfile"), buffer)
    names = tar_names(buffer.getvalue())
    assert set(names) == {"Dockerfile", ".dockerignore", "src", "src/main.py"}
    assert info.dockerfile == "Dockerfile"
    assert info.files == 3
    # node_modules is pruned whole: nothing inside it is even looked at
    assert info.excluded_paths == ["node_modules", "secret.env", "src/scratch.tmp"]
    member = names["src/main.py"]
    assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")


def test_an_excluded_directory_is_pruned_unless_an_exception_reaches_inside(tmp_path):
    root = make_context(tmp_path, {"Dockerfile": "", "cache/a/1": "", "cache/b/2": "", "keep/x/1": "",
                                   "keep/x/2": ""})  # fmt: skip
    listed = dict(context_files(root, ["cache", "keep", "!keep/x/2"], ["Dockerfile"]))
    assert listed == {
        "Dockerfile": True,
        "cache": False,  # nothing under it is even looked at
        "keep": False,
        "keep/x": False,
        "keep/x/1": False,
        "keep/x/2": True,
    }


def test_an_ignored_dockerfile_in_a_subdirectory_is_still_sent(tmp_path):
    root = make_context(tmp_path, {"docker/app.Dockerfile": "FROM x\n", ".dockerignore": "docker\n", "a": ""})
    buffer = io.BytesIO()
    info = write_context(root, Path("docker/app.Dockerfile"), buffer)
    assert set(tar_names(buffer.getvalue())) == {".dockerignore", "a", "docker/app.Dockerfile"}
    assert info.dockerfile == "docker/app.Dockerfile"


def test_a_dockerfile_specific_ignore_file_wins_and_gzip_works(tmp_path):
    root = make_context(tmp_path, {"Dockerfile": "FROM x\n", "Dockerfile.dockerignore": "b\n",
                                   ".dockerignore": "a\n", "a": "", "b": ""})  # fmt: skip
    buffer = io.BytesIO()
    write_context(root, Path("Dockerfile"), buffer, gzip=True)
    assert buffer.getvalue()[:2] == b"\x1f\x8b"
    assert set(tar_names(buffer.getvalue())) == {".dockerignore", "Dockerfile", "Dockerfile.dockerignore", "a"}


def test_a_dockerfile_outside_the_context_is_added_under_a_private_name(tmp_path):
    root = make_context(tmp_path / "ctx", {"app.py": ""})
    outside = make_context(tmp_path, {"Dockerfile.outside": "FROM y\n"}) / "Dockerfile.outside"
    buffer = io.BytesIO()
    info = write_context(root, outside, buffer)
    names = tar_names(buffer.getvalue())
    assert info.dockerfile.startswith(".dockerfile.")
    assert set(names) == {"app.py", info.dockerfile}


def test_missing_context_or_dockerfile_is_a_context_error(tmp_path):
    with pytest.raises(ContextError, match="is not a directory"):
        write_context(tmp_path / "nope", Path("Dockerfile"), io.BytesIO())
    with pytest.raises(ContextError, match="no Dockerfile at"):
        write_context(tmp_path, Path("Dockerfile"), io.BytesIO())


# --- tags, targets and what the CLI prints -----------------------------------------------------------


def compose(tmp_path: Path) -> Path:
    path = tmp_path / "compose.yml"
    path.write_text(textwrap.dedent("""
        name: shop
        services:
          api:
            build: ./api
          worker:
            image: registry.local:5000/shop/worker
            build: {context: ./worker, dockerfile: Containerfile, args: {A: "1"}, target: prod}
          pinned:
            image: shop/pinned:2.1
            build: .
          db:
            image: postgres:15-alpine
    """))
    return path


def test_image_tags_are_the_names_compose_gives_builds(tmp_path):
    stack = load_stack([compose(tmp_path)], environ={})
    assert buildable_services(stack) == ["api", "worker", "pinned"]
    assert image_tag(stack, "api") == "shop-api:latest"
    assert image_tag(stack, "worker") == "registry.local:5000/shop/worker:latest"  # a registry port is no tag
    assert image_tag(stack, "pinned") == "shop/pinned:2.1"
    with pytest.raises(ValueError):
        image_tag(stack, "nope")


def test_build_targets_and_one_line_refusals(tmp_path, capsys):
    stack = load_stack([compose(tmp_path)], environ={})
    assert build_targets(stack, []) == ["api", "worker", "pinned"]
    assert build_targets(stack, ["pinned", "api", "pinned"]) == ["pinned", "api"]
    out = Console(file=io.StringIO())
    nowhere = Options(host="unix:///nonexistent/skid.sock")
    assert cmd_build(stack, nowhere, ["db"], out) == 2
    assert cmd_build(stack, nowhere, ["web"], out) == 2
    assert cmd_build(stack, nowhere, ["api"], out) == 1  # no engine answered
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("skid: service 'db' has no build: section, it runs the image postgres:15-alpine "
                      "(buildable: api, worker, pinned)")
    assert err[1] == "skid: unknown service 'web' (expected one of: api, worker, pinned)"
    assert err[2].startswith("skid: no container engine answered")
    assert len(err) == 3


def printed(events: list[BuildEvent]) -> list[str]:
    buffer = io.StringIO()
    printer = BuildPrinter(Console(file=buffer, width=200, highlight=False))
    for event in events:
        printer(event)
    printer.flush()
    return buffer.getvalue().splitlines()


def test_the_cli_marks_cache_hits_on_the_step_and_shows_errors():
    _, events = run(CACHED)
    lines = printed(events)
    assert lines[:4] == ["Step 1/3: FROM skid-demo/base:latest", "---> 9528e6cc9c2c", "Step 2/3: ARG X  (cached)",
                         "---> 667b801926f3"]  # fmt: skip
    assert "Step 3/3: RUN echo hi  (cached)" in lines
    assert "  [Warning] One or more build-args [Y] were not consumed" in lines
    _, events = run(FAILING)
    lines = printed(events)
    assert "  oops" in lines  # the colour is the terminal's business, the text stays
    assert lines[-1] == "error: The command '/bin/sh -c exit 3' returned a non-zero code: 3"


def build_result(**kwargs) -> BuildResult:
    values = {"service": "api", "tag": "skid-demo-api:latest", "ok": True, "seconds": 3.21, "image_id": "sha256:1",
              "size_bytes": 12_900_000, "error": "", "failing_step": None, "steps": 5}  # fmt: skip
    values.update(kwargs)
    return BuildResult(**values)


def test_the_result_line_of_a_build():
    assert build_summary(build_result()).plain == "✓ api built in 3.2 s: skid-demo-api:latest, 12 MiB"
    assert build_summary(build_result(cache_hits=4)).plain.endswith("(4 of 5 steps cached)")
    failed = build_result(ok=False, failing_step="RUN npm ci", failing_step_number=3, error="exit 1", seconds=70)
    assert build_summary(failed).plain == "✗ api failed at step 3/5 (RUN npm ci) after 1 min 10 s: exit 1"
    early = build_result(ok=False, error="no Dockerfile at /x/Dockerfile")
    assert build_summary(early).plain == "✗ api failed after 3.2 s: no Dockerfile at /x/Dockerfile"
    assert build_summary(build_result(ok=False, cancelled=True)).plain == "✗ api build cancelled after 3.2 s"
