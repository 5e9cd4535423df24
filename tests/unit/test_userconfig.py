"""The user's config file: every setting read, every mistake one issue at its line, the rest still applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from skid_tui.ops.userconfig import (
    ConfigIssue,
    UserConfig,
    config_path,
    keymap,
    load_config,
    parse_duration,
)

BINDINGS = {
    "app.toggle": "space,enter",
    "app.logs": "l",
    "app.quit": "q",
    "panel.filter": "f",
    "log.search": "slash",
    "log.follow": "f",
    "inspect.close": "escape",
}
THEMES = ("textual-dark", "textual-light", "nord")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def load(path: Path):
    return load_config(path, bindings=BINDINGS, themes=THEMES)


def test_a_good_file_sets_every_setting(tmp_path):
    path = write(
        tmp_path,
        """\
theme = "nord"
refresh = 2
stats = "cgroup"
compose = ["/abs/a.yml", "b.yml"]
profile = "minimal"
idle_stop = "1h30m"
mouse = false

[keys]
"app.toggle" = " space , t "
app.logs = "o"
"log.search" = "ctrl+f,/"
""",
    )
    config, issues = load(path)
    assert issues == []
    assert config.theme == "nord"
    assert config.refresh == 2.0 and isinstance(config.refresh, float)
    assert config.stats == "cgroup"
    assert config.compose == ("/abs/a.yml", str(tmp_path / "b.yml"))
    assert config.profile == "minimal"
    assert config.idle_stop == 5400.0 and config.idle_stop_set
    assert config.mouse is False
    assert config.path == path
    assert keymap(config) == {"app.toggle": "space,t", "app.logs": "o", "log.search": "ctrl+f,/"}


def test_a_missing_file_is_the_defaults_silently(tmp_path):
    assert load(tmp_path / "nope.toml") == (UserConfig(), [])


def test_an_empty_file_is_the_defaults(tmp_path):
    config, issues = load(write(tmp_path, "# nothing yet\n"))
    assert issues == [] and config == UserConfig(path=tmp_path / "config.toml")
    assert not config.idle_stop_set and keymap(config) == {}


def test_a_toml_syntax_error_gives_tomls_line_and_the_defaults(tmp_path):
    path = write(tmp_path, 'theme = "nord"\nrefresh = 1.0\nstats = "api\nmouse = true\n')
    config, issues = load(path)
    assert config == UserConfig(path=path)
    assert len(issues) == 1
    assert issues[0].line == 3
    assert "not valid TOML" in issues[0].message and "(at line" not in issues[0].message


def test_an_unreadable_file_is_one_issue(tmp_path):
    path = tmp_path / "config.toml"
    path.mkdir()
    config, issues = load(path)
    assert config == UserConfig(path=path)
    assert [i.line for i in issues] == [0]


def test_an_unknown_setting_is_reported_at_its_line_and_the_rest_applies(tmp_path):
    path = write(tmp_path, 'theme = "nord"\n\n# colours\ncolour = "red"\nmouse = true\n')
    config, issues = load(path)
    assert config.theme == "nord" and config.mouse is True
    assert len(issues) == 1
    assert issues[0].line == 4
    assert issues[0].message.startswith("unknown setting 'colour' (expected one of: theme, refresh, stats, ")


def test_an_unknown_table_is_reported_at_its_header(tmp_path):
    _, issues = load(write(tmp_path, 'mouse = true\n\n[colours]\nbg = "red"\n'))
    assert [(i.line, i.message[:25]) for i in issues] == [(3, "unknown setting 'colours'")]


def test_a_bad_stats_mode(tmp_path):
    config, issues = load(write(tmp_path, 'refresh = 1\nstats = "psutil"\n'))
    assert config.stats is None and config.refresh == 1.0
    assert [(i.line, i.message) for i in issues] == [
        (2, "unknown stats mode 'psutil' (expected one of: auto, cgroup, api, agent)")
    ]


@pytest.mark.parametrize("value", ["0.1", "11", '"fast"', "true", "nan"])
def test_a_bad_refresh(tmp_path, value):
    config, issues = load(write(tmp_path, f'mouse = true\nrefresh = {value}\nstats = "api"\n'))
    assert config.refresh is None and config.stats == "api" and config.mouse is True
    assert len(issues) == 1 and issues[0].line == 2
    assert issues[0].message.startswith("refresh must be")
    assert "0.5" in issues[0].message and "10" in issues[0].message


def test_a_bad_duration(tmp_path):
    config, issues = load(write(tmp_path, 'idle_stop = "soon"\nprofile = "full"\n'))
    assert config.idle_stop is None and not config.idle_stop_set and config.profile == "full"
    assert [(i.line, i.message) for i in issues] == [
        (1, 'idle_stop must be a duration like "90s", "10m", "1h", or "off", not \'soon\'')
    ]


@pytest.mark.parametrize(("value", "seconds"), [('"off"', None), ('"0"', None), ("false", None), ("90", 90.0)])
def test_idle_stop_off_is_set_but_none(tmp_path, value, seconds):
    config, issues = load(write(tmp_path, f"idle_stop = {value}\n"))
    assert issues == []
    assert config.idle_stop_set and config.idle_stop == seconds


def test_parse_duration():
    assert parse_duration("90s") == 90.0
    assert parse_duration("10m") == 600.0
    assert parse_duration(" 1H ") == 3600.0
    assert parse_duration("1h30m") == 5400.0
    assert parse_duration("2.5m") == 150.0
    assert parse_duration("45") == 45.0
    for off in ("0", "off", "never", "OFF", "0s"):
        assert parse_duration(off) is None
    for junk in ("", "soon", "10x", "-5s", "m", "1h soon"):
        with pytest.raises(ValueError):
            parse_duration(junk)


def test_wrong_types_name_the_setting(tmp_path):
    path = write(tmp_path, 'theme = 3\ncompose = [1]\nprofile = ""\nmouse = "yes"\ntheme2 = 1\n')
    config, issues = load(path)
    assert config == UserConfig(path=path)
    assert [i.line for i in issues] == [1, 2, 3, 4, 5]
    assert [i.message.split()[0] for i in issues] == ["theme", "compose", "profile", "mouse", "unknown"]


def test_an_unknown_theme_only_when_themes_are_given(tmp_path):
    path = write(tmp_path, 'theme = "solarized"\n')
    config, issues = load(path)
    assert config.theme is None
    assert issues[0].message.startswith("unknown theme 'solarized' (expected one of: nord, ")
    config, issues = load_config(path)
    assert config.theme == "solarized" and issues == []


def test_an_unknown_binding_id_is_reported_at_its_line(tmp_path):
    path = write(tmp_path, 'mouse = true\n[keys]\n"app.logs" = "o"\n\n"app.nope" = "x"\n')
    config, issues = load(path)
    assert keymap(config) == {"app.logs": "o"}
    assert [(i.line, i.message) for i in issues] == [(5, "unknown binding id 'app.nope' (`skid keys` lists them)")]


def test_any_binding_id_without_a_list_of_bindings(tmp_path):
    config, issues = load_config(write(tmp_path, '[keys]\n"app.nope" = "x"\n'))
    assert issues == [] and keymap(config) == {"app.nope": "x"}


@pytest.mark.parametrize("bad", ["ctrl+", "Enter", "hyper+a", "ab", "f25", "ctrl+shift+"])
def test_a_bad_key_name(tmp_path, bad):
    config, issues = load(write(tmp_path, f'[keys]\n"app.logs" = "o"\n"app.quit" = "x,{bad}"\n'))
    assert keymap(config) == {"app.logs": "o"}
    assert [(i.line, i.message) for i in issues] == [(3, f"{bad!r} is not a key name")]


@pytest.mark.parametrize("good", ["ctrl+l", "ctrl+shift+up", "f24", "question_mark", "?", "A", "alt+7", "meta+tilde"])
def test_good_key_names(tmp_path, good):
    config, issues = load(write(tmp_path, f'[keys]\n"app.quit" = "{good}"\n'))
    assert issues == [] and keymap(config) == {"app.quit": good}


def test_an_empty_keys_string_is_an_error(tmp_path):
    config, issues = load(write(tmp_path, '[keys]\n"app.quit" = " "\n'))
    assert keymap(config) == {}
    assert [i.line for i in issues] == [2] and "empty" in issues[0].message


def test_a_clash_between_two_user_mappings(tmp_path):
    path = write(tmp_path, '[keys]\n"app.toggle" = "o"\n"app.logs" = "o"\n"app.quit" = "x"\n')
    config, issues = load(path)
    assert [(i.line, i.message) for i in issues] == [(2, "key 'o' is bound to both app.logs and app.toggle")]
    assert keymap(config) == {"app.quit": "x"}  # both dropped: their defaults keep working


def test_a_clash_between_a_user_mapping_and_a_default(tmp_path):
    path = write(tmp_path, '[keys]\n"app.quit" = "x"\n"app.logs" = "enter"\n')
    config, issues = load(path)
    assert [(i.line, i.message) for i in issues] == [(3, "key 'enter' is bound to both app.logs and app.toggle")]
    assert keymap(config) == {"app.quit": "x"}


def test_app_and_panel_bindings_clash_but_other_scopes_do_not(tmp_path):
    path = write(tmp_path, '[keys]\n"app.logs" = "f"\n"inspect.close" = "l"\n')
    config, issues = load(path)
    assert [(i.line, i.message) for i in issues] == [(2, "key 'f' is bound to both app.logs and panel.filter")]
    assert keymap(config) == {"inspect.close": "l"}


def test_a_character_and_its_name_are_the_same_key(tmp_path):
    _, issues = load(write(tmp_path, '[keys]\n"log.follow" = "/"\n'))
    assert [(i.line, i.message) for i in issues] == [(2, "key '/' is bound to both log.follow and log.search")]


def test_defaults_clashing_with_themselves_are_not_reported(tmp_path):
    bindings = {"app.a": "x", "app.b": "x", "app.c": "c"}
    config, issues = load_config(write(tmp_path, '[keys]\n"app.c" = "y"\n'), bindings=bindings)
    assert issues == [] and keymap(config) == {"app.c": "y"}


def test_dropping_a_mapping_can_bring_back_a_clash_with_another(tmp_path):
    # app.logs moves off "l" onto "q" (app.quit's): dropped, so "l" is back and app.toggle's new "l" clashes.
    path = write(tmp_path, '[keys]\n"app.logs" = "q"\n"app.toggle" = "l"\n')
    config, issues = load(path)
    assert [(i.line, i.message) for i in issues] == [
        (2, "key 'q' is bound to both app.logs and app.quit"),
        (3, "key 'l' is bound to both app.logs and app.toggle"),
    ]
    assert keymap(config) == {}


def test_dotted_and_sub_table_binding_ids(tmp_path):
    path = write(tmp_path, 'keys.app.quit = "x"\n\n[keys.log]\nsearch = "s"\nnope = "n"\n')
    config, issues = load(path)
    assert keymap(config) == {"app.quit": "x", "log.search": "s"}
    assert [(i.line, i.message) for i in issues] == [(5, "unknown binding id 'log.nope' (`skid keys` lists them)")]


def test_relative_compose_paths_are_against_the_config_dir(tmp_path, monkeypatch):
    config_dir = tmp_path / "xdg" / "skid-tui"
    config_dir.mkdir(parents=True)
    path = write(config_dir, 'compose = "stack/compose.yml"\n')
    monkeypatch.chdir(tmp_path)
    config, issues = load_config(path)
    assert issues == []
    assert config.compose == (str(config_dir / "stack" / "compose.yml"),)


def test_config_path_respects_xdg_config_home(tmp_path):
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path), "HOME": "/home/u"}) == tmp_path / "skid-tui/config.toml"
    assert config_path({"HOME": "/home/u"}) == Path("/home/u/.config/skid-tui/config.toml")
    assert config_path({"XDG_CONFIG_HOME": "", "HOME": "/home/u"}) == Path("/home/u/.config/skid-tui/config.toml")
    assert config_path({"XDG_CONFIG_HOME": "rel", "HOME": "/home/u"}) == Path("/home/u/.config/skid-tui/config.toml")


def test_load_config_reads_the_xdg_file_by_default(tmp_path):
    (tmp_path / "skid-tui").mkdir()
    (tmp_path / "skid-tui" / "config.toml").write_text("mouse = false\n")
    config, issues = load_config(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert issues == [] and config.mouse is False


def test_issue_format():
    assert str(ConfigIssue("/c/config.toml", 7, "unknown setting 'x'")) == "/c/config.toml:7: unknown setting 'x'"
    assert str(ConfigIssue("/c/config.toml", 0, "cannot read")) == "/c/config.toml: cannot read"


def test_issue_str_from_a_loaded_file(tmp_path):
    path = write(tmp_path, "stats = 1\n")
    _, issues = load(path)
    assert str(issues[0]) == f"{path}:1: stats must be one of auto, cgroup, api, agent, not an integer"


def test_a_multiline_string_does_not_confuse_line_finding(tmp_path):
    path = write(tmp_path, 'profile = """\nbogus = 1\n"""\nbogus = 2\n')
    _, issues = load(path)
    # The profile is a valid (odd) string; "bogus" is found at its real line, not inside the string.
    assert [(i.line, i.message[:25]) for i in issues] == [(4, "unknown setting 'bogus' (")]


def test_the_config_is_hashable_and_read_only(tmp_path):
    config, _ = load(write(tmp_path, '[keys]\n"app.quit" = "x"\n'))
    hash(config)
    with pytest.raises(TypeError):
        config.keys["app.quit"] = "y"  # type: ignore[index]


@pytest.mark.parametrize(("value", "expected"), [('"100MB"', 100 * 1024 * 1024), ('"1g"', 1024**3),
                                                 ("false", 0), ('"off"', 0), (str(8 * 1024 * 1024), 8 * 1024 * 1024)])
def test_history_is_a_size_bound_or_off(tmp_path, value, expected):
    config, issues = load(write(tmp_path, f"history = {value}\n"))
    assert issues == [] and config.history == expected


@pytest.mark.parametrize(("value", "problem"), [('"lots"', "not 'lots'"), ("true", "not true/false"),
                                                ('"10k"', "at least 1MB")])
def test_a_wrong_history_setting_is_one_issue_on_its_line(tmp_path, value, problem):
    config, issues = load(write(tmp_path, f'mouse = true\nhistory = {value}\n'))
    assert config.history is None and config.mouse is True
    [issue] = issues
    assert issue.line == 2 and problem in issue.message, issue
