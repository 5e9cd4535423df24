"""`skid` with no command: the dashboard, and what is said on the terminal once it is gone."""

from __future__ import annotations

from collections.abc import Sequence

from skid_tui.cli.output import say
from skid_tui.engine.discovery import EngineCandidate, engine_candidates
from skid_tui.engine.watcher import EarlyWatch
from skid_tui.model import statefile
from skid_tui.model.active import remembered_profile
from skid_tui.ops.config import Options, active_profile
from skid_tui.ops.sample import history_recorder
from skid_tui.ops.userconfig import ConfigIssue, UserConfig
from skid_tui.stack import Stack


def cmd_dashboard(stack: Stack, options: Options, config: UserConfig | None = None,
                  config_issues: Sequence[ConfigIssue] = ()) -> int:
    def candidates() -> list[EngineCandidate]:
        return engine_candidates(options.host)

    # The engine is found and read while Textual loads: the first paint comes that much sooner.
    config = config or UserConfig()
    early = EarlyWatch(stack.project, candidates, stats=options.stats, stats_interval=config.refresh or 1.0)
    from skid_tui.ui.app import SkidApp  # Textual loads only for the dashboard: the CLI stays quick

    try:
        statefile.set_warning_handler(None)  # state-file warnings wait for the app: a notification, not stderr
        profile = active_profile(stack, options.profile, remembered_profile(stack.project), options.default_profile)
        app = SkidApp(stack, profile, candidates, stats=options.stats, compose_cmd=options.compose_cmd, early=early,
                      config=config, config_issues=config_issues, history=history_recorder(options.history_bytes))
    except BaseException:
        early.watcher.stop()
        raise
    try:
        app.run(mouse=config.mouse is not False)
    finally:
        early.watcher.stop()  # the app stopped it as it unmounted, unless it failed first (a stats agent is removed)
        for line in [*app.lifecycle.exit_lines, *end_compose_children()]:  # the second: what the app could not stop
            say(f"skid: {line}")
    for line in statefile.take_warnings():  # a state file the app's last save could not use, after the screen is back
        say(line)
    return 0


def end_compose_children() -> list[str]:
    """Compose processes skid started that still run as it exits: ended, and one line each saying how."""
    from skid_tui.engine.compose_tool import end_children, how_it_ended

    stopped, killed = end_children()
    return ([f"{name} was still running: {how_it_ended(False)}" for name in stopped]
            + [f"{name} was still running: {how_it_ended(True)}" for name in killed])
