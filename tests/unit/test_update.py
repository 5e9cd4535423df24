"""`u` and `skid update`: what the user typed, checked before anything changes; the swap Docker needs beside a
new memory limit; the engine's refusals as one line; and the override file that keeps the limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import docker.errors
import pytest
import requests
import yaml
from textual.app import App
from textual.widgets import Input, Static

from skid_tui.cli.update import change_line, not_kept
from skid_tui.engine import update as engine_update
from skid_tui.engine.update import (
    ContainerLimits,
    UpdateFailed,
    UpdateUnsupported,
    engine_reason,
    limits_from_inspect,
    memory_swap,
    unsupported,
    update_body,
    update_limits,
)
from skid_tui.ops import update as ops_update
from skid_tui.ops.config import UsageError
from skid_tui.ops.update import (
    ContainerChange,
    InvalidRequest,
    Spelling,
    UpdateError,
    UpdateRequest,
    check_against,
    compose_size,
    compose_spelling,
    override_yaml,
)
from skid_tui.ui import screens as ui_screens
from skid_tui.ui.screens.update import UpdateScreen
from tests.factories import container, demo_stack

MiB = 1024**2
GiB = 1024**3


# -- what the user typed -----------------------------------------------------------------------------------


def test_parse_sizes_and_cpus_as_compose_writes_them():
    r = UpdateRequest.parse("api", "768m", "384MiB", "1")
    assert r == UpdateRequest("api", 768 * MiB, 384 * MiB, 1.0)
    assert UpdateRequest.parse("api", "1.5g").memory == int(1.5 * GiB)
    assert UpdateRequest.parse("api", cpus="0.5") == UpdateRequest("api", cpus=0.5)


def test_blank_means_unchanged():
    assert UpdateRequest.parse("api", "", " ", "0.25") == UpdateRequest("api", None, None, 0.25)


@pytest.mark.parametrize(
    ("memory", "reservation", "cpus", "said"),
    [
        (None, None, None, "nothing to change"),
        ("", "", "", "nothing to change"),
        ("lots", None, None, "malformed memory 'lots': expected a number with an optional unit"),
        (None, "12q", None, "malformed reservation '12q'"),
        (None, None, "two", "malformed cpus 'two': expected a number of CPUs"),
        (None, None, "-1", "malformed cpus '-1'"),
        ("4m", None, None, "memory 4.0 MiB is below 6.0 MiB"),
        ("0", None, None, "memory 0 B is below 6.0 MiB"),
        (None, "5m", None, "reservation 5.0 MiB is below 6.0 MiB"),
        (None, None, "0", "cpus 0 is below 0.01"),
        ("256m", "384m", None, "reservation 384 MiB is above the memory limit 256 MiB"),
    ],
)
def test_bad_input_is_one_line_and_a_usage_error(memory, reservation, cpus, said):
    with pytest.raises(InvalidRequest) as caught:
        UpdateRequest.parse("api", memory, reservation, cpus)
    assert said in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, UsageError)  # the command line's exit status 2


def test_the_minimum_is_accepted():
    assert UpdateRequest.parse("api", "6m", "6m").memory == 6 * MiB


def test_reservation_equal_to_the_limit_is_fine():
    assert UpdateRequest.parse("api", "512m", "512m").reservation == 512 * MiB


def test_checked_against_the_container_when_only_one_of_them_changes():
    current = ContainerLimits(memory=512 * MiB, reservation=256 * MiB)
    check_against(UpdateRequest("api", memory=384 * MiB), "demo-api-1", current)
    with pytest.raises(InvalidRequest, match="memory 128 MiB is below demo-api-1's reservation 256 MiB: lower"):
        check_against(UpdateRequest("api", memory=128 * MiB), "demo-api-1", current)
    with pytest.raises(InvalidRequest, match="reservation 768 MiB is above demo-api-1's memory limit 512 MiB"):
        check_against(UpdateRequest("api", reservation=768 * MiB), "demo-api-1", current)
    # No limit at all: any reservation goes.
    check_against(UpdateRequest("api", reservation=GiB), "x", ContainerLimits())


# -- the engine's side: the body sent, the swap beside the memory ------------------------------------------


def test_limits_from_inspect():
    doc = {"HostConfig": {"Memory": 64 * MiB, "MemoryReservation": 32 * MiB, "MemorySwap": 128 * MiB,
                          "NanoCpus": 500_000_000, "CpuQuota": 0, "CpuPeriod": 0}}
    limits = limits_from_inspect(doc)
    assert limits == ContainerLimits(64 * MiB, 32 * MiB, 128 * MiB, 500_000_000, 0, 0)
    assert limits.cpus == 0.5
    assert limits_from_inspect({}).cpus == 0.0
    # Podman reports both; a quota alone is a limit too.
    assert ContainerLimits(cpu_quota=150_000, cpu_period=100_000).cpus == 1.5


@pytest.mark.parametrize(
    ("memory", "swap", "new", "expected"),
    [
        (64 * MiB, 128 * MiB, 256 * MiB, 512 * MiB),  # Docker's default (swap = memory): raised above the old swap
        (64 * MiB, 128 * MiB, 32 * MiB, 64 * MiB),  # lowered
        (64 * MiB, -1, 256 * MiB, -1),  # unlimited swap stays unlimited
        (64 * MiB, 64 * MiB, 256 * MiB, 256 * MiB),  # no swap allowed stays none
        (64 * MiB, 64 * MiB, 32 * MiB, 32 * MiB),
        (0, 0, 96 * MiB, 192 * MiB),  # no limit before: Docker's default
        (64 * MiB, 300 * MiB, 96 * MiB, 192 * MiB),  # another allowance: Docker's default
    ],
)
def test_swap_sent_with_a_new_memory_limit(memory, swap, new, expected):
    assert memory_swap(new, ContainerLimits(memory=memory, swap=swap)) == expected


def test_the_body_holds_only_what_changes():
    current = ContainerLimits(64 * MiB, 32 * MiB, 128 * MiB, nano_cpus=500_000_000)
    assert update_body(current, 96 * MiB, None, None) == {"Memory": 96 * MiB, "MemorySwap": 192 * MiB}
    assert update_body(current, None, 48 * MiB, None) == {"MemoryReservation": 48 * MiB}
    assert update_body(current, None, None, 1.0) == {"NanoCpus": 1_000_000_000}
    assert update_body(current, None, None, None) == {}


def test_a_quota_limited_container_keeps_its_kind_of_cpu_limit():
    # Docker refuses NanoCpus beside a CFS quota ("Conflicting options"), and a quota beside NanoCpus.
    quota = ContainerLimits(cpu_quota=50_000, cpu_period=50_000)
    assert update_body(quota, None, None, 1.5) == {"CpuPeriod": 50_000, "CpuQuota": 75_000}
    assert update_body(ContainerLimits(), None, None, 0.25) == {"NanoCpus": 250_000_000}


def test_the_engine_refusal_in_one_line():
    below = ("Cannot update container 3cf5b7fb21a4: runc did not terminate successfully: exit status 1: unable to "
             "set memory limit to 16777216 (current usage: 42500096, peak usage: 44011520)\n: unknown")
    assert engine_reason(below) == ("the kernel refused a limit of 16 MiB: the container uses 41 MiB "
                                    "(peak 42 MiB) and could not give enough back")
    conflict = ("Cannot update container 7961465cf48da6f6ba3970d94775cb11d2f8204849e6d06a9793c1432dc2044a: "
                "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
    assert engine_reason(conflict) == ("Conflicting options: CPU Period cannot be updated as NanoCPUs has already "
                                       "been set")
    assert engine_reason("Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available") == \
        "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
    assert "\n" not in engine_reason("a\nb\n: unknown")
    assert engine_reason("") == "the engine refused the update"


def refusing_engine(monkeypatch, status: int, explanation: str, kind: str = "Podman") -> SimpleNamespace:
    response = requests.Response()
    response.status_code = status

    def refuse(*_args, **_kwargs):
        raise docker.errors.APIError(f"{status} Client Error", response, explanation=explanation)

    monkeypatch.setattr(engine_update.dockerapi, "open_stream", refuse)
    return SimpleNamespace(api=SimpleNamespace(timeout=10.0), info=SimpleNamespace(kind=kind, version="4.3.1"))


def test_an_engine_without_the_endpoint_says_so(monkeypatch):
    # Podman 4.3.1 answers POST /containers/{id}/update with its router's bare "404 Not Found".
    engine = refusing_engine(monkeypatch, 404, "Not Found")
    with pytest.raises(UpdateUnsupported) as caught:
        update_limits(engine, "abc", 96 * MiB, None, None, current=ContainerLimits(64 * MiB, swap=128 * MiB))
    assert str(caught.value) == (
        "this engine does not support changing a running container's limits (Podman 4.3.1: its Docker-compatible "
        "API has no container update); write an override file and recreate the container instead")
    assert unsupported("Docker Engine", "19.03").startswith(
        "this engine does not support changing a running container's limits (Docker Engine 19.03: its API has no")


def test_a_missing_container_is_not_a_missing_endpoint(monkeypatch):
    engine = refusing_engine(monkeypatch, 404, "No such container: abc", kind="Docker Engine")
    with pytest.raises(UpdateFailed) as caught:
        update_limits(engine, "abc", 96 * MiB, None, None, current=ContainerLimits())
    assert not isinstance(caught.value, UpdateUnsupported)
    assert str(caught.value) == "No such container: abc"


def test_nothing_to_send_sends_nothing(monkeypatch):
    engine = refusing_engine(monkeypatch, 500, "must not be called")
    update_limits(engine, "abc", None, None, None, current=ContainerLimits())


# -- apply: every running replica, checked before the first is changed --------------------------------------


@dataclass
class FakeEngine:
    limits: dict[str, ContainerLimits]
    refuse: set[str]
    calls: list[tuple[str, int | None]]


@pytest.fixture
def fake(monkeypatch):
    stack = demo_stack()
    replicas = [container("api", number=1), container("api", number=2), container("redis", state="exited")]
    engine = FakeEngine({c.id: ContainerLimits(512 * MiB, 256 * MiB, 1024 * MiB) for c in replicas}, set(), [])

    def read(_engine, cid):
        return engine.limits[cid]

    def update(_engine, cid, memory, reservation, cpus, *, current):
        if cid in engine.refuse:
            raise UpdateFailed("the kernel refused a limit of 16.0 MiB")
        engine.calls.append((cid, memory))
        engine.limits[cid] = ContainerLimits(memory or current.memory, reservation or current.reservation)

    monkeypatch.setattr(ops_update, "read_project", lambda _e, _p: replicas)
    monkeypatch.setattr(ops_update, "read_limits", read)
    monkeypatch.setattr(ops_update, "update_limits", update)
    return stack, engine, replicas


def test_apply_changes_every_running_replica(fake):
    stack, engine, replicas = fake
    result = ops_update.apply(engine, stack, UpdateRequest("api", memory=768 * MiB))
    assert result.containers == (replicas[0].short_id, replicas[1].short_id)
    assert [c.after.memory for c in result.changes] == [768 * MiB, 768 * MiB]
    assert result.changes[0].before.memory == 512 * MiB
    assert "the next `compose up` (or skid recreate) resets these" in result.note


def test_apply_refuses_a_service_that_is_not_running(fake):
    stack, engine, _ = fake
    with pytest.raises(UpdateError, match=r"^redis is not running: start it first, its limits come from the compose"):
        ops_update.apply(engine, stack, UpdateRequest("redis", memory=768 * MiB))
    with pytest.raises(InvalidRequest, match="unknown service 'nope'"):
        ops_update.apply(engine, stack, UpdateRequest("nope", memory=768 * MiB))


def test_apply_checks_every_replica_before_changing_one(fake):
    stack, engine, _ = fake
    with pytest.raises(InvalidRequest, match="below skid-demo-api-1's reservation"):
        ops_update.apply(engine, stack, UpdateRequest("api", memory=128 * MiB))
    assert engine.calls == []


def test_a_refusal_midway_says_what_was_changed(fake):
    stack, engine, replicas = fake
    engine.refuse.add(replicas[1].id)
    with pytest.raises(UpdateError) as caught:
        ops_update.apply(engine, stack, UpdateRequest("api", memory=768 * MiB))
    assert str(caught.value) == f"skid-demo-api-2 ({replicas[1].short_id}): the kernel refused a limit of 16.0 MiB"
    assert [c.id for c in caught.value.done] == [replicas[0].short_id]


# -- what the command line prints ---------------------------------------------------------------------------


def test_one_line_per_container():
    change = ContainerChange("abc123", "demo-api-1", ContainerLimits(512 * MiB, 256 * MiB, nano_cpus=500_000_000),
                             ContainerLimits(768 * MiB, 384 * MiB, nano_cpus=1_000_000_000))
    request = UpdateRequest("api", 768 * MiB, 384 * MiB)
    assert change_line("api", change, request) == ("api: memory 512M -> 768M, reservation 256M -> 384M "
                                                   "(container abc123)")
    assert change_line("api", change, UpdateRequest("api", cpus=1.0)) == "api: cpus 0.5 -> 1 (container abc123)"
    assert not_kept(change, request) == []
    # An engine that says yes and changes nothing does not pass for one that changed it.
    same = ContainerChange("abc123", "demo-api-1", change.before, change.before)
    assert not_kept(same, request) == ["memory 512M, not 768M", "reservation 256M, not 384M"]


# -- the override file --------------------------------------------------------------------------------------


def test_compose_sizes():
    assert compose_size(768 * MiB) == "768M"
    assert compose_size(2 * GiB) == "2G"
    assert compose_size(1536 * MiB) == "1536M"
    assert compose_size(1500 * 1024) == "1500K"
    assert compose_size(1000) == 1000


def test_override_round_trips_with_exactly_the_keys_given():
    text = override_yaml([UpdateRequest("api", 768 * MiB, 384 * MiB, 1.0), UpdateRequest("redis", memory=96 * MiB)])
    assert yaml.safe_load(text) == {"services": {
        "api": {"deploy": {"resources": {"limits": {"memory": "768M", "cpus": "1"},
                                         "reservations": {"memory": "384M"}}}},
        "redis": {"deploy": {"resources": {"limits": {"memory": "96M"}}}},
    }}
    assert list(yaml.safe_load(text)["services"]["api"]["deploy"]["resources"]) == ["limits", "reservations"]
    only_reservation = yaml.safe_load(override_yaml([UpdateRequest("api", reservation=200 * MiB)]))
    assert only_reservation == {"services": {"api": {"deploy": {"resources": {"reservations": {"memory": "200M"}}}}}}
    assert yaml.safe_load(override_yaml([UpdateRequest("api", cpus=0.5)]))["services"]["api"]["deploy"] == \
        {"resources": {"limits": {"cpus": "0.5"}}}


def test_a_later_request_for_a_service_wins_key_by_key():
    text = override_yaml([UpdateRequest("api", 768 * MiB, 384 * MiB), UpdateRequest("api", memory=GiB, cpus=2.0)])
    assert yaml.safe_load(text)["services"]["api"]["deploy"]["resources"] == {
        "limits": {"memory": "1G", "cpus": "2"}, "reservations": {"memory": "384M"}}


def test_legacy_spelling_for_files_written_with_mem_limit():
    legacy = Spelling(frozenset({"legacy"}), frozenset({"legacy"}))
    text = override_yaml([UpdateRequest("hog", 96 * MiB, 48 * MiB, 0.5)], {"hog": legacy})
    assert yaml.safe_load(text) == {"services": {"hog": {"mem_limit": "96M", "mem_reservation": "48M", "cpus": "0.5"}}}
    both = Spelling(frozenset({"legacy", "deploy"}), frozenset({"deploy"}))
    doc = yaml.safe_load(override_yaml([UpdateRequest("hog", 96 * MiB, 48 * MiB)], {"hog": both}))
    assert doc["services"]["hog"] == {"mem_limit": "96M", "deploy": {"resources": {
        "limits": {"memory": "96M"}, "reservations": {"memory": "48M"}}}}


def test_spelling_read_from_the_compose_files(tmp_path):
    base = tmp_path / "base.yml"
    base.write_text("services:\n"
                    "  old: {image: x, mem_limit: 64m, cpus: 0.5}\n"
                    "  new: {image: x, deploy: {resources: {limits: {memory: 64M}, reservations: {memory: 32M}}}}\n"
                    "  plain: {image: x}\n"
                    "  mixed: {image: x, mem_reservation: 32m}\n")
    extra = tmp_path / "extra.yml"
    extra.write_text("services:\n  mixed: {deploy: {resources: {limits: {memory: 64M}}}}\n")
    spelled = compose_spelling([base, extra, tmp_path / "missing.yml"], ["old", "new", "plain", "mixed", "gone"])
    legacy, deploy = frozenset({"legacy"}), frozenset({"deploy"})
    assert spelled["old"] == Spelling(legacy, legacy)  # its reservation follows its limits
    assert spelled["new"] == Spelling(deploy, deploy)
    assert spelled["plain"] == Spelling(deploy, deploy)
    assert spelled["mixed"] == Spelling(deploy, legacy)
    assert spelled["gone"] == Spelling(deploy, deploy)


# -- the screen ---------------------------------------------------------------------------------------------


class ScreenApp(App[None]):
    CSS_PATH = str(Path(ui_screens.__file__).resolve().parent.parent / "skid.tcss")  # the dashboard's dialogs

    def __init__(self, screen: UpdateScreen) -> None:
        super().__init__()
        self.update_screen = screen
        self.answers: list[UpdateRequest | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.update_screen, self.answers.append)


def fields(screen: UpdateScreen) -> list[str]:
    return [screen.query_one(f"#update-{k}", Input).value for k in ("memory", "reservation", "cpus")]


def error(screen: UpdateScreen) -> str:
    return str(screen.query_one("#update-error", Static).content)


async def test_screen_prefills_and_applies_only_what_changed():
    screen = UpdateScreen("api", memory=512 * MiB, reservation=256 * MiB, cpus=0.5)
    app = ScreenApp(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert fields(screen) == ["512M", "256M", "0.5"]
        dialog = screen.query_one(".dialog")
        assert dialog.region.bottom <= 24 and dialog.region.right <= 80 and dialog.region.y >= 0
        await pilot.press("enter")
        await pilot.pause()
        assert "nothing changed" in error(screen) and app.screen is screen
        screen.query_one("#update-memory", Input).value = "768m"
        screen.query_one("#update-reservation", Input).value = "1g"
        await pilot.press("enter")
        await pilot.pause()
        assert "reservation 1.00 GiB is above the memory limit 768 MiB" in error(screen) and app.screen is screen
        screen.query_one("#update-reservation", Input).value = "384M"
        await pilot.press("enter")
        await pilot.pause()
    assert app.answers == [UpdateRequest("api", memory=768 * MiB, reservation=384 * MiB)]


async def test_screen_checks_against_the_current_limit_and_escape_cancels():
    screen = UpdateScreen("api", memory=512 * MiB, reservation=256 * MiB)
    app = ScreenApp(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert fields(screen) == ["512M", "256M", ""]
        screen.query_one("#update-memory", Input).value = ""  # blank: unchanged
        screen.query_one("#update-reservation", Input).value = "600m"
        await pilot.press("enter")
        await pilot.pause()
        assert "above api's memory limit 512 MiB" in error(screen)
        screen.query_one("#update-memory", Input).value = "lots"
        await pilot.press("enter")
        await pilot.pause()
        assert "malformed memory 'lots'" in error(screen)
        await pilot.press("escape")
        await pilot.pause()
    assert app.answers == [None]


def test_the_screen_takes_the_current_values_as_numbers():
    screen = UpdateScreen("api", memory=0, reservation=0, cpus=1.5)
    assert screen.current == ContainerLimits(nano_cpus=1_500_000_000)
    assert screen.current.cpus == 1.5
