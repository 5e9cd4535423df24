"""No volume goes unless it was listed (by name and size) and the user confirmed: `skid down --volumes` and
the dashboard's `X`, against the real private engine, with a service whose only volume is anonymous
(`volumes: ["/data"]`, a hex name, no compose label) and one with named, anonymous, shared and external ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import pytest
from rich.console import Console

from skid_tui.cli import lifecycle
from skid_tui.engine.client import Engine
from skid_tui.engine.containers import read_project, service_containers
from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import LiveModel
from skid_tui.ops.config import Options, load
from skid_tui.stack import format_bytes, load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.screens.confirm import TypeToConfirmScreen
from skid_tui.ui.widgets.activity_log import ActivityLog
from skid_tui.ui.widgets.service_panel import ServicePanel
from tests.conftest import DemoProject
from tests.functional.helpers import wait_until

SERVICE = """
  {name}:
    image: skid-demo/base:latest
    command: ["sleep", "2147483647"]
    init: true
    volumes: {volumes}
"""
BLOB = 64 * 1024  # bytes written into each volume, so its size is not zero


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass
class Project:
    demo: DemoProject
    options: Options
    external: str  # an external volume the `db` service mounts: never skid's to delete

    @property
    def name(self) -> str:
        return self.demo.name

    def down(self, *, yes: bool = False, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
        buffer, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            code = lifecycle.cmd_down(load(self.options), self.options, True, yes, None,
                                      Console(file=buffer, width=400, highlight=False),
                                      stdin=stdin if stdin is not None else io.StringIO())
        return code, buffer.getvalue(), err.getvalue()


def write_compose(path: Path, services: dict[str, list[str]], external: str) -> Path:
    text = "services:" + "".join(SERVICE.format(name=n, volumes=v) for n, v in services.items())
    text += f"volumes:\n  stuff: {{}}\n  shared: {{}}\n  ext:\n    external: true\n    name: {external}\n"
    path.write_text(text)
    return path


@pytest.fixture
def project(engine, compose_bin, tmp_path, request) -> Iterator[Project]:
    """`anon` (one anonymous volume) alone, or with `db` (stuff, an anonymous one, shared, the external
    one) and `web` (shared, an anonymous one): `@pytest.mark.parametrize("project", [...], indirect=True)`."""
    services = {"anon": ['"/data"']}
    if getattr(request, "param", "anon") == "mixed":
        services |= {"db": ['"stuff:/data"', '"/cache"', '"shared:/shared"', '"ext:/ext"'],
                     "web": ['"shared:/shared"', '"/webcache"']}
    external = f"skidvolext-{uuid.uuid4().hex[:8]}"
    engine.api.create_volume(external)
    file = write_compose(tmp_path / "compose.yml", {k: f"[{', '.join(v)}]" for k, v in services.items()}, external)
    demo = DemoProject(compose_bin, f"skidvol-{uuid.uuid4().hex[:8]}", file)
    demo.compose("up", "-d")
    for service in services:
        exec_sh(engine, demo.name, service, "for d in /data /cache /webcache /shared; do [ -d $d ] && "
                f"head -c {BLOB} /dev/urandom > $d/blob && echo keep-me > $d/note; done; true")
    yield Project(demo, Options(compose=(str(file),), project_name=demo.name), external)
    demo.down()
    with contextlib.suppress(docker.errors.NotFound):
        engine.api.remove_volume(external)


def container_of(engine: Engine, project: str, service: str) -> dict:
    [c] = service_containers(read_project(engine, project), project)[service]
    return engine.api.inspect_container(c.id)


def exec_sh(engine: Engine, project: str, service: str, script: str) -> str:
    cid = container_of(engine, project, service)["Id"]
    return engine.api.exec_start(engine.api.exec_create(cid, ["sh", "-c", script])["Id"]).decode()


def mounts(engine: Engine, project: str, service: str) -> dict[str, str]:
    """Destination -> volume name, as the engine has them."""
    return {m["Destination"]: m["Name"] for m in container_of(engine, project, service)["Mounts"]
            if m["Type"] == "volume"}


def all_volumes(engine: Engine) -> set[str]:
    return {v["Name"] for v in engine.api.volumes().get("Volumes") or []}


def size_text(engine: Engine, name: str) -> str:
    """What the engine's disk-usage report says, read independently of skid."""
    [vol] = [v for v in engine.api.df()["Volumes"] if v["Name"] == name]
    size = vol["UsageData"]["Size"]
    assert size >= BLOB, vol  # the engine reports sizes here: the listing must carry a real one
    return format_bytes(size)


def test_down_volumes_lists_an_anonymous_volume_and_keeps_it_until_confirmed(engine, project):
    name = project.name
    anon = mounts(engine, name, "anon")["/data"]
    line = f"  {anon}  {size_text(engine, anon)}  (anonymous, anon:/data)\n"

    code, out, err = project.down()  # stdin is no terminal, no --yes
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "stdin is not a terminal" in err and "--yes" in err
    assert f"deletes 1 volume of {name}" in out and line in out
    assert "nothing to delete" not in out
    assert "$ " not in out  # compose never ran: nothing was stopped either
    assert exec_sh(engine, name, "anon", "cat /data/note").strip() == "keep-me"

    code, out, err = project.down(stdin=Terminal("yes\n"))  # a terminal, the wrong answer
    assert code == 1 and "not confirmed" in err and f"Type the project name ({name})" in out and line in out
    assert exec_sh(engine, name, "anon", "cat /data/note").strip() == "keep-me"
    assert anon in all_volumes(engine)

    before = all_volumes(engine)
    code, out, err = project.down(yes=True)
    assert code == 0, (out, err)
    assert line in out
    commands = [x for x in out.splitlines() if x.startswith("$ ")]
    assert len(commands) == 1 and commands[0].endswith(" down"), commands  # never `down -v`
    assert f"removed volume {anon}  " in out
    assert all_volumes(engine) == before - {anon}  # exactly what was listed
    assert service_containers(read_project(engine, name), name) == {}


@pytest.mark.parametrize("project", ["mixed"], indirect=True)
def test_down_volumes_deletes_exactly_the_listed_named_and_anonymous_volumes(engine, project):
    name = project.name
    db, web, anon = mounts(engine, name, "db"), mounts(engine, name, "web"), mounts(engine, name, "anon")
    listed = {f"{name}_stuff", f"{name}_shared", db["/cache"], web["/webcache"], anon["/data"]}
    assert db["/ext"] == project.external

    code, out, err = project.down()
    assert code == 2 and "--yes" in err
    assert f"deletes 5 volumes of {name}" in out
    for vol in listed:
        assert f"  {vol}  {size_text(engine, vol)}  (" in out
    assert f"  {name}_stuff  {size_text(engine, f'{name}_stuff')}  (named, db:/data)\n" in out
    assert project.external not in out
    assert listed <= all_volumes(engine)

    before = all_volumes(engine)
    code, out, err = project.down(yes=True)
    assert code == 0, (out, err)
    assert sum(x.startswith("removed volume ") for x in out.splitlines()) == 5
    assert all_volumes(engine) == before - listed
    assert project.external in all_volumes(engine)  # external: compose does not own it, nor does skid


def test_down_volumes_with_no_volume_left_deletes_nothing(engine, project):
    name = project.name
    anon = mounts(engine, name, "anon")["/data"]
    assert project.demo.compose("down").returncode == 0  # the container goes; its volume stays, unattached
    code, out, err = project.down()
    assert code == 0, (out, err)
    assert f"no volume of {name} exists: nothing to delete" in out  # none is attached to the project now
    assert anon in all_volumes(engine)
    engine.api.remove_volume(anon)


# -- the dashboard's X ----------------------------------------------------------------------------


def app_for(project: Project) -> SkidApp:
    stack = load_stack(list(project.options.compose), None, project_name=project.name)
    profile = stack.profiles["default"]
    return SkidApp(stack, profile, engine_candidates, retry_interval=0.5, model=LiveModel(stack, profile, peaks=None))


def log_text(app: SkidApp) -> str:
    return "\n".join(app.query_one(ActivityLog).lines)


async def open_dialog(pilot, app: SkidApp, service: str) -> TypeToConfirmScreen:
    await wait_until(pilot, lambda: app.engine_status.state == "connected"
                     and app.lifecycle.compose_tool is not None, 15, "the engine and the compose tool")
    app.query_one(f"#svc-{service}", ServicePanel).focus()
    await pilot.pause()
    await pilot.press("X")
    await wait_until(pilot, lambda: isinstance(app.screen, TypeToConfirmScreen), 15, "the remove-data dialog")
    assert isinstance(app.screen, TypeToConfirmScreen)
    return app.screen


def body_of(screen: TypeToConfirmScreen) -> str:
    return screen.body.plain if hasattr(screen.body, "plain") else str(screen.body)


async def confirm(pilot, app: SkidApp, word: str) -> None:
    done = len(app.lifecycle.queue.done)
    await pilot.press(*word, "enter")
    await wait_until(pilot, lambda: len(app.lifecycle.queue.done) > done, 60, "the removal to finish")


async def test_x_lists_an_anonymous_volume_cancel_keeps_it_and_the_name_removes_exactly_it(engine, project):
    name = project.name
    anon = mounts(engine, name, "anon")["/data"]
    size = size_text(engine, anon)
    app = app_for(project)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_dialog(pilot, app, "anon")
        body = body_of(screen)
        assert f"• {anon}  {size}  (anonymous, anon:/data)" in body
        assert "no volume" not in body and "only the container" not in body
        await pilot.press("escape")
        await pilot.pause()
        assert "remove data of anon: cancelled, nothing deleted" in log_text(app)
        assert await asyncio.to_thread(exec_sh, engine, name, "anon", "cat /data/note") == "keep-me\n"

        screen = await open_dialog(pilot, app, "anon")
        await pilot.press(*"ano", "enter")  # not the name
        await pilot.pause()
        assert app.screen is screen and "nothing was deleted" in str(screen.query_one("#mismatch").render())
        await pilot.press("backspace", "backspace", "backspace")
        before = await asyncio.to_thread(all_volumes, engine)
        await confirm(pilot, app, "anon")
        kind, status = app.lifecycle.queue.done[-1].op.kind, app.lifecycle.queue.done[-1].status
        assert (kind, status) == ("remove-data", 0)
        assert f"removed {anon} ({size})" in log_text(app)
        assert " -v" not in log_text(app)  # compose rm without -v: skid removed what it listed
    assert await asyncio.to_thread(all_volumes, engine) == before - {anon}
    assert service_containers(read_project(engine, name), name).get("anon") is None


@pytest.mark.parametrize("project", ["mixed"], indirect=True)
async def test_x_on_a_named_volume_service_removes_its_own_and_keeps_shared_and_external(engine, project):
    name = project.name
    db = mounts(engine, name, "db")
    listed = {f"{name}_stuff", db["/cache"]}
    app = app_for(project)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_dialog(pilot, app, "db")
        body = body_of(screen)
        assert f"• {name}_stuff  {size_text(engine, f'{name}_stuff')}  (named, db:/data)" in body
        assert f"• {db['/cache']}  {size_text(engine, db['/cache'])}  (anonymous, db:/cache)" in body
        assert f"Kept, other services use them: {name}_shared" in body
        assert body.count("•") == 2 and project.external not in body
        before = await asyncio.to_thread(all_volumes, engine)
        await confirm(pilot, app, "db")
        assert (app.lifecycle.queue.done[-1].op.kind, app.lifecycle.queue.done[-1].status) == ("remove-data", 0)
    assert await asyncio.to_thread(all_volumes, engine) == before - listed
    # web still runs with its data in the shared volume
    assert await asyncio.to_thread(exec_sh, engine, name, "web", "cat /shared/note") == "keep-me\n"


def test_up_that_recreates_the_container_keeps_its_anonymous_volume(engine, project, podman):
    """A toggle or `skid up` after the compose file changed recreates the container: same volume, same data.
    On Podman skid's `up` recreates nothing (`--no-recreate`, ops.compose says why): same container, same data."""
    name = project.name
    anon = mounts(engine, name, "anon")["/data"]
    old_id = container_of(engine, name, "anon")["Id"]
    file = Path(project.options.compose[0])
    changed = file.read_text().replace("    init: true\n", "    init: true\n    environment: {CHANGED: '1'}\n", 1)
    file.write_text(changed)
    buffer = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        code = lifecycle.cmd_up(load(project.options), project.options, ["anon"], None, Console(file=buffer))
    assert code == 0, buffer.getvalue()
    if podman:
        assert container_of(engine, name, "anon")["Id"] == old_id
    else:
        assert container_of(engine, name, "anon")["Id"] != old_id  # it was recreated...
    assert mounts(engine, name, "anon")["/data"] == anon  # ...on the same volume
    assert exec_sh(engine, name, "anon", "cat /data/note").strip() == "keep-me"
