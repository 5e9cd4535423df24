"""ops.narrow: the panels' filter, sort and hide-what-is-off."""

from skid_tui.ops.narrow import Facts, narrow, next_sort

ORDER = ["postgres", "redis", "api", "llm-advisor", "go"]
FACTS = {
    "postgres": Facts("postgres", "running", "skid-demo/postgres:latest", "healthy", 220 << 20, 1.0),
    "redis": Facts("redis", "running", "skid-demo/redis:latest", "healthy", 110 << 20, 5.0),
    "api": Facts("api", "exited", "skid-demo/api:latest"),
    "llm-advisor": Facts("llm-advisor", "running", "skid-demo/llm-advisor:latest", "starting", 1200 << 20, 0.5),
    "go": Facts("go", "not created", "skid-demo/devbox:latest"),
}


def test_filter_by_name_state_health_or_image_every_word():
    assert narrow(ORDER, FACTS, query="red") == ["redis"]
    assert narrow(ORDER, FACTS, query="RUNNING") == ["postgres", "redis", "llm-advisor"]
    assert narrow(ORDER, FACTS, query="devbox") == ["go"]
    assert narrow(ORDER, FACTS, query="running healthy") == ["postgres", "redis"]
    assert narrow(ORDER, FACTS, query="nothing-like-it") == []


def test_sorts_and_hiding_what_is_off():
    assert narrow(ORDER, FACTS, sort="name") == ["api", "go", "llm-advisor", "postgres", "redis"]
    assert narrow(ORDER, FACTS, sort="memory") == ["llm-advisor", "postgres", "redis", "api", "go"]
    assert narrow(ORDER, FACTS, sort="cpu") == ["redis", "postgres", "llm-advisor", "api", "go"]
    assert narrow(ORDER, FACTS, hide_off=True) == ["postgres", "redis", "llm-advisor"]
    assert narrow(ORDER, FACTS) == ORDER
    assert [next_sort(s) for s in ("profile", "name", "memory", "cpu", "?")] == ["name", "memory", "cpu", "profile",
                                                                                "profile"]
