"""A throwaway compose project whose services build tests/functional/buildctx (plus a 32 MiB file its
.dockerignore keeps out), tagged `skidtest-build/<random>-<service>`; every tag is removed afterwards."""

from __future__ import annotations

import contextlib
import shutil
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import pytest

from skid_tui.engine.client import Engine
from skid_tui.stack import Stack, load_stack

BUILDCTX = Path(__file__).resolve().parent / "buildctx"
MiB = 1024**2


@dataclass
class BuildProject:
    stack: Stack
    tags: dict[str, str]  # service -> tag


@pytest.fixture
def build_project(engine: Engine, tmp_path: Path) -> Iterator[BuildProject]:
    ctx = tmp_path / "ctx"
    shutil.copytree(BUILDCTX, ctx)
    (ctx / "bloat.bin").write_bytes(b"\0" * (32 * MiB))  # `*.bin` in .dockerignore: never sent
    run = uuid.uuid4().hex[:8]
    tags = {name: f"skidtest-build/{run}-{name}:latest" for name in ("app", "broken", "slow")}
    (tmp_path / "compose.yml").write_text(textwrap.dedent(f"""
        name: skidbt-{run}
        services:
          app:
            image: {tags["app"]}
            build:
              context: ./ctx
              args: {{RUN_ID: "{run}"}}
          broken:
            image: {tags["broken"]}
            build: {{context: ./ctx, dockerfile: Dockerfile.fail}}
          slow:
            image: {tags["slow"]}
            build: {{context: ./ctx, dockerfile: Dockerfile.slow}}
    """))
    yield BuildProject(load_stack([tmp_path / "compose.yml"], environ={}), tags)
    for tag in tags.values():
        with contextlib.suppress(docker.errors.NotFound):
            engine.api.remove_image(tag, force=True)  # with its untagged parents: the build's own layers
