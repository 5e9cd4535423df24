"""The repository's own compose files and profiles load cleanly and carry the strategy's budgets."""

from pathlib import Path

import pytest

from skid_tui.stack import Budget, load_stack

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "profiles"
MiB, GiB = 1024**2, 1024**3

# The containerization strategy's table: standard (reservation) / maximum (limit).
STRATEGY = {
    "api": (256 * MiB, 512 * MiB),
    "orchestrator": (256 * MiB, 512 * MiB),
    "binary-processor": (128 * MiB, 256 * MiB),
    "postgres": (256 * MiB, 512 * MiB),
    "redis": (128 * MiB, 256 * MiB),
    "minio": (256 * MiB, 512 * MiB),
    "llm-advisor": (1 * GiB, 2 * GiB),
    "typescript": (512 * MiB, 1 * GiB),
    "python": (512 * MiB, 1 * GiB),
    "go": (512 * MiB, 1 * GiB),
}


def needs(*paths: Path) -> None:
    missing = [str(p.relative_to(REPO)) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"not in this checkout yet: {', '.join(missing)}")


@pytest.mark.parametrize("name", ["skidbladnir.yml", "demo.yml"])
def test_repository_stack_has_the_strategy_budgets(name):
    compose = REPO / "compose" / name
    needs(compose, PROFILES)
    stack = load_stack([compose], PROFILES, environ={})
    for service, (standard, maximum) in STRATEGY.items():
        budget = stack.services[service].budget
        assert (budget.mem_standard, budget.mem_max) == (standard, maximum), service
    # 2,816 MB nominal and 5,632 MB at the limits: the laptop stack with one dev container
    one_dev = [s for s in STRATEGY if s not in ("python", "go")]
    assert sum(stack.services[s].budget.mem_standard for s in one_dev) == 2816 * MiB
    assert sum(stack.services[s].budget.mem_max for s in one_dev) == 5632 * MiB
    assert stack.services["postgres"].budget == Budget(256 * MiB, 512 * MiB, 0.25, 0.5)
    assert stack.profiles, "the profiles directory defines profiles"
    for profile in stack.profiles.values():
        assert set(profile.services) <= set(stack.services), profile.name
        for on_demand in profile.on_demand:
            assert on_demand.service in stack.services
            assert on_demand.idle_timeout > 0
    # the repository's own files must load without a warning, so users see none on a fresh clone
    assert [str(w) for w in stack.warnings] == []


@pytest.mark.parametrize("name", ["skidbladnir.yml", "demo.yml"])
def test_repository_stack_default_profile(name):
    compose = REPO / "compose" / name
    needs(compose)
    stack = load_stack([compose], environ={})
    (default,) = stack.profiles.values()
    assert default.name == "default"
    # the LLM advisor and the dev containers sit behind compose profiles: not started by plain `up`
    assert "llm-advisor" not in default.services
    assert {"postgres", "redis", "minio"} <= set(default.services)


def test_named_volumes_of_the_demo_stack_and_their_engine_names():
    from skid_tui.stack import load_stack

    stack = load_stack([str(REPO / "compose" / "demo.yml")], None, project_name="p")
    assert stack.services["postgres"].named_volumes == ("postgres_data",)
    assert stack.engine_volumes("postgres") == ["p_postgres_data"]
    assert stack.engine_volumes("api") == []
