"""The events timeline: engine JSON in both shapes, the words, dedup, bound, restarts and crash loops."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from skid_tui.ops.events import ProjectEvent, Timeline, describe, event_from_doc, past_events

T0 = 1733580000  # seconds
NS = 1_000_000_000


def doc(action: str, t: float = 0.0, service: str = "api", cid: str = "c1", name: str = "demo-api-1", **attrs):
    nano = int((T0 + t) * NS)
    attributes = {
        "com.docker.compose.service": service,
        "com.docker.compose.project": "demo",
        "name": name,
        "image": "demo-api",
        **{k: str(v) for k, v in attrs.items()},
    }
    return {
        "Type": "container",
        "Action": action,
        "Actor": {"ID": cid, "Attributes": attributes},
        "time": nano // NS,
        "timeNano": nano,
    }


def event(action: str, t: float = 0.0, **kw) -> ProjectEvent:
    e = event_from_doc(doc(action, t, **kw))
    assert e is not None
    return e


def at(t: float) -> datetime:
    return datetime.fromtimestamp(T0, UTC) + timedelta(seconds=t)


# event_from_doc


def test_docker_die():
    e = event("die", 1.5, exitCode=137)
    assert e.action == "die" and e.exit_code == 137 and e.signal == "SIGKILL"
    assert e.service == "api" and e.container == "demo-api-1" and e.container_id == "c1"
    assert e.at == at(1.5) and e.at.tzinfo is UTC
    assert e.nano == (T0 * NS) + NS * 3 // 2


def test_podman_died_with_container_exit_code():
    d = doc("died", 0, containerExitCode=1)
    e = event_from_doc(d)
    assert e is not None and e.action == "die" and e.exit_code == 1 and e.signal is None


def test_time_without_nanos():
    d = doc("start")
    del d["timeNano"]
    e = event_from_doc(d)
    assert e is not None and e.at == at(0)


def test_docker_health():
    e = event("health_status: unhealthy")
    assert e.action == "health_status" and e.health == "unhealthy"


def test_podman_health_attribute():
    e = event("health_status", health_status="unhealthy")
    assert e.action == "health_status" and e.health == "unhealthy"


def test_podman5_health_top_level():
    d = doc("health_status")
    d["HealthStatus"] = "healthy"
    e = event_from_doc(d)
    assert e is not None and e.health == "healthy"


def test_kill_signal_number_and_name():
    assert event("kill", signal=9).signal == "SIGKILL"
    assert event("kill", signal="SIGTERM").signal == "SIGTERM"
    assert event("kill", signal="HUP").signal == "SIGHUP"


def test_aliases_and_dropped():
    assert event("remove").action == "destroy"
    assert event_from_doc({**doc("start"), "Type": "network"}) is None
    assert event_from_doc(doc("start", service="")) is None
    assert event_from_doc(doc("exec_die", exitCode=0)) is None
    assert event_from_doc(doc("cleanup")) is None
    no_time = doc("start")
    del no_time["time"], no_time["timeNano"]
    assert event_from_doc(no_time) is None


def test_missing_type_is_a_container_event():
    d = doc("start")
    del d["Type"]
    assert event_from_doc(d) is not None


# wording


def test_wording():
    cases = [
        (event("start"), "api started"),
        (event("die", exitCode=1), "api died (exit 1)"),
        (event("die", exitCode=0), "api exited (exit 0)"),
        (event("die", exitCode=137), "api died (exit 137: killed, SIGKILL)"),
        (event("die", exitCode=143), "api died (exit 143: SIGTERM)"),
        (event("kill", signal=9), "api was killed (SIGKILL)"),
        (event("kill", signal=15), "api was sent SIGTERM"),
        (event("oom"), "api ran out of memory (OOM)"),
        (event("health_status: unhealthy"), "api is unhealthy"),
        (event("health_status: healthy"), "api is healthy"),
        (event("restart"), "api restarted"),
        (event("pause"), "api paused"),
        (event("unpause"), "api unpaused"),
        (event("stop"), "api stopped"),
        (event("destroy"), "api was removed"),
        (event("create"), "api was created"),
    ]
    for e, words in cases:
        assert e.describe() == words


def test_describe_oom_killed_needs_an_oom_close_before():
    oom, die = event("oom", 10.0), event("die", 11.5, exitCode=137)
    assert describe([oom, die]) == ["api ran out of memory (OOM)", "api died (exit 137, OOM-killed)"]
    assert describe([die, oom]) == ["api died (exit 137, OOM-killed)", "api ran out of memory (OOM)"]
    assert describe([die]) == ["api died (exit 137: killed, SIGKILL)"]
    late = event("die", 20, exitCode=137)
    assert describe([oom, late])[1] == "api died (exit 137: killed, SIGKILL)"
    other = event("die", 11, exitCode=137, cid="c2", name="demo-api-2")
    assert describe([oom, other])[1] == "api died (exit 137: killed, SIGKILL)"
    not_137 = event("die", 11, exitCode=1)
    assert describe([oom, not_137])[1] == "api died (exit 1)"


def test_describe_healthy_again():
    words = describe(
        [event("health_status: healthy", 0), event("health_status: unhealthy", 30), event("health_status: healthy", 60)]
    )
    assert words == ["api is healthy", "api is unhealthy", "api is healthy again"]


def test_timeline_marks_oom_either_order():
    t = Timeline()
    t.add(event("oom", 10))
    t.add(event("die", 11, exitCode=137))
    assert t.events()[0].oom
    t2 = Timeline()
    t2.add(event("die", 11, exitCode=137))
    t2.add(event("oom", 10))  # the past hour arriving after the live stream
    died = next(e for e in t2.events() if e.action == "die")
    assert died.oom and died.describe() == "api died (exit 137, OOM-killed)"


# the timeline


def test_dedup():
    t = Timeline()
    assert t.add(event("die", 1, exitCode=1))
    assert not t.add(event("die", 1, exitCode=1))
    assert t.extend([event("die", 1, exitCode=1), event("start", 2)]) == 1
    assert len(t) == 2
    # Same second, another nanosecond: another event.
    assert t.add(replace(event("die", 1, exitCode=1), nano=T0 * NS + NS + 1))


def test_bound_drops_oldest():
    t = Timeline(maxlen=3)
    for i in range(5):
        t.add(event("start", i, cid=f"c{i}"))
    assert [e.container_id for e in t.events(newest_first=False)] == ["c2", "c3", "c4"]
    assert not t.add(event("start", -1, cid="old"))  # older than all of a full timeline
    assert len(t) == 3
    # A dropped event may come back in order again once it is newer than what is held.
    assert t.add(event("start", 10, cid="c0"))


def test_newest_first_even_when_added_out_of_order():
    t = Timeline()
    t.extend([event("start", 5), event("create", 0), event("die", 9, exitCode=1)])
    assert [e.action for e in t.events()] == ["die", "start", "create"]
    assert [e.action for e in t.events(newest_first=False)] == ["create", "start", "die"]


def test_repeated_health_dropped_until_a_new_run():
    t = Timeline()
    assert t.add(event("health_status", 0, health_status="healthy"))
    assert not t.add(event("health_status", 30, health_status="healthy"))  # Podman: one per check
    assert t.add(event("health_status", 60, health_status="unhealthy"))
    t.add(event("die", 70, exitCode=1))
    t.add(event("start", 71))
    assert t.add(event("health_status", 90, health_status="unhealthy"))


def cycles(t: Timeline, start: float, n: int, every: float, *, service: str = "api", cid: str = "c1") -> None:
    for i in range(n):
        base = start + i * every
        t.add(event("die", base, exitCode=1, service=service, cid=cid))
        t.add(event("start", base + 1, service=service, cid=cid))


def test_restarts_counting():
    t = Timeline()
    t.add(event("create", 0))
    t.add(event("start", 1))  # its first start: not a restart
    assert t.restarts("api") == 0
    cycles(t, 10, 2, 10)
    assert t.restarts("api") == 2
    # `docker restart`: kill, die, stop, start, restart is one restart.
    for i, action in enumerate(["kill", "die", "stop", "start", "restart"]):
        t.add(event(action, 100 + i, exitCode=143, signal=15))
    assert t.restarts("api") == 3
    assert t.restarts("db") == 0


def test_restart_action_alone_counts():
    t = Timeline()
    t.add(event("restart", 5))
    assert t.restarts("api") == 1
    t2 = Timeline()  # the stop was before the window: its start is the first seen, the restart counts
    t2.extend([event("start", 1), event("restart", 2)])
    assert t2.restarts("api") == 1


def test_restarts_per_container_of_a_service():
    t = Timeline()
    t.add(event("start", 0, cid="c1"))
    t.add(event("start", 0.5, cid="c2", name="demo-api-2"))  # a second replica: not a restart
    assert t.restarts("api") == 0
    cycles(t, 10, 1, 10, cid="c2")
    assert t.restarts("api") == 1


def test_crash_loop_three_cycles_in_five_minutes():
    t = Timeline()
    t.add(event("start", 0))
    cycles(t, 10, 3, 60)
    assert t.crash_looping(at(200)) == {"api"}
    assert t.crash_looping(at(600)) == set()  # five minutes later it is over (or has given up)


def test_crash_loop_two_is_not_enough():
    t = Timeline()
    cycles(t, 10, 2, 30)
    assert t.crash_looping(at(100)) == set()


def test_no_crash_loop_when_spread_over_twenty_minutes():
    t = Timeline()
    cycles(t, 0, 3, 600)
    assert t.restarts("api") == 3
    assert t.crash_looping(at(1201)) == set()


def test_no_crash_loop_after_user_stops():
    t = Timeline()
    t.add(event("start", 0))
    for i in range(3):
        base = 10 + 30 * i
        t.add(event("kill", base, signal=15))
        t.add(event("die", base + 1, exitCode=143))
        t.add(event("stop", base + 2))
        t.add(event("start", base + 3))
    assert t.restarts("api") == 3
    assert t.crash_looping(at(120)) == set()


def test_docker_stop_after_die_is_a_user_stop_too():
    t = Timeline()
    t.add(event("start", 0))
    for i in range(3):
        t.add(event("die", 10 + 30 * i, exitCode=0))
        t.add(event("stop", 10.5 + 30 * i))
        t.add(event("start", 20 + 30 * i))
    assert t.crash_looping(at(120)) == set()


def test_crash_loop_counts_across_replicas_and_names_the_service():
    t = Timeline()
    cycles(t, 0, 2, 20, cid="c1")
    cycles(t, 5, 1, 20, cid="c2")
    cycles(t, 0, 3, 20, service="db", cid="d1")
    cycles(t, 0, 1, 20, service="web", cid="w1")
    assert t.crash_looping(at(100)) == {"api", "db"}


def test_naive_now_is_utc():
    t = Timeline()
    cycles(t, 0, 3, 10)
    assert t.crash_looping(at(60).replace(tzinfo=None)) == {"api"}


# past_events, on a scripted engine


class FakeStream:
    def __init__(self, docs):
        self.docs = docs
        self.closed = False

    def __iter__(self):
        return iter(self.docs)

    def close(self):
        self.closed = True


class FakeAPI:
    def __init__(self, docs):
        self.stream = FakeStream(docs)
        self.calls = []

    def events(self, **kwargs):
        self.calls.append(kwargs)
        return self.stream


class FakeEngine:
    def __init__(self, docs):
        self.api = FakeAPI(docs)


def test_past_events_asks_for_the_project_and_range():
    docs = [doc("start", 5), {"Type": "network", "Action": "connect"}, doc("die", 1, exitCode=1)]
    engine = FakeEngine(docs)
    found = past_events(engine, "demo", at(0.5), at(9.5))
    assert [e.action for e in found] == ["die", "start"]
    (call,) = engine.api.calls
    assert call["since"] == T0 and call["until"] == T0 + 10 and call["decode"] is True
    assert call["filters"]["type"] == ["container"]
    assert call["filters"]["label"] == ["com.docker.compose.project=demo"]
    assert "die" in call["filters"]["event"]
    assert engine.api.stream.closed
