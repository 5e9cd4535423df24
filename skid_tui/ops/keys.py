"""Every key the dashboard answers to, by binding id: its default keys, what it does, whether the footer shows it.

One table for both front ends: the dashboard builds its Textual bindings from it (ui.keys.bind), `skid keys`
and `?` list it with the user's own keys from the config file applied, and a test keeps the README's table
equal to it. Binding ids are what `[keys]` in the config file maps (`"app.logs" = "o"`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma-separated: "space,enter"
    description: str
    show: bool = True  # in the footer
    more: str = ""  # the README's longer word on it


# Grouped as `?` shows them; the prefix is the scope (app: anywhere on the dashboard, panel: the panels'
# grid, log: a log pane, the rest: the dialog or screen of that name).
KEYS: dict[str, Key] = {
    "app.toggle": Key("space,enter", "Start/stop",
        more="`compose up -d` / `compose stop` of the selected service; volumes are kept"),
    "app.profiles": Key("p", "Profiles",
        more="what each profile starts and stops, its totals, a verdict; `enter` applies"),
    "app.llm": Key("L", "LLM on/off", more="the LLM advisor on demand: a memory check, then start; again stops it"),
    "app.logs": Key("l", "Logs", more="the service's logs in a pane: the last 500 lines, then live, across restarts"),
    "app.stack_logs": Key("A", "All logs",
        more="every service's logs in one pane, merged by timestamp, each line prefixed by its service in its "
             "colour; `/^(api|redis) ` then `f` narrows it to services"),
    "app.shell": Key("s", "Shell",
        more="a shell (bash, else sh) in the service's container on this terminal; the dashboard comes back when it "
             "exits; a service that is not running is started first, after a memory check"),
    "app.inspect": Key("i", "Inspect",
        more="state, exit code, restarts, health results with their output, env (secrets masked: `n` picks one, `v` "
             "shows it), mounts, ports, networks, labels, image, limits"),
    "app.history": Key("h", "History",
        more="the service's memory and CPU over the last hour, day or week against its standard and maximum, OOM "
             "kills and restarts marked, with p50, p95, p99 and max"),
    "app.update": Key("u", "Update limits…", show=False,
        more="change the running container's memory and CPU limits now (the engine's container update); the next "
             "compose up resets them unless you write an override file"),
    "app.events": Key("e", "Events",
        more="what happened, newest first: started, died (exit code, OOM), health, restarts per service; 3 restarts "
             "in 5 minutes flag the panel CRASH LOOP"),
    "app.filter": Key("slash", "Filter",
        more="by name, state, health or image, as you type; `enter` keeps it, `esc` clears it"),
    "app.sort": Key("o", "Sort panels", show=False, more="the profile's order, name, memory, CPU"),
    "app.hide_off": Key("H", "Hide/show services that are off", show=False),
    "app.restart": Key("r", "Restart", show=False, more="`compose restart`: the same container, started again"),
    "app.pause": Key("P", "Pause/unpause", show=False,
        more="`compose pause` / `unpause`: its processes frozen, its memory kept"),
    "app.recreate": Key("R", "Recreate", show=False,
        more="`compose up -d --force-recreate --no-deps`: a new container, volumes kept, dependencies left alone"),
    "app.kill": Key("K", "Kill…", show=False, more="`compose kill` (SIGKILL) after you confirm"),
    "app.build": Key("b", "Build",
        more="the service's image (its compose `build:`) in its own pane, with step progress"),
    "app.tests": Key("t", "Tests",
        more="the test suite picker: `space` marks, `1` `2` `3` or `m` the memory limit, `enter` runs"),
    "app.cancel_job": Key("c", "Cancel build/test/compose", show=False,
        more="the build or test run in the pane on show, else the service's build, else the compose command running "
             "now"),
    "app.panes": Key("a", "Panes",
        more="show or hide the panes: the activity log (every compose command skid ran), logs, builds, tests"),
    "app.zoom_panes": Key("z", "Zoom panes", show=False),
    "app.close_pane": Key("w", "Close pane", show=False),
    "app.remove_data": Key("X", "Remove data…", show=False,
        more="the container and the volumes only it mounts, each listed with its size, after you type its name"),
    "app.quit": Key("q", "Quit"),
    "app.help": Key("question_mark", "Keys"),
    "panel.up": Key("up,k", "Panel above", show=False),
    "panel.down": Key("down,j", "Panel below", show=False),
    "panel.left": Key("left", "Panel to the left", show=False),
    "panel.right": Key("right", "Panel to the right", show=False),
    "panel.page_up": Key("pageup", "A page of panels up", show=False),
    "panel.page_down": Key("pagedown", "A page of panels down", show=False),
    "panel.first": Key("home", "First panel", show=False),
    "panel.last": Key("end", "Last panel", show=False),
    "log.search": Key("slash", "Search"),
    "log.next": Key("n", "Next match"),
    "log.previous": Key("N", "Previous match"),
    "log.filter": Key("f", "Filter to matches"),
    "log.follow": Key("space", "Pause/follow"),
    # T, not t: t opens the test picker from anywhere, a log pane included.
    "log.timestamps": Key("T", "Timestamps"),
    "log.save": Key("ctrl+s", "Save to a file"),
    "log.end": Key("end,G", "Follow the end", show=False),
    "log.top": Key("home,g", "Top", show=False),
    "inspect.close": Key("escape,q,i", "Close"),
    "inspect.next_secret": Key("n", "Next secret"),
    "inspect.previous_secret": Key("N", "Previous secret", show=False),
    "inspect.reveal": Key("v", "Show/hide the secret"),
    "inspect.reload": Key("r", "Reload"),
    "filter.clear": Key("escape", "Clear the filter"),
    "events.close": Key("escape,q,e", "Close"),
    "history.hour": Key("1,h", "Last hour"),
    "history.day": Key("2,d", "Last day"),
    "history.week": Key("3,w", "Last week"),
    "history.close": Key("escape,q", "Close"),
    "update.cancel": Key("escape", "Cancel"),
    "help.close": Key("escape,q,question_mark", "Close help"),
    "profiles.close": Key("escape,q,p", "Close"),
    "profiles.apply": Key("enter", "Apply"),
    "tests.close": Key("escape,q", "Close"),
    "tests.run": Key("enter", "Run"),
    "tests.all": Key("a", "Run all"),
    "tests.limit": Key("m", "Memory limit"),
    "tests.low": Key("1", "Memory limit low", show=False),
    "tests.medium": Key("2", "Memory limit medium", show=False),
    "tests.high": Key("3", "Memory limit high", show=False),
    "confirm.yes": Key("y", "Yes"),
    "confirm.no": Key("n,escape", "No"),
    "type-confirm.cancel": Key("escape", "Cancel"),
    "start-check.stop": Key("s", "Stop them, then start"),
    "start-check.anyway": Key("a", "Start anyway"),
    "start-check.cancel": Key("escape,n", "Cancel"),
}
SCOPES = {"app": "Dashboard", "panel": "Panels", "log": "Log panes", "inspect": "Inspect", "events": "Events",
          "history": "History", "update": "Update limits", "filter": "Panel filter", "help": "Help",
          "profiles": "Profile picker", "tests": "Test picker", "confirm": "Confirmations",
          "type-confirm": "Confirmations", "start-check": "Not enough memory"}


def defaults() -> dict[str, str]:
    """Binding id -> its default keys (what the config file's [keys] is checked against)."""
    return {binding_id: key.keys for binding_id, key in KEYS.items()}


def shown_keys(keys: str) -> str:
    """Keys as a person reads them: `space, enter`, `?`, `/`, `ctrl-s`."""
    names = [k.strip() for k in keys.split(",") if k.strip()]
    return ", ".join(n.replace("question_mark", "?").replace("slash", "/").replace("ctrl+", "ctrl-") for n in names)


def effective(keymap: Mapping[str, str]) -> dict[str, Key]:
    """The table with the user's keys (binding id -> keys) in place of the defaults."""
    return {bid: Key(keymap.get(bid, key.keys), key.description, key.show) for bid, key in KEYS.items()}


def markdown() -> str:
    """The README's key table (a test keeps the README equal to it): every binding with its default keys."""
    rows = ["| keys | binding id | what it does |", "|---|---|---|"]
    for title, entries in by_scope({}):
        rows.append(f"| **{title}** | | |")
        for binding_id, keys, what in entries:
            more = KEYS[binding_id].more
            cells = " ".join(f"`{k.strip()}`" for k in keys.split(","))
            said = f"{what}: {more}" if more else what
            rows.append(f"| {cells} | `{binding_id}` | {said.replace('|', chr(92) + '|')} |")  # a | escaped for GFM
    return "\n".join(rows) + "\n"


def by_scope(keymap: Mapping[str, str]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """[(scope title, [(binding id, keys as shown, description)])], in the table's order."""
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for bid, key in effective(keymap).items():
        title = SCOPES.get(bid.split(".", 1)[0], bid.split(".", 1)[0])
        groups.setdefault(title, []).append((bid, shown_keys(key.keys), key.description))
    return list(groups.items())
