"""Names, labels, images, states and engine strings carrying markup and escape sequences reach the panels, the
header and the dialogs as text: no crash (MarkupError), the literal text on the screen, and nothing in what
skid writes to the terminal but its own cursor moves and colours (no OSC title, no OSC 8 link, no BEL)."""

from __future__ import annotations

import dataclasses
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.style import Style
from rich.text import Text

from skid_tui.engine.client import NUMBER_LABEL, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, EngineInfo
from skid_tui.engine.containers import ContainerSnapshot, PublishedPort
from skid_tui.engine.discovery import EngineCandidate, engine_candidates
from skid_tui.engine.watcher import EngineStatus, ServiceUpdate
from skid_tui.model import LiveModel
from skid_tui.model.planning import StartCheck
from skid_tui.stack import load_stack
from skid_tui.ui.app import SkidApp
from skid_tui.ui.screens.llm import explain
from skid_tui.ui.screens.profiles import ProfilePickerScreen
from skid_tui.ui.views import HeaderView, ServiceView, budget_bar_view, service_view
from skid_tui.ui.widgets.budget_bar import render_budget_bar
from skid_tui.ui.widgets.engine_header import render_header
from skid_tui.ui.widgets.service_grid import ServiceGrid
from skid_tui.ui.widgets.service_panel import ServicePanel, panel_subtitle, panel_title, render_service
from tests.factories import NOW, container, demo_stack
from tests.functional.helpers import wait_until
from tests.snapshots.test_snapshots import feed, quiet_app, settle

PAYLOAD = "[bold red]x[/] [/x] [link=http://e]l[/link] \033]0;PWNED\007"
SHOWN = "[bold red]x[/] [/x] [link=http://e]l[/link] ^[]0;PWNED^G"  # what a reader must see
PIECES = ("[bold red]x[/]", "[/x]", "[link=http://e]l[/link]", "^[]0;PWN")
CSI = re.compile(r"\x1b\[[0-9;:?]*[ -/]*[@-~]")  # skid's own cursor moves and SGR colours
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def terminal_output(app: SkidApp) -> str:
    """Exactly what the app would write to the terminal for a full repaint of the current screen."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system="truecolor",
                      legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return update.render_segments(console)


def shown_text(app: SkidApp) -> str:
    """The repaint with only skid's CSI sequences taken out, after checking there is nothing else in it."""
    out = terminal_output(app)
    assert "\x1b]" not in out and "\x07" not in out  # no title change, no OSC 8 hyperlink, no bell
    text = CSI.sub("", out)
    assert "\x1b" not in text, "an escape sequence other than skid's cursor moves and colours"
    assert not CONTROL.search(text), repr(CONTROL.search(text))
    return text


# -- the real engine: containers labelled with markup and escapes, a hostile profile and image -------------

@pytest.fixture
def hostile_project(engine, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    project = f"skidhostile-{uuid.uuid4().hex[:8]}"
    compose = tmp_path / "compose.yml"
    yaml_payload = '"[bold red]x[/] [/x] [link=http://e]l[/link] \\e]0;PWNED\\a"'
    compose.write_text(
        "services:\n"
        "  web:\n    image: skid-demo/base:latest\n    command: [sleep, '3600']\n    mem_limit: 32m\n"
        f"  ghost:\n    image: {yaml_payload}\n"
    )
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "hostile.yaml").write_text(f"name: {yaml_payload}\nservices: [web]\n")
    (profiles / "oops.yaml").write_text('name: "oops[/nope]"\nservices: [web, ghost]\n')
    ids = []
    for service, extra in (("web", {"skid.test.note": PAYLOAD}), (PAYLOAD, {}), ("bad[/x]", {})):
        labels = {PROJECT_LABEL: project, SERVICE_LABEL: service, NUMBER_LABEL: "1", ONEOFF_LABEL: "False", **extra}
        created = engine.api.create_container(
            "skid-demo/base:latest", ["sleep", "3600"], labels=labels, name=f"{project}-{len(ids)}",
            host_config=engine.api.create_host_config(mem_limit="32m", init=True),
        )
        ids.append(created["Id"])
        engine.api.start(created["Id"])
    yield project, compose, profiles
    for cid in ids:
        engine.api.remove_container(cid, force=True)


async def test_hostile_labels_images_and_profiles_from_the_engine_are_text(hostile_project):
    project, compose, profiles = hostile_project
    stack = load_stack([str(compose)], profiles, project_name=project)
    profile = stack.profiles[PAYLOAD]
    app = SkidApp(stack, profile, engine_candidates, retry_interval=0.5, model=LiveModel(stack, profile, peaks=None))
    async with app.run_test(size=(200, 40)) as pilot:  # four panels a row, the header wide enough for it all
        web = app.query_one("#svc-web", ServicePanel)
        await wait_until(pilot, lambda: web.view.state == "running", 20, "the web container running")
        ghost = app.query_one("#svc-ghost", ServicePanel)
        await settle(pilot)
        assert app.is_running  # no MarkupError
        text = shown_text(app)
        assert f"profile {SHOWN} (1 services)" in text  # the header
        assert ghost.view.image == PAYLOAD and ghost.view.state == "not created"
        for piece in PIECES:  # the ghost's image, cut to the panel's width; the web panel's profile subtitle
            assert piece in text, piece
        assert "PWNED" not in text.replace("^[]0;PWNED^G", "").replace("^[]0;PWN", "")
        lines = [str(ghost.render_line(y).text) for y in range(ghost.content_size.height)]
        assert any(line.startswith(SHOWN[:40]) for line in lines), lines  # the image line
        assert web.border_subtitle is not None and "[/x]" in Text.from_markup(web.border_subtitle).plain

        await pilot.press("p")  # every profile against what runs: the names in a DataTable
        await wait_until(pilot, lambda: isinstance(app.screen, ProfilePickerScreen), 10, "the profile picker")
        await settle(pilot)
        picker = shown_text(app)
        assert SHOWN in picker and "oops[/nope]" in picker
        await pilot.press("escape")
        assert app.is_running


# -- no engine: every engine string a real engine would not send, fed to the real app ----------------------

def hostile_container(service: str) -> ContainerSnapshot:
    base = container(service)
    return ContainerSnapshot(
        id=base.id, name=PAYLOAD, project=base.project, service=base.service, number=1, oneoff=False,
        state=f"running{PAYLOAD}", exit_code=0, health=PAYLOAD, started_at=base.started_at, finished_at=None,
        oom_killed=False, image=PAYLOAD, ports=(PublishedPort(5432, "tcp", PAYLOAD, 15432),),
    )


async def test_hostile_engine_strings_in_panels_and_header():
    app = quiet_app()
    info = EngineInfo(PAYLOAD, PAYLOAD, "1.41", PAYLOAD, 8 * 1024**3, 2, EngineCandidate(PAYLOAD, PAYLOAD))
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        feed(app, EngineStatus("connected", info=info), ServiceUpdate("postgres", (hostile_container("postgres"),)),
             ServiceUpdate(PAYLOAD, (hostile_container("redis"),)))  # a container of no known service
        await settle(pilot)
        assert app.is_running
        text = shown_text(app)
        assert f"{SHOWN} {SHOWN} (API 1.41) at" in text  # the engine line
        for piece in PIECES:
            assert piece in text
        panel = app.query_one("#svc-postgres", ServicePanel)
        lines = [str(panel.render_line(y).text) for y in range(panel.content_size.height)]
        assert lines[0].startswith("● running[bold red]x[/] [/x] [link=http://e"), lines[0]  # state, cut to width
        assert any(line.startswith(SHOWN[:40]) for line in lines), lines  # the image
        feed(app, EngineStatus("lost", info=info, message=PAYLOAD))
        await settle(pilot)
        assert "^[]0;PWNED^G" in shown_text(app)  # the notice: what the engine said when it went away


# -- the renderers alone, fuzzed: whatever the strings, only text and styles without links come out --------

# Pieces of markup, escape sequences and control characters, joined at random; and any text at all.
PIECE = st.sampled_from(["[bold red]", "[/]", "[/x]", "[link=http://e]", "\x1b]0;PWNED\x07", "\x1b[2J", "\x1b]8;;http://e\x1b\\",
                         "\x9b", "\x00", "\n", "\t", "a", " ", "[", "]"])
hostile = st.one_of(st.lists(PIECE, max_size=12).map("".join), st.text(max_size=30))


def assert_clean(renderable: Text) -> None:
    segments = list(renderable.render(Console(width=80, force_terminal=True, legacy_windows=False)))
    for seg in segments:
        assert not CONTROL.search(seg.text.replace("\n", "")) and "\x1b" not in seg.text, repr(seg.text)
        assert not isinstance(seg.style, Style) or seg.style.link is None


@settings(max_examples=150, deadline=None)
@given(name=hostile, image=hostile, state=hostile, profile=hostile)
def test_fuzzed_panel_header_bar_and_dialog_text(name: str, image: str, state: str, profile: str) -> None:
    stack = demo_stack()
    view = ServiceView(name=name, state=state, health=state, uptime="1m", image=image, ports=(image,),
                       budget="no budget", membership=f"in {profile}", wanted=True, tone="ok")
    for renderable in (render_service(view), panel_title(view), panel_subtitle(view)):
        assert_clean(renderable)
    header = HeaderView(project=name, profile=profile, profile_services=1, running=0, services=1,
                        engine_state="connected", engine_line=state, stats_source=image, compose=image)
    assert_clean(render_header(header))
    bar = budget_bar_view(LiveModel(stack, stack.profiles["minimal"], peaks=None).totals())
    assert_clean(render_budget_bar(dataclasses.replace(bar, hint=name, engine=image)))
    assert_clean(explain(StartCheck(name, 2, 1, ((profile, 1),))))
    assert_clean(render_service(service_view(stack.services["postgres"], (hostile_container("postgres"),),
                                             profile=stack.profiles["minimal"], engine_state="connected", now=NOW)))


async def test_service_names_that_cannot_be_dom_ids(tmp_path):
    """Compose allows '.' in a service name; a panel's DOM id cannot hold one. Such a panel has no id, and is
    found, selected and updated like any other (it used to stop the dashboard with BadIdentifier)."""
    compose = tmp_path / "dots.yml"
    compose.write_text("services:\n  web.1:\n    image: skid-demo/base:latest\n"
                       "  web_1:\n    image: skid-demo/base:latest\n  1web:\n    image: skid-demo/base:latest\n")
    stack = load_stack([str(compose)], None, project_name="skid-demo")
    app = SkidApp(stack, None, lambda: [], watch=False, model=LiveModel(stack, None, peaks=None), clock=lambda: NOW)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        grid = app.query_one(ServiceGrid)
        dotted = grid.panel("web.1")
        assert dotted is not None and dotted.id is None and grid.panel("web_1").id == "svc-web_1"
        app.focus_service("web.1")
        await pilot.pause()
        assert app.focused is dotted
        snapshot = dataclasses.replace(container("postgres"), service="web.1", image="skid-demo/base:latest")
        feed(app, EngineStatus("connected"), ServiceUpdate("web.1", (snapshot,)))
        await settle(pilot)
        assert dotted.view.state == "running" and "web.1" in shown_text(app)
