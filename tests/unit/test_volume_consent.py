"""Which volumes an action deletes, worked out from the engine's answers (engine/volumes.py), and the
dashboard never asking compose for `-v`. The engine-backed story is tests/functional/test_volume_consent.py."""

from __future__ import annotations

from skid_tui.engine.volumes import Volume, is_anonymous, plan_volumes, usage_sizes
from skid_tui.ops.operations import Kind, compose_args

ANON = "7ab0eccb496db195608128b645c58fae29bfbfc9f9f5f858b9ef46f8aa0d7391"
ANON2 = "6a431777386b0bf670757e84c6e62222386273b0199f52bc73f1be326419bf50"
COMPOSE_LABELS = {"com.docker.compose.project": "p", "com.docker.compose.volume": "stuff"}


def container(service: str, *mounts: tuple[str, str, str], project: str = "p", oneoff: bool = False) -> dict:
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": service,
              "com.docker.compose.oneoff": "True" if oneoff else "False"}
    return {"Config": {"Labels": labels},
            "Mounts": [{"Type": kind, "Name": name, "Destination": dest} for kind, name, dest in mounts]}


def test_anonymous_means_engine_made_and_unlabelled():
    assert is_anonymous(ANON, None)
    assert is_anonymous(ANON, {"other": "x"})
    assert not is_anonymous(ANON, {"com.docker.compose.volume": "data"})  # compose named it so
    assert not is_anonymous("p_stuff", None)
    assert not is_anonymous(ANON.upper(), None)


def test_df_sizes_and_unknown_ones():
    df = {"Volumes": [{"Name": "a", "UsageData": {"Size": 4096, "RefCount": 1}},
                      {"Name": "b", "UsageData": {"Size": -1, "RefCount": -1}},  # not computed
                      {"Name": "c"}]}
    assert usage_sizes(df) == {"a": 4096, "b": None, "c": None}
    assert usage_sizes(None) == {}
    assert Volume("b", None, True).size_text() == "size unknown"
    assert Volume("a", 4096, True).size_text() == "4.0 KiB"


def test_an_anonymous_only_service_lists_its_anonymous_volume():
    containers = [container("anon", ("volume", ANON, "/data"))]
    plan = plan_volumes(containers, [{"Name": ANON, "Labels": None}], {ANON: 12288},
                        project="p", services={"anon"}, named=[])
    assert plan.going == (Volume(ANON, 12288, True, (("anon", "/data"),)),)
    assert plan.going[0].describe() == f"{ANON}  12 KiB  (anonymous, anon:/data)"
    assert plan.shared == ()


def test_named_then_anonymous_and_only_what_exists():
    containers = [container("db", ("volume", "p_stuff", "/data"), ("volume", ANON, "/more"),
                            ("bind", "", "/src"))]
    existing = [{"Name": "p_stuff", "Labels": COMPOSE_LABELS}, {"Name": ANON, "Labels": {}}]
    plan = plan_volumes(containers, existing, {}, project="p", services={"db"}, named=["p_stuff", "p_missing"])
    assert [(v.name, v.anonymous, v.size) for v in plan.going] == [("p_stuff", False, None), (ANON, True, None)]
    assert plan.going[0].describe() == "p_stuff  size unknown  (named, db:/data)"


def test_other_services_other_projects_and_one_offs_keep_their_volumes():
    containers = [
        container("anon", ("volume", ANON, "/data")),
        container("web", ("volume", ANON2, "/cache")),  # another service's: not asked for
        container("anon", ("volume", "q_x", "/x"), project="q"),  # another project
        container("anon", ("volume", "p_stuff", "/s"), oneoff=True),  # a `compose run` that stays
    ]
    existing = [{"Name": ANON}, {"Name": ANON2}, {"Name": "q_x"}, {"Name": "p_stuff", "Labels": COMPOSE_LABELS}]
    plan = plan_volumes(containers, existing, {}, project="p", services={"anon"}, named=["p_stuff"])
    assert [v.name for v in plan.going] == [ANON]
    assert [v.name for v in plan.shared] == ["p_stuff"]
    # An anonymous volume mounted by two services (volumes_from) goes with neither alone...
    shared = [container("anon", ("volume", ANON, "/data")), container("web", ("volume", ANON, "/data"))]
    plan = plan_volumes(shared, [{"Name": ANON}], {}, project="p", services={"anon"}, named=[])
    assert plan.going == () and [v.name for v in plan.shared] == [ANON]
    # ...and with both at once (`down --volumes`).
    plan = plan_volumes(shared, [{"Name": ANON}], {}, project="p", services={"anon", "web"}, named=[])
    assert [v.name for v in plan.going] == [ANON]


def test_names_are_shown_not_obeyed():
    vol = Volume("evil\x1b]0;PWNED\x07", None, False, (("s\x1b[2J", "/d"),))
    assert "\x1b" not in vol.describe() and "\x07" not in vol.describe() and "^[" in vol.describe()


def test_the_dashboard_never_asks_compose_to_delete_volumes():
    for kind in Kind:
        args = compose_args(kind, ("api",))
        assert not {"-v", "--volumes", "-V", "--renew-anon-volumes", "down"} & set(args), (kind, args)
    assert compose_args(Kind.RECREATE, ("api",)) == ("up", "-d", "--force-recreate", "--no-deps", "api")
    assert "-v" not in compose_args("remove-data", ("anon",))
    assert compose_args("remove-data", ("anon",)) == ("rm", "--stop", "--force", "anon")
