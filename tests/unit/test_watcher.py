"""The watcher's event handling, on a scripted engine: reconcile, apply events, lose and regain it."""

import json
import queue
import threading
import time
from pathlib import Path

import pytest

from skid_tui.engine import watcher as watcher_mod
from skid_tui.engine.client import Attempt, EngineInfo, EngineUnavailable
from skid_tui.engine.discovery import EngineCandidate
from skid_tui.engine.watcher import EarlyWatch, EngineStatus, ServiceUpdate, StackWatcher, event_action

DATA = Path(__file__).parent / "data"
CANDIDATE = EngineCandidate("unix:///fake.sock", "test")
INFO = EngineInfo("Docker Engine", "20.10", "1.41", "Debian", 8 << 30, 2, CANDIDATE)
END = object()


def doc(cid: str, service: str, status: str = "running", health: str | None = "healthy", project="rec") -> dict:
    d = json.loads((DATA / "inspect_docker_running.json").read_text())
    d["Id"] = cid
    d["Config"]["Labels"]["com.docker.compose.service"] = service
    d["Config"]["Labels"]["com.docker.compose.project"] = project
    d["State"]["Status"] = status
    if health is None:
        del d["State"]["Health"]
    else:
        d["State"]["Health"]["Status"] = health
    return d


class Stream:
    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()
        self.closed = False

    def __iter__(self):
        return self

    def __next__(self):
        item = self.q.get(timeout=5)
        while callable(item):  # a change to the engine's state, applied in order with the events
            item()
            item = self.q.get(timeout=5)
        if item is END:
            raise StopIteration
        return item

    def close(self) -> None:
        self.closed = True
        self.q.put(END)


class FakeEngine:
    def __init__(self, docs: dict[str, dict]) -> None:
        self.docs = docs
        self.info = INFO
        self.stream = Stream()
        self.inspects = 0

    def project_containers(self, project):
        return [cid for cid, d in self.docs.items() if d["Config"]["Labels"]["com.docker.compose.project"] == project]

    def inspect(self, cid):
        self.inspects += 1
        return self.docs.get(cid)

    def project_events(self, project):
        return self.stream

    def close(self):
        pass


def event(action: str, cid: str, service: str) -> dict:
    return {"Type": "container", "Action": action,
            "Actor": {"ID": cid, "Attributes": {"com.docker.compose.service": service}}}


class Recorder:
    def __init__(self) -> None:
        self.updates: list = []
        self.cond = threading.Condition()

    def __call__(self, update) -> None:
        with self.cond:
            self.updates.append(update)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=5.0):
        with self.cond:
            assert self.cond.wait_for(lambda: any(predicate(u) for u in self.updates), timeout), self.updates
            return next(u for u in self.updates if predicate(u))

    def services(self, name):
        return [u for u in self.updates if isinstance(u, ServiceUpdate) and u.service == name]


@pytest.fixture
def run_watcher(monkeypatch):
    started = []

    def start(engines: list):
        rec = Recorder()

        def first_answering(candidates, timeout):
            if not engines:
                raise EngineUnavailable([Attempt(CANDIDATE, "connection refused")])
            return engines.pop(0)

        monkeypatch.setattr(watcher_mod.Engine, "first_answering", staticmethod(first_answering))
        w = StackWatcher("rec", lambda: [CANDIDATE], rec, retry_interval=0.05, stats=None)
        t = threading.Thread(target=w.run, daemon=True)
        t.start()
        started.append((w, t))
        return w, rec

    yield start
    for w, t in started:
        w.stop()
        t.join(5)
        assert not t.is_alive()


def test_reconcile_then_events(run_watcher):
    engine = FakeEngine({"a": doc("a", "redis"), "x": doc("x", "redis", project="other")})
    _w, rec = run_watcher([engine])
    rec.wait_for(lambda u: isinstance(u, EngineStatus) and u.state == "connected")
    [first] = rec.services("redis")
    assert [c.id for c in first.containers] == ["a"] and first.event is None

    engine.docs["b"] = doc("b", "postgres", health="starting")
    engine.stream.q.put(event("start", "b", "postgres"))
    up = rec.wait_for(lambda u: isinstance(u, ServiceUpdate) and u.service == "postgres")
    assert up.containers[0].health == "starting" and up.event == "start"

    engine.stream.q.put(lambda: engine.docs.update(b=doc("b", "postgres", health="healthy")))
    engine.stream.q.put(event("health_status: healthy", "b", "postgres"))
    rec.wait_for(lambda u: isinstance(u, ServiceUpdate) and u.event == "health_status")

    engine.stream.q.put(lambda: engine.docs.pop("b"))
    engine.stream.q.put(event("destroy", "b", "postgres"))
    gone = rec.wait_for(lambda u: isinstance(u, ServiceUpdate) and u.event == "destroy")
    assert gone.service == "postgres" and gone.containers == ()


def test_events_that_change_nothing_are_not_passed_on(run_watcher):
    engine = FakeEngine({"a": doc("a", "redis")})
    _w, rec = run_watcher([engine])
    rec.wait_for(lambda u: isinstance(u, EngineStatus) and u.state == "connected")
    for _ in range(3):
        engine.stream.q.put(event("exec_start", "a", "redis"))
    engine.stream.q.put(lambda: engine.docs.update(a=doc("a", "redis", status="exited", health=None)))
    engine.stream.q.put(event("die", "a", "redis"))
    rec.wait_for(lambda u: isinstance(u, ServiceUpdate) and u.event == "die")
    assert len(rec.services("redis")) == 2  # the reconcile, then the die; the execs changed nothing


def test_unreachable_then_lost_then_back(run_watcher):
    first = FakeEngine({"a": doc("a", "redis")})
    second = FakeEngine({})
    engines = [first]
    _w, rec = run_watcher(engines)
    rec.wait_for(lambda u: isinstance(u, EngineStatus) and u.state == "connected")
    first.stream.q.put(END)  # the daemon went away: its stream ends
    lost = rec.wait_for(lambda u: isinstance(u, EngineStatus) and u.state == "lost")
    assert "engine lost" in lost.message
    engines.append(second)  # it comes back, with the container gone
    rec.wait_for(lambda u: isinstance(u, ServiceUpdate) and u.service == "redis" and u.containers == ())
    states = [u.state for u in rec.updates if isinstance(u, EngineStatus)]
    assert states[0] == "connecting" and states[-1] == "connected" and "lost" in states


def test_never_reachable(run_watcher):
    _w, rec = run_watcher([])
    status = rec.wait_for(lambda u: isinstance(u, EngineStatus) and u.state == "unreachable")
    assert status.attempts[0].error == "connection refused"


def test_early_watch_holds_updates_until_a_listener_then_hands_them_over_in_order(monkeypatch):
    engine = FakeEngine({"a": doc("a", "redis", project="early")})
    monkeypatch.setattr(watcher_mod.Engine, "first_answering", staticmethod(lambda candidates, timeout: engine))
    early = EarlyWatch("early", lambda: [CANDIDATE], stats=None)
    # Before anyone listens (Textual still loading), the watcher connects and reads the project.
    deadline = time.monotonic() + 5
    while not any(isinstance(u, EngineStatus) and u.state == "connected" for u in early.relay._held):
        assert time.monotonic() < deadline, early.relay._held
        time.sleep(0.01)
    rec = Recorder()
    follower = threading.Thread(target=early.follow, args=(rec,), daemon=True)
    follower.start()
    rec.wait_for(lambda u: isinstance(u, EngineStatus) and u.state == "connected")
    engine.docs["a"]["State"]["Status"] = "exited"
    engine.stream.q.put(event("die", "a", "redis"))  # after the handover: straight to the listener
    rec.wait_for(lambda u: isinstance(u, ServiceUpdate) and u.event == "die")
    kinds = [(type(u).__name__, getattr(u, "state", None) or getattr(u, "event", None)) for u in rec.updates]
    assert kinds == [("EngineStatus", "connecting"), ("ServiceUpdate", None), ("EngineStatus", "connected"),
                     ("EngineEvent", None), ("ServiceUpdate", "die")], kinds
    early.watcher.stop()
    follower.join(5)
    assert not follower.is_alive()


def test_early_watch_follow_raises_what_the_watcher_raised(monkeypatch):
    def broken(candidates, timeout):
        raise RuntimeError("a bug in discovery")

    monkeypatch.setattr(watcher_mod.Engine, "first_answering", staticmethod(broken))
    early = EarlyWatch("early", lambda: [CANDIDATE], stats=None)
    with pytest.raises(RuntimeError, match="a bug in discovery"):
        early.follow(Recorder())


def test_event_action_strips_detail():
    assert event_action({"Action": "health_status: unhealthy"}) == "health_status"
    assert event_action({"status": "die"}) == "die"
