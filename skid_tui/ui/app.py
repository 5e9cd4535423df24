"""The dashboard: a panel per service, fed by the engine watcher, never calling the engine itself."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.widget import Widget
from textual.widgets import Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from skid_tui.engine.containers import ContainerSnapshot
from skid_tui.engine.discovery import HOW_TO_START, EngineCandidate
from skid_tui.engine.sampler import StatsBatch, StatsMode
from skid_tui.engine.watcher import EarlyWatch, EngineEvent, EngineStatus, StackWatcher, WatchUpdate
from skid_tui.model import LiveModel, PeakStore, statefile
from skid_tui.model.history import HistoryRecorder
from skid_tui.model.selfcost import OwnCostSource, ProcessCost
from skid_tui.ops.events import Timeline, event_from_doc, recent_events
from skid_tui.ops.history import load_view
from skid_tui.ops.inspect import inspect_service
from skid_tui.ops.keys import by_scope
from skid_tui.ops.lifecycle import usual_use
from skid_tui.ops.narrow import SORT_WORDS, Facts, narrow, next_sort
from skid_tui.ops.operations import Kind
from skid_tui.ops.userconfig import ConfigIssue, UserConfig, keymap, unknown_theme
from skid_tui.safe_text import visible, visible_lines
from skid_tui.stack import Profile, Stack, format_bytes
from skid_tui.stack.limits import MAX_SERVICES
from skid_tui.ui import compositor
from skid_tui.ui.commands import ServiceCommands
from skid_tui.ui.jobs import Jobs
from skid_tui.ui.keys import bind
from skid_tui.ui.lifecycle import Lifecycle
from skid_tui.ui.limits import Limits
from skid_tui.ui.messages import (
    BuildProgressed,
    EngineStatusChanged,
    EventsArrived,
    JobFinished,
    LogLinesArrived,
    ServiceContainersChanged,
    StatsSampled,
    SuiteStarted,
)
from skid_tui.ui.panes import Panes
from skid_tui.ui.screens.events import EventsScreen, timeline_text
from skid_tui.ui.screens.help import HelpScreen
from skid_tui.ui.screens.history import HistoryScreen
from skid_tui.ui.screens.inspect import InspectScreen
from skid_tui.ui.shell import Shells
from skid_tui.ui.views import (
    PANEL_WIDTH,
    HeaderView,
    ServiceView,
    budget_bar_view,
    engine_line,
    order_services,
    service_view,
)
from skid_tui.ui.widgets.activity_log import ActivityLog
from skid_tui.ui.widgets.budget_bar import BudgetBar
from skid_tui.ui.widgets.engine_header import EngineHeader
from skid_tui.ui.widgets.footer import KeyFooter
from skid_tui.ui.widgets.panel_filter import PanelFilter
from skid_tui.ui.widgets.service_grid import ServiceGrid
from skid_tui.ui.widgets.service_panel import ServicePanel

Clock = Callable[[], datetime]
PAST_EVENTS_AFTER = 3.0  # seconds after connecting: the engine's past hour of events is read then
OOM_NEWS = timedelta(minutes=1)  # an OOM kill older than this when skid learns of it gets no notification
USUAL_FIRST_READ = 5.0  # seconds after mount: the history is open by then, and the first paint long done
USUAL_EVERY = 600.0  # seconds between reads of the week's p95: a week moves slowly


def utc_now() -> datetime:
    return datetime.now(UTC)


def too_many_services(count: int) -> Text:
    """What the dashboard shows instead of panels for a stack past the limit (the loader refuses one too)."""
    text = Text()
    text.append(f"This stack has {count:,} services; the dashboard shows at most {MAX_SERVICES:,}.", style="bold red")
    text.append("\nSplit it into several compose projects (one `-p NAME` each). q quits.", style="dim")
    return text


def render_notice(status: EngineStatus) -> Text:
    """The full story when there is no engine: every place tried, and how to start one."""
    text = Text()
    if status.state == "lost":
        text.append("Engine lost. ", style="bold red")
        text.append(visible(status.message or "The engine stopped answering."))
        text.append(f"\nPanels show the last known state; skid reconnects by itself every "
                    f"{status.retry_interval:g} s.", style="dim")
    else:
        text.append("No container engine answered.", style="bold red")
        text.append(f" skid keeps trying every {status.retry_interval:g} s.", style="dim")
    if status.attempts:
        text.append("\nTried:")
        for a in status.attempts:
            text.append("\n  • ")
            text.append(visible(a.candidate.url or "?"), style="bold")
            text.append(visible(f"  ({a.candidate.source}): {a.error}"))
    text.append(f"\nTo {HOW_TO_START}.", style="dim")
    return text


PartT = TypeVar("PartT", bound="Widget")


class SkidApp(App[None]):
    CSS_PATH = Path(__file__).parent / "skid.tcss"  # absolute: subclasses elsewhere find it too
    TITLE = "skid"
    COMMANDS = App.COMMANDS | {ServiceCommands}
    BINDINGS = [
        bind("app.toggle", "toggle"),
        bind("app.profiles", "profiles"),
        bind("app.llm", "llm"),
        bind("app.logs", "logs"),
        bind("app.build", "build"),
        bind("app.tests", "tests"),
        bind("app.cancel_job", "cancel_job"),
        bind("app.panes", "panes"),
        bind("app.stack_logs", "stack_logs"),
        bind("app.zoom_panes", "zoom_panes"),
        bind("app.close_pane", "close_pane"),
        bind("app.restart", "service_op('restart')"),
        bind("app.kill", "service_op('kill')"),
        bind("app.pause", "service_op('pause')"),
        bind("app.recreate", "service_op('recreate')"),
        bind("app.remove_data", "remove_data"),
        bind("app.inspect", "inspect"),
        bind("app.events", "events"),
        bind("app.history", "history"),
        bind("app.update", "update_limits"),
        bind("app.filter", "filter"),
        bind("app.sort", "sort"),
        bind("app.hide_off", "hide_off"),
        bind("app.shell", "shell"),
        bind("app.quit", "quit"),
        bind("app.help", "help"),
    ]

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification (the widgets' too) shows its text as text: names, errors and compose output in it
        come from files and containers, so no markup is parsed and no control character reaches the terminal."""
        super().notify(visible_lines(message), title=visible(title), severity=severity, timeout=timeout,
                       markup=False)

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        if driver.__name__ == "LinuxDriver" and driver.__module__ == "textual.drivers.linux_driver":
            from skid_tui.ui.driver import SkidLinuxDriver  # termios: not on Windows

            return SkidLinuxDriver
        return driver

    def __init__(
        self,
        stack: Stack,
        profile: Profile | None,
        candidates: Callable[[], list[EngineCandidate]],
        *,
        watch: bool = True,
        retry_interval: float = 3.0,
        clock: Clock = utc_now,
        stats: StatsMode | None = "auto",
        model: LiveModel | None = None,
        compose_cmd: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        early: EarlyWatch | None = None,
        config: UserConfig | None = None,
        config_issues: Sequence[ConfigIssue] = (),
        own_cost: OwnCostSource | None = None,
        history: HistoryRecorder | None = None,
    ) -> None:
        super().__init__()
        self.own_cost = own_cost or ProcessCost()
        self.history = history  # started on mount, stopped (its queue written) on unmount
        self.usual: dict[str, int] = {}  # each service's week p95 from the history (planning counts it)
        compositor.install()  # partial updates draw only the widgets they change
        self.monotonic = monotonic  # the clock of idle timeouts (samples carry monotonic times)
        self.candidates = candidates
        self.lifecycle = Lifecycle(self, compose_cmd)
        self.panes = Panes(self)
        self.jobs = Jobs(self)
        self.shells = Shells(self)
        self.limits = Limits(self)
        self.timeline = Timeline()
        self.narrow_query = ""  # `/`
        self.sort = "profile"  # `o`
        self.hide_off = False  # `H`
        self.crash_loops: set[str] = set()
        self._past_events_read = False
        self.past_events_in = False  # the engine's last hour is in the timeline
        self._opened_at = utc_now()
        self.stack = stack
        self.clock = clock
        self.watch_engine = watch
        self.model = model or LiveModel(stack, profile, peaks=PeakStore.default(), clock=clock, history=history)
        self.model.profile = profile  # the active profile is the model's, held there alone
        self.model.engine = EngineStatus("connecting", retry_interval=retry_interval)
        self.service_order = order_services(list(stack.services), list(stack.profiles.values()), profile)
        # A watcher started before Textual loaded (the CLI's), or one of the app's own.
        self.early = early
        self.config = config or UserConfig()
        self.config_issues = list(config_issues)
        self.watcher = early.watcher if early is not None else StackWatcher(
            stack.project, candidates, self._watch_update, retry_interval=retry_interval, stats=stats,
            stats_interval=self.config.refresh or 1.0)
        self.apply_config()
        # Past the limit no panel is built and the engine is not watched: the screen says why, q still quits.
        self.too_many = len(stack.services) > MAX_SERVICES
        self._parts: dict[type[Widget], Widget] = {}
        self.first_paint_at: float | None = None  # monotonic: every running service drawn with its memory
        self._stale = False  # samples arrived while another screen covered the panels
        self._offscreen: set[str] = set()  # panels whose numbers moved on while scrolled out of view
        self._oom_told: dict[str, int] = {}  # OOM kills per service already notified
        self._unchecked_told = False

    def apply_config(self) -> None:
        """The config file's keys, theme and idle stop default (its problems were found by ops.userconfig; a
        theme this Textual does not have is one more, said with them once the app runs)."""
        self.set_keymap(keymap(self.config))
        wrong = unknown_theme(self.config, self.available_themes)
        if wrong is not None:
            self.config_issues.append(wrong)
        elif self.config.theme is not None:
            self.theme = self.config.theme
        if self.config.idle_stop_set:
            self.model.idle_default = self.config.idle_stop

    # -- layout ---------------------------------------------------------------------------------------

    @property
    def engine_status(self) -> EngineStatus:
        return self.model.engine

    @property
    def containers(self) -> dict[str, tuple[ContainerSnapshot, ...]]:
        return self.model.containers

    def compose(self) -> ComposeResult:
        yield EngineHeader(self.header_view())
        yield BudgetBar(budget_bar_view(self.model.totals()))
        notice = Static(id="engine-notice", markup=False)
        notice.display = False
        yield notice
        if self.too_many:
            yield Static(too_many_services(len(self.stack.services)), id="too-many", markup=False)
        panel_filter = PanelFilter(placeholder="filter: name, state, health or image (enter keeps it, esc clears)",
                                   id="panel-filter")
        panel_filter.display = False
        yield panel_filter
        narrowed = Static(id="narrowed", markup=False)
        narrowed.display = False
        yield narrowed
        # Panels are mounted by the grid as they come near the view (a 1,000-service stack stays quick).
        # Past the limit the grid is empty: what works on panels finds none.
        yield ServiceGrid([] if self.too_many else self.service_order,
                          lambda name: ServicePanel(self.view_of(name)), id="services")
        with TabbedContent(id="panes", initial="pane-activity") as panes:
            panes.display = False
            with TabPane("activity", id="pane-activity"):
                yield ActivityLog()
        yield KeyFooter()

    def on_mount(self) -> None:
        # Thread workers run on the loop's default executor, min(32, cpus + 4) threads: 6 on a 2-core
        # laptop. The watcher and every log pane hold one for as long as they follow, so a few panes
        # would leave builds and test runs queued behind them, their panes silent. Give them room.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64, thread_name_prefix="skid"))
        if self.history is not None:
            self.history.start()  # its own thread opens the database: the first paint does not wait for it
            self.set_timer(USUAL_FIRST_READ, self.read_usual, name="usual-first")
            self.set_interval(USUAL_EVERY, self.read_usual, name="usual")
        panels = self.query(ServicePanel)
        if panels:
            panels.first().focus()
        # New peaks reach the state file now and then, and at exit; not on every sample.
        self.set_interval(30.0, self.save_peaks, name="save-peaks")
        self.set_interval(30.0, self.check_crash_loops, name="crash-loops")  # a loop that stopped is unflagged
        statefile.set_warning_handler(self.state_file_warning)  # those from loading the state come now
        for issue in self.config_issues:  # the app starts with the defaults for what was wrong
            self.say(f"✗ {issue}")
            self.notify(str(issue), title="config file", severity="error", timeout=20)
        if self.watch_engine and not self.too_many:
            self.follow_engine()
            self.lifecycle.start()
        elif self.early is not None:
            self.early.watcher.stop()  # started by the CLI, but nothing here is to be watched

    def on_unmount(self) -> None:
        gc.unfreeze()  # what the app held may now be collected (tests run many apps in one process)
        self.watcher.stop()
        self.panes.stop_followers()
        self.jobs.cancel_all()  # a test container is killed and removed, a build's stream closed
        statefile.set_warning_handler(None)  # the last save's warnings wait for the CLI, after the screen is back
        self.save_peaks()
        if self.history is not None:
            self.history.stop()

    def read_usual(self) -> None:
        """The week's p95 of every service, read on a thread (a week of SQLite rows per service)."""
        if self.history is None:
            return
        store = self.history.store

        def read() -> None:
            usual = usual_use(self.stack, store)
            self.call_from_thread(setattr, self, "usual", usual)

        self.run_worker(read, thread=True, group="usual", exclusive=True, exit_on_error=False)

    def save_peaks(self) -> None:
        if self.model.peaks is not None:
            self.model.peaks.save()

    def state_file_warning(self, message: str) -> None:
        """A state file ignored or set aside: a notification and a line in the activity log."""
        if threading.get_ident() != self._thread_id:  # a worker's load or save: said on the app's thread
            # Handed over without waiting: the thread may hold a lock the event loop is waiting for (the
            # history store warns as it moves a broken file aside), and call_from_thread would wait for the loop.
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self.state_file_warning, message)
            return
        self.notify(message, title="state file", severity="warning", timeout=10)
        self.say(message)

    async def action_quit(self) -> None:
        # Wake the watcher's (and log followers') blocking reads first, so their threads end with the app.
        self.watcher.stop()
        self.panes.stop_followers()
        self.jobs.cancel_all()
        await self.lifecycle.end_for_quit()  # a compose command still running is stopped, not orphaned
        self.exit()

    # -- lifecycle keys: the Lifecycle object does the work ----------------------------------------------

    def selected_service(self) -> str | None:
        focused = self.focused
        return focused.service if isinstance(focused, ServicePanel) else None

    def action_toggle(self) -> None:
        service = self.selected_service()
        if service is not None:
            self.lifecycle.toggle(service)

    def action_service_op(self, kind: str) -> None:
        service = self.selected_service()
        if service is not None:
            self.lifecycle.service_op(Kind(kind), service)

    def action_shell(self) -> None:
        service = self.selected_service()
        if service is not None:
            self.shells.open(service)

    def action_inspect(self) -> None:
        service = self.selected_service()
        if service is not None:
            self.push_screen(InspectScreen(service, partial(inspect_service, self.stack, service, self.candidates)))

    def action_history(self) -> None:
        service = self.selected_service()
        if service is None:
            return
        if self.history is None:
            self.notify("skid keeps no history here (the config file says history = false)", title="history")
            return
        store = self.history.store
        self.push_screen(HistoryScreen(service, partial(load_view, store, self.stack, service)))

    def action_update_limits(self) -> None:
        service = self.selected_service()
        if service is not None:
            self.limits.open(service)

    def action_profiles(self) -> None:
        self.lifecycle.pick_profile()

    def action_llm(self) -> None:
        self.lifecycle.llm()

    def action_remove_data(self) -> None:
        service = self.selected_service()
        if service is not None:
            self.lifecycle.remove_data(service)

    @property
    def profile(self) -> Profile | None:
        """The active profile, held by the model: panels, planning and the header read it there."""
        return self.model.profile

    def set_profile(self, profile: Profile) -> None:
        self.model.set_profile(profile)

    # -- panes, builds and test runs: the Panes and Jobs objects do the work --------------------------------

    def action_logs(self) -> None:
        service = self.selected_service()
        if service is not None:
            self.panes.open_logs(service)

    def action_stack_logs(self) -> None:
        self.panes.open_stack_logs()

    def action_panes(self) -> None:
        self.panes.toggle()

    def action_zoom_panes(self) -> None:
        self.panes.zoom()

    def action_close_pane(self) -> None:
        self.panes.close_current()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.call_after_refresh(self.panes.catch_up_active)

    def on_log_lines_arrived(self, message: LogLinesArrived) -> None:
        self.panes.lines_arrived(message)

    def action_build(self) -> None:
        self.jobs.build_selected()

    def action_tests(self) -> None:
        self.jobs.pick_tests()

    def action_cancel_job(self) -> None:
        self.jobs.cancel_here()

    def on_build_progressed(self, message: BuildProgressed) -> None:
        self.jobs.progressed(message)

    def on_suite_started(self, message: SuiteStarted) -> None:
        self.jobs.suite_started(message)

    def on_job_finished(self, message: JobFinished) -> None:
        self.jobs.finished(message)

    # -- the activity log -----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A line in the activity log; nothing when the app is closing and the log is gone."""
        with contextlib.suppress(NoMatches):
            self.query_one(ActivityLog).say(text)

    def activity_output(self, lines: list[str]) -> None:
        """Compose's own output under its command in the activity log."""
        with contextlib.suppress(NoMatches):
            self.query_one(ActivityLog).output(lines)

    def show_activity(self) -> None:
        self.panes.show("pane-activity")

    # -- the engine watcher ---------------------------------------------------------------------------

    @work(thread=True, group="engine", name="stack-watcher", exclusive=True, exit_on_error=False)
    def follow_engine(self) -> None:
        if self.early is not None:
            self.early.follow(self._watch_update)
        else:
            self.watcher.run()

    def _watch_update(self, update: WatchUpdate) -> None:
        """Called on the watcher's thread: hand over to the event loop as a message, nothing else."""
        if isinstance(update, EngineStatus):
            self.post_message(EngineStatusChanged(update))
        elif isinstance(update, StatsBatch):
            self.post_message(StatsSampled(update))
        elif isinstance(update, EngineEvent):
            event = event_from_doc(update.doc)
            if event is not None:
                self.post_message(EventsArrived([event]))
        else:
            self.post_message(ServiceContainersChanged(update))

    @on(Worker.StateChanged)
    def worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "stack-watcher" and event.state == WorkerState.ERROR:
            self.notify(f"engine watcher stopped: {event.worker.error}", severity="error", timeout=30)

    @on(EngineStatusChanged)
    def engine_status_changed(self, message: EngineStatusChanged) -> None:
        previous = self.engine_status.state
        self.model.apply(message.status)
        try:
            notice = self.query_one("#engine-notice", Static)
        except NoMatches:
            return  # closing
        if message.status.state in ("unreachable", "lost"):
            notice.update(render_notice(message.status))
            notice.display = True
        else:
            notice.display = False
        if previous != message.status.state and message.status.state == "connected" and previous == "lost":
            self.notify("engine back: panels are live again", timeout=4)
        if message.status.state == "connected" and not self._past_events_read:
            # Not now: the first paint is being made, and on the API path one more engine call at this moment
            # can push the first readings past the engine's next stats tick (a second later). Nobody needs the
            # past hour in the first seconds.
            self._past_events_read = True
            self.set_timer(PAST_EVENTS_AFTER, lambda: self.run_worker(
                self._read_past_events, thread=True, group="events", name="past-events", exit_on_error=False))
        self.refresh_panels(self.service_order)
        self._check_first_paint()  # the first samples may have come before the engine said "connected"

    # -- the events timeline --------------------------------------------------------------------------

    def _read_past_events(self) -> None:
        """On a worker thread: the engine's last hour of the project's events, for the timeline."""
        events, why = recent_events(self.candidates, self.stack.project, self.clock())
        if why:
            self.call_from_thread(self.say, f"events: {why}")
        self.post_message(EventsArrived(events, past=True))

    @on(EventsArrived)
    def events_arrived(self, message: EventsArrived) -> None:
        self.timeline.extend(message.events)
        self.past_events_in = self.past_events_in or message.past
        self.check_crash_loops()
        if isinstance(self.screen, EventsScreen):
            self.screen.refresh_timeline()

    def check_crash_loops(self) -> None:
        """Services restarting 3 or more times in 5 minutes: their panels flagged, the user told once per loop."""
        looping = self.timeline.crash_looping(self.clock()) & set(self.stack.services)
        if looping == self.crash_loops:
            return
        for service in sorted(looping - self.crash_loops):
            self.notify(f"{service} keeps restarting: {self.timeline.restarts(service)} restarts, 3 or more in the "
                        "last 5 minutes (e shows what happened)", title="Crash loop", severity="error", timeout=15)
        changed = looping ^ self.crash_loops
        self.crash_loops = looping
        self.refresh_panels([s for s in self.service_order if s in changed])

    # -- narrowing the panels: filter, sort, hide what is off ------------------------------------------------

    def facts(self) -> dict[str, Facts]:
        out = {}
        for name in self.service_order:
            view = self.view_of(name)
            r = self.model.usage.get(name) and self.model.resources(name)
            out[name] = Facts(name, view.state, view.image, view.health if view.health != "none" else "",
                              r.mem_bytes if r else None, r.cpu_percent if r else None)
        return out

    def narrowed(self) -> list[str]:
        return narrow(self.service_order, self.facts(), query=self.narrow_query, sort=self.sort,
                      hide_off=self.hide_off)

    @property
    def narrowing(self) -> bool:
        return bool(self.narrow_query) or self.sort != "profile" or self.hide_off

    async def apply_narrowing(self) -> None:
        """The grid shows what the filter, the sort and the hide toggle leave, in that order; a line says so."""
        if self.too_many:
            return
        with contextlib.suppress(NoMatches):
            shown = self.narrowed() if self.narrowing else self.service_order
            await self._part(ServiceGrid).set_services(shown)
            line = self.query_one("#narrowed", Static)
            line.display = self.narrowing
            if self.narrowing:
                parts = [f"{len(shown)} of {len(self.service_order)} services"]
                if self.narrow_query:
                    parts.append(f"matching '{visible(self.narrow_query)}'")
                if self.hide_off:
                    parts.append("running only (H shows all)")
                parts.append(f"sorted by {SORT_WORDS[self.sort]} (o)")
                line.update(Text("  ·  ".join(parts) + ("  ·  / filter, esc clears" if self.narrow_query else ""),
                                 style="bold yellow" if not shown else "cyan"))
            self.refresh_panels(shown)

    def action_filter(self) -> None:
        field = self.query_one("#panel-filter", PanelFilter)
        field.display = True
        self.screen.set_focus(field)  # at once: the keys already routed to the panel follow (ServicePanel.on_key)

    @on(Input.Changed, "#panel-filter")
    async def filter_typed(self, event: Input.Changed) -> None:
        self.narrow_query = event.value.strip()
        await self.apply_narrowing()

    @on(Input.Submitted, "#panel-filter")
    @on(PanelFilter.Done)
    async def filter_done(self) -> None:
        field = self.query_one("#panel-filter", PanelFilter)
        field.display = False
        self.narrow_query = field.value.strip()
        await self.apply_narrowing()
        grid = self._part(ServiceGrid)
        if grid.selected is not None:
            grid.go_to(grid.selected)

    async def action_sort(self) -> None:
        self.sort = next_sort(self.sort)
        self.notify(f"panels sorted by {SORT_WORDS[self.sort]}", timeout=3)
        await self.apply_narrowing()

    async def action_hide_off(self) -> None:
        self.hide_off = not self.hide_off
        self.notify("services that are off: hidden" if self.hide_off else "every service shown", timeout=3)
        await self.apply_narrowing()

    def action_events(self) -> None:
        since = f"since {self._opened_at.astimezone():%H:%M:%S} live, and the engine's hour before"
        self.push_screen(EventsScreen(lambda: timeline_text(self.timeline, list(self.stack.services), self.clock(),
                                                            since)))

    @on(ServiceContainersChanged)
    def service_containers_changed(self, message: ServiceContainersChanged) -> None:
        update = message.update
        self.model.apply(update)
        if update.service in self.stack.services:
            self.refresh_panels([update.service])
            self.shells.containers_changed(update.service)
            if self.narrowing:
                self.run_worker(self.apply_narrowing, group="narrow", exclusive=True)
            self.panes.follow_in_stack(update.service)  # a service that got a container joins the stack's logs
        self.announce_ooms([update.service])

    def announce_ooms(self, services: list[str]) -> None:
        """A notification for each new OOM kill the model counted (an oom event, the kernel's counter, a 137
        exit at the limit): once per kill, whichever way skid learned of it. Kills from before skid watched,
        or long past, are the panel's to show, not news."""
        for service in services:
            usage = self.model.usage.get(service)  # not resources(): this runs on every tick
            told = self._oom_told.get(service, 0)
            if usage is None or usage.oom_kills <= told or service not in self.stack.services:
                continue
            r = self.model.resources(service)
            new, self._oom_told[service] = r.oom_kills - told, r.oom_kills
            if not r.oom_time_known or r.oom_at is None or utc_now() - r.oom_at > OOM_NEWS:
                continue
            spec = self.stack.services[service]
            limit = f" of {format_bytes(spec.budget.mem_max)}" if spec.budget.mem_max else ""
            at = r.oom_at.astimezone().strftime("%H:%M:%S")
            times = f" {new}x" if new > 1 else ""
            self.notify(f"{service} hit its memory limit{limit} at {at}: the kernel killed a process in it{times} "
                        "(OOM).", title="Out of memory", severity="error", timeout=15, markup=False)

    def announce_unchecked_health(self, service: str) -> None:
        """Once a session: health that stays "starting" because no check runs (Podman without systemd)."""
        if self._unchecked_told:
            return
        self._unchecked_told = True
        info = self.engine_status.info
        why = ("Podman runs healthchecks from systemd timers and none runs here: run `podman healthcheck run "
               "CONTAINER` from a timer of your own (README: Podman)." if info is not None and info.kind == "Podman"
               else "The engine has run none of its checks.")
        self.notify(f"{service}: health stays 'starting', no check has run. {why}", title="Healthchecks",
                    severity="warning", timeout=20, markup=False)

    @property
    def dashboard_visible(self) -> bool:
        """The panels show: no other full screen covers them (a modal leaves them in view)."""
        return len(self.screen_stack) <= 1 or self.screen.is_modal

    @on(StatsSampled)
    def stats_sampled(self, message: StatsSampled) -> None:
        changed = self.model.apply(message.batch)
        if self.sort in ("memory", "cpu") and self.dashboard_visible:
            self.run_worker(self.apply_narrowing, group="narrow", exclusive=True)  # the order follows the numbers
        self.announce_ooms(sorted(changed))
        if not self.dashboard_visible:
            self._stale = True  # the model keeps up; drawing waits until the panels are in view again
            return
        if self._stale:
            self._stale = False
            self._offscreen = set(self.service_order)
        # Every running panel in view: new numbers, and uptimes move on. Views are quantized to what is
        # visible, so a steady service does not repaint. Panels scrolled out of view wait until shown.
        running = {s for s in self.service_order if any(c.is_running for c in self.containers.get(s, ()))}
        try:
            in_view = {p.service for p in self._part(ServiceGrid).visible_panels()}
        except NoMatches:
            return  # a sample that arrived while the app closes: nothing left to draw
        self._offscreen |= running - in_view
        if in_view and self.first_paint_at is not None:
            # Streams only for what is on screen, when the engine's stats are streamed (the costly path). Not
            # before the first paint: until the first layout the grid's view is a guess (a row or none), and a
            # stream closed and opened again waits for the engine's next stats tick, a second later.
            self.watcher.focus({c.id for s in in_view for c in self.containers.get(s, ())})
        self.refresh_panels([s for s in self.service_order if s in in_view and (s in running or s in self._offscreen)])
        self._offscreen -= in_view
        self._check_first_paint()
        self.lifecycle.stop_idle_services()

    def _check_first_paint(self) -> None:
        # Complete once every running panel shows its memory: a CPU% needs a second reading (a second more
        # on the API path), and the panel says "…" until it comes.
        if self.first_paint_at is None and self.model.complete(need_cpu=False):
            self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        if self.first_paint_at is None:
            self.first_paint_at = time.monotonic()
            # What is alive now (modules, the DOM, styles) lives as long as the app: out of the cyclic GC,
            # whose passes over it cost a sixth of a steady second's CPU (undone at unmount).
            gc.freeze()

    # -- views ----------------------------------------------------------------------------------------

    def view_of(self, service: str, width: int = PANEL_WIDTH) -> ServiceView:
        return service_view(
            self.stack.services[service],
            self.containers.get(service, ()),
            profile=self.profile,
            engine_state=self.engine_status.state,
            now=self.clock(),
            resources=self.model.resources(service),
            width=width,
            pending=self.lifecycle.queue.pending.get(service, ""),
            crash_loop=service in self.crash_loops,
        )

    def header_view(self) -> HeaderView:
        own = self.own_cost()
        running = sum(
            1 for s in self.stack.services if any(c.is_running for c in self.containers.get(s, ()))
        )
        return HeaderView(
            project=self.stack.project,
            profile=self.profile.name if self.profile else "",
            profile_services=len(self.profile.services) if self.profile else 0,
            running=running,
            services=len(self.stack.services),
            engine_state=self.engine_status.state,
            engine_line=engine_line(self.engine_status),
            stats_source=self.model.stats_source,
            compose=self.lifecycle.compose_tool.describe() if self.lifecycle.compose_tool else "",
            own_cpu=own.cpu_percent,
            own_rss=own.rss,
        )

    def refresh_header(self) -> None:
        with contextlib.suppress(NoMatches):  # closing
            self._part(EngineHeader).show(self.header_view())

    def _part(self, kind: type[PartT]) -> PartT:
        """query_one(kind), remembered while the widget stays in the DOM: the header, the budget bar and the
        grid are asked for every second, and a query walks the screen (NoMatches when there is none)."""
        part = self._parts.get(kind)
        if part is None or not part.is_attached:
            part = self._parts[kind] = self.query_one(kind)
        return part  # type: ignore[return-value]

    def refresh_panels(self, services: list[str]) -> None:
        try:
            header, bar, grid = self._part(EngineHeader), self._part(BudgetBar), self._part(ServiceGrid)
        except NoMatches:
            return  # the app is closing: an update that arrives now has nothing left to draw on
        with self.batch_update():
            for name in services:
                panel = grid.panel(name)
                if panel is None:
                    continue  # not mounted (far from the view: built fresh when it comes near), or unknown
                width = panel.content_width() or PANEL_WIDTH
                view = self.view_of(name, width)
                panel.show(view)
                if view.health_note:
                    self.announce_unchecked_health(name)
            header.show(self.header_view())
            bar.show(budget_bar_view(self.model.totals()))

    @on(ServicePanel.Resized)
    def panel_resized(self, message: ServicePanel.Resized) -> None:
        self.refresh_panels([message.service])

    @on(ServiceGrid.Scrolled)
    def grid_scrolled(self) -> None:
        self.refresh_in_view()

    def refresh_in_view(self) -> None:
        """Draw the panels that came into view since their numbers last moved on."""
        try:
            in_view = {p.service for p in self.query_one(ServiceGrid).visible_panels()}
        except NoMatches:
            return  # no panels: too many services, or closing
        shown = [s for s in self.service_order if s in in_view and s in self._offscreen]
        self._offscreen -= in_view
        if shown:
            self.refresh_panels(shown)

    def on_resize(self) -> None:
        # Gauges are drawn to the panel's width: redraw them once the new layout is known (those in view
        # now, the others when they come into view).
        self._offscreen = set(self.service_order)
        self.call_after_refresh(self.refresh_in_view)

    # -- actions --------------------------------------------------------------------------------------

    def action_help(self) -> None:
        # The keys as bound now: the config file's [keys] applied (the same table as `skid keys`).
        extra = {"Dashboard": [(self.COMMAND_PALETTE_BINDING.replace("ctrl+", "ctrl-"), "Command palette")],
                 "Panels": [("tab, shift+tab", "Next / previous panel")]}
        sections = [(title, [*((keys, what) for _id, keys, what in rows), *extra.get(title, [])])
                    for title, rows in by_scope(keymap(self.config)) if title in ("Dashboard", "Panels", "Log panes")]
        self.push_screen(HelpScreen(sections))

    def focus_service(self, service: str) -> None:
        """Select the service's panel, scrolling it into view (and mounting it if it was far away)."""
        with contextlib.suppress(NoMatches):
            self.query_one(ServiceGrid).go_to(service)
