"""Log panes: a view over a LogBuffer that draws only the visible lines, with search, filter, pause/follow,
timestamps and save. A pane out of sight takes lines into its buffer and draws nothing until shown.

Lines are a container's output: drawn with present.rich_text, SGR colour as colour and every other control
character as visible text (`^[`), never sent to the terminal. Searching runs in a thread as the user types
(each keystroke cancels the search before it), bounded per line and per scan by the buffer's Matcher.
"""

from __future__ import annotations

import gc
import re
import time
from pathlib import Path

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from skid_tui.engine.logs import LineKind, LogLine
from skid_tui.model.logbuffer import MAX_LINE, LogBuffer, Matcher, ScanResult, cut_note, scan, shown_text
from skid_tui.present import rich_text
from skid_tui.safe_text import is_safe, visible
from skid_tui.ui.keys import bind

NOTE_STYLE = Style(italic=True, color="cyan")
ERR_STYLE = Style(color="bright_red")
TS_STYLE = Style(color="grey50")
MATCH_STYLE = Style(bgcolor="yellow", color="black")
CURRENT_STYLE = Style(bgcolor="bright_magenta", color="black", bold=True)
CUT_STYLE = Style(dim=True, italic=True)
# LogLine.stream (a LineKind) -> style
STREAM_STYLES: dict[int, Style | None] = {
    LineKind.NOTE: NOTE_STYLE, LineKind.OUT: None, LineKind.ERR: ERR_STYLE, LineKind.WARN: Style(color="yellow"),
    LineKind.STEP: Style(bold=True, color="bright_white"),
}
SYNC_HZ = 10  # how often a flooding pane redraws


class LogView(ScrollView, can_focus=True):
    """Draws rows of a LogBuffer's view; follows the end unless paused."""

    BINDINGS = [
        bind("log.search", "search"),
        bind("log.next", "next_match"),
        bind("log.previous", "previous_match"),
        bind("log.filter", "toggle_filter"),
        bind("log.follow", "toggle_follow"),
        # T, not t: t opens the test picker from anywhere, a log pane included.
        bind("log.timestamps", "toggle_timestamps"),
        bind("log.save", "save"),
        bind("log.end", "follow"),
        bind("log.top", "top"),
    ]

    class StatusChanged(Message):
        """Following, paused, the filter or the search changed: the pane's status line says so."""

    class SearchDone(Message):
        """A search thread went through the buffer's snapshot."""

        def __init__(self, matcher: Matcher, found: ScanResult) -> None:
            super().__init__()
            self.matcher = matcher
            self.found = found

    def __init__(self, buffer: LogBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        self.following = True
        self.timestamps = False
        self.search_pattern: Matcher | None = None  # the search whose matches are highlighted
        self.searching: Matcher | None = None  # a search still running in its thread
        self.found: ScanResult | None = None  # what the last finished search could and could not look at
        self.announce = False  # say how many lines match when the running search ends (enter was pressed)
        self._anchor: int | None = None  # sequence number of the top line when the search box opened
        self.current: int | None = None  # sequence number of the current search match
        self.stale = False  # lines arrived while out of sight
        # Strips of lines drawn lately, for redraws and short scrolls. Small on purpose: a Strip carries a
        # dozen objects, and a thousand of them kept alive through a flood is what drives the garbage
        # collector into full collections (tens of ms of the UI thread each).
        self._cache: LRUCache[tuple, Strip] = LRUCache(256)
        self._synced_at = 0.0
        self._sync_pending = False
        self._base_style: Style | None = None

    # -- lines in -----------------------------------------------------------------------------------------

    def add(self, lines: list[LogLine]) -> None:
        """New lines are in the buffer already; draw them if the view is on screen, else later.

        At most SYNC_HZ times a second: a flood lands in the buffer at once, the view catches up at a pace a
        reader can see, and the event loop stays free for keys.
        """
        if not self.is_on_screen:
            self.stale = True
            return
        now = time.monotonic()
        if now - self._synced_at >= 1 / SYNC_HZ:
            self._sync()
        elif not self._sync_pending:
            self._sync_pending = True
            self.set_timer(1 / SYNC_HZ - (now - self._synced_at), self._deferred_sync)

    def _deferred_sync(self) -> None:
        self._sync_pending = False
        if self.is_on_screen:
            self._sync()
        else:
            self.stale = True

    def catch_up(self) -> None:
        """The pane came into view: size, scroll and draw once for everything that arrived meanwhile."""
        self.stale = False
        self._sync()

    def _sync(self) -> None:
        self._synced_at = time.monotonic()
        self.virtual_size = Size(self.buffer.width + (33 if self.timestamps else 0), self.buffer.view_len())
        if self.following:
            top = self._top_seq()
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            if self._top_seq() - top >= self.size.height:
                self._cache.clear()  # a whole screen of new lines: nothing drawn before comes back
        self.refresh()

    def _top_seq(self) -> int:
        rows = self.buffer.view_len()
        return self.buffer.seq_of_row(min(int(self.scroll_y), rows - 1)) if rows else 0

    # -- drawing --------------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        row = scroll_y + y
        line = self.buffer.view_line(row)
        base = self._base_style
        if base is None:
            base = self._base_style = self.rich_style
        if line is None:
            return Strip.blank(width, base)
        seq = self.buffer.seq_of_row(row)
        key = (seq, self.timestamps, self.search_pattern, seq == self.current, scroll_x, width)
        strip = self._cache.get(key)
        if strip is None:
            text = self._line_text(line, seq, scroll_x + width)
            strip = Strip(list(text.render(self.app.console)), text.cell_len)
            strip = strip.crop_extend(scroll_x, scroll_x + width, base)
            self._cache[key] = strip
        return strip.apply_offsets(scroll_x, row)

    def _line_text(self, line: LogLine, seq: int, cells: int) -> Text:
        """A line as drawn, far enough to fill `cells` columns: a 10,000-character line costs what a screen
        width of it does (a whole one is a millisecond of the UI thread, forty rows of them a slow key)."""
        text = Text(no_wrap=True, end="", style=self._base_style or "")
        if self.timestamps and line.ts:
            text.append(line.ts[:23].replace("T", " "), style=TS_STYLE)
            text.append(" ")
        start = len(text)
        # A Text without spans renders unstyled, ignoring its own style: plain stdout would lose the
        # pane's background, so it gets a span of the base style.
        style = STREAM_STYLES.get(line.stream) or self._base_style
        raw = line.text
        if len(raw) <= MAX_LINE and is_safe(raw):  # most lines: plain text, drawn as it is
            shown = raw
            part = _enough(raw, cells)
            text.append(part, style=style)
        else:
            shown, cut = shown_text(raw)
            part = self._shown_part(raw, shown, style, cells)
            text.append_text(part)
            if cut and len(part) == len(shown):
                text.append(cut_note(len(raw)), style=CUT_STYLE)
        if self.search_pattern is not None:
            # Offsets in the shown text, which is what the drawn text is: the highlight is on what matched.
            highlight = CURRENT_STYLE if seq == self.current else MATCH_STYLE
            for begin, end in self.search_pattern.spans(shown, len(part)):
                text.stylize(highlight, start + begin, start + end)
        return text

    @staticmethod
    def _shown_part(raw: str, shown: str, style: Style | None, cells: int) -> Text:
        """rich_text of as much of raw as fills cells columns (and a margin, so that an SGR sequence cut at
        the end is out of sight), at most its shown text."""
        limit = min(len(raw), MAX_LINE)
        want = cells + 80
        size = want
        while True:
            body = rich_text(raw[:size], style)
            if size >= limit or cell_len(body.plain) >= want:
                break
            size *= 2
        if size >= limit:
            if len(body) > len(shown):
                body.right_crop(len(body) - len(shown))
            return body
        body.right_crop(80)  # what may be a cut sequence; the rest fills the cells
        return body

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None  # looked up once per restyle, not once per line drawn
        self._cache.clear()

    # -- the keys -------------------------------------------------------------------------------------------

    def action_search(self) -> None:
        self._anchor = self._top_seq() if self.buffer.view_len() else None
        self.post_message(LogPane.SearchRequested())

    def start_search(self, text: str, *, announce: bool = False) -> None:
        """Search for text in a thread (the one running before is cancelled); "" ends the search."""
        if self.searching is not None and self.searching.text == text:
            self.announce = self.announce or announce  # enter on what is being searched as it was typed
            return
        if self.searching is None and self.search_pattern is not None and self.search_pattern.text == text:
            self.announce = announce
            self._announce()  # enter on what was searched as it was typed
            return
        self.workers.cancel_group(self, "search")
        self.announce = announce
        if not text:
            self.searching = None
            self._install(None, None)
            return
        matcher = Matcher(text)
        self.searching = matcher
        first, texts = self.buffer.snapshot()
        self._scan(matcher, first, texts)
        self.post_message(self.StatusChanged())

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _scan(self, matcher: Matcher, first: int, texts: list[str]) -> None:
        worker = get_current_worker()
        found = scan(matcher, first, texts, lambda: worker.is_cancelled)
        if found is not None and not worker.is_cancelled:
            self.post_message(self.SearchDone(matcher, found))

    @on(SearchDone)
    def _search_done(self, message: SearchDone) -> None:
        message.stop()
        if message.matcher is not self.searching:
            return  # superseded by a newer search (its cancel came too late to stop this one posting)
        self.searching = None
        self._install(message.matcher, message.found)
        self._announce()

    def _install(self, matcher: Matcher | None, found: ScanResult | None) -> None:
        self.search_pattern = matcher
        self.found = found
        self.buffer.set_search(matcher, found)
        self._cache.clear()
        self.current = None
        if matcher is None:
            self._sync()
        else:
            anchor = self._anchor if self._anchor is not None else self._top_seq()
            seq = self.buffer.next_hit(anchor - 1, forward=True)
            if seq is not None:
                self._go(seq)
            else:
                self._sync()
        self.post_message(self.StatusChanged())

    def _announce(self) -> None:
        if self.announce and self.search_pattern is not None:
            self.announce = False
            count = len(self.buffer.hits)
            what = visible(self.search_pattern.text)
            if count:
                self.notify(f"{count:,} line{'s' if count != 1 else ''} match /{what}", timeout=3, markup=False)
            else:
                self.notify(f"no line matches /{what}", severity="warning", timeout=3, markup=False)

    def cancel_search(self) -> None:
        """Stop a search still running (escape in the search box): what was found before stays."""
        self.workers.cancel_group(self, "search")
        self.searching = None
        self.announce = False
        self.post_message(self.StatusChanged())

    def set_search(self, pattern: str) -> int:
        """Search for pattern here and now (on this thread): how many lines match. For tests and scripts;
        the search box searches in a thread."""
        self.workers.cancel_group(self, "search")
        self.searching = None
        self._install(Matcher(pattern) if pattern else None, None)
        return len(self.buffer.hits)

    def _go(self, seq: int | None) -> None:
        if seq is None:
            self.notify("no match", severity="warning", timeout=2)
            return
        self.current = seq
        self.following = False
        row = self.buffer.row_of_seq(seq)
        self._cache.clear()
        self.virtual_size = Size(self.virtual_size.width, self.buffer.view_len())
        self.scroll_to(y=max(0, row - self.size.height // 2), animate=False)
        self.refresh()
        self.post_message(self.StatusChanged())

    def _step(self, forward: bool) -> None:
        if self.search_pattern is not None:
            start = self.current if self.current is not None else self._top_seq() - (1 if forward else 0)
            self._go(self.buffer.next_hit(start, forward=forward))

    def action_next_match(self) -> None:
        self._step(True)

    def action_previous_match(self) -> None:
        self._step(False)

    def action_toggle_filter(self) -> None:
        if self.buffer.filtering:
            self.buffer.set_filtering(False)
        elif self.search_pattern is not None:
            self.buffer.set_filtering(True)  # the search's matches are kept up to date: nothing to match now
        else:
            self.notify("search first (/), then f shows only the matching lines", timeout=3)
            return
        self._cache.clear()
        self._sync()
        if self.current is not None and not self.following:
            self._go(self.current)
        self.post_message(self.StatusChanged())

    def action_toggle_follow(self) -> None:
        if self.following:
            self.following = False
        else:
            self.action_follow()
        self.post_message(self.StatusChanged())

    def action_follow(self) -> None:
        self.following = True
        self.current = None
        self._sync()
        self.post_message(self.StatusChanged())

    def action_top(self) -> None:
        self.following = False
        self.scroll_home(animate=False)
        self.post_message(self.StatusChanged())

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._cache.clear()
        self._sync()
        self.post_message(self.StatusChanged())

    def action_save(self) -> None:
        self.post_message(LogPane.SaveRequested())

    def on_mouse_scroll_up(self) -> None:
        # Scrolling back through history pauses following, as in every log viewer.
        if self.following:
            self.following = False
            self.post_message(self.StatusChanged())


def _enough(text: str, cells: int) -> str:
    """The start of a plain text that fills at least cells columns (all of it when shorter)."""
    end = cells
    while end < len(text) and cell_len(text[:end]) < cells:
        end *= 2
    return text[:end]


_heap_frozen = False


def freeze_long_lived_objects() -> None:
    """Take everything alive now out of the garbage collector's full collections, once per process.

    The dashboard holds about 80,000 long-lived objects (widgets, CSS, styles, the engine client). A full
    collection walks them all: 40-60 ms of the UI thread, 100 ms and more on a busy 2-core machine, and a
    log flood's allocations make one due within a second or two. Frozen, they are skipped and a full
    collection takes a few ms. Called when the first log pane mounts, after the app has built itself;
    collected first, so no garbage is kept for good.
    """
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


class LogPane(Vertical):
    """A titled log view with its status line and a search box."""

    DEFAULT_CLASSES = "log-pane"

    class SearchRequested(Message):
        pass

    class SaveRequested(Message):
        pass

    def __init__(self, title: str, buffer: LogBuffer, *, id: str | None = None, kind: str = "logs") -> None:
        super().__init__(id=id)
        self.title = title
        self.kind = kind  # logs, build, test
        self.buffer = buffer
        self.view = LogView(buffer)
        self.summary: Text = Text()  # what the pane's source says about itself: "step 3/7", "passed in 1.2 s"

    def compose(self) -> ComposeResult:
        yield Static(self.status_text(), classes="log-status", markup=False)
        yield self.view
        search = Input(placeholder="search (a regular expression); enter finds, escape closes", classes="log-search")
        search.display = False
        yield search

    def on_mount(self) -> None:
        freeze_long_lived_objects()

    def add(self, lines: list[LogLine]) -> None:
        self.buffer.extend(lines)
        self.view.add(lines)
        self._status_soon()

    def set_summary(self, summary: str | Text) -> None:
        # A summary may quote a build's or a test run's output: shown as text, SGR colour at most.
        if isinstance(summary, str):
            summary = rich_text(summary)
        elif not is_safe(summary.plain):
            summary = rich_text(summary.plain, summary.style)
        self.summary = summary
        self.refresh_status()

    def status_text(self) -> Text:
        v = self.view
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {visible(self.title)} ", style="bold reverse")
        if self.summary:
            text.append("  ")
            text.append(self.summary)
        text.append(f"  {self.buffer.total:,} lines", style="dim")
        if self.buffer.total > len(self.buffer.lines):
            text.append(f" (newest {len(self.buffer.lines):,} kept)", style="dim")
        text.append("  following" if v.following else "  paused", style="green" if v.following else "yellow")
        if v.searching is not None:
            text.append(f"  searching /{visible(v.searching.text)}\u2026", style="bold yellow")
        elif v.search_pattern is not None:
            text.append(f"  /{visible(v.search_pattern.text)}", style="bold")
            text.append(f" {len(self.buffer.hits):,} match", style="bold")
            text.append(self.search_notes(v.search_pattern, v.found), style="yellow")
        if self.buffer.filtering:
            text.append(f"  filtered: {self.buffer.view_len():,} match", style="magenta")
        text.append("  / search  n N  f filter  space pause  T time  ctrl+s save", style="grey50")
        return text

    @staticmethod
    def search_notes(matcher: Matcher, found: ScanResult | None) -> str:
        """What a search could not do as asked: a pattern searched as text, lines cut or searched in part."""
        notes = []
        if matcher.plain is not None:
            notes.append(f"as plain text: {matcher.plain}")
        if found is not None:
            if found.stats.cut:
                cut = found.stats.cut
                notes.append(f"{cut:,} line{'s' if cut != 1 else ''} searched in {MAX_LINE:,} characters only")
            if found.stats.slow:
                slow = found.stats.slow
                notes.append(f"{slow:,} slow line{'s' if slow != 1 else ''} searched in {matcher.limit:,} "
                             "characters only")
            if not found.complete:
                notes.append(f"stopped after {found.seconds:.0f} s at line {found.scanned:,} of {found.lines:,}")
        return f" ({'; '.join(notes)})" if notes else ""

    def _status_soon(self) -> None:
        # A flood adds lines many times a second: the status line needs redrawing at most every 0.2 s.
        now = time.monotonic()
        if now - getattr(self, "_status_at", 0.0) >= 0.2:
            self._status_at = now
            self.refresh_status()

    def refresh_status(self) -> None:
        if self.is_mounted:
            # One row whatever it says (.log-status has height 1): no layout of the whole screen for it.
            self.query_one(".log-status", Static).update(self.status_text(), layout=False)

    @on(LogView.StatusChanged)
    def status_changed(self) -> None:
        self.refresh_status()

    @on(SearchRequested)
    def open_search(self, event: SearchRequested) -> None:
        event.stop()
        box = self.query_one(".log-search", Input)
        box.display = True
        current = self.view.searching or self.view.search_pattern
        with box.prevent(Input.Changed):
            box.value = current.text if current is not None else ""
        box.focus()

    @on(Input.Changed, ".log-search")
    def search_changed(self, event: Input.Changed) -> None:
        # Searched as typed: each keystroke cancels the search before it and starts its own.
        event.stop()
        self.view.start_search(event.value)

    @on(Input.Submitted, ".log-search")
    def search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.view.start_search(event.value, announce=True)
        event.input.display = False
        self.view.focus()

    def on_key(self, event) -> None:  # noqa: ANN001 - a textual Key event
        box = self.query_one(".log-search", Input)
        if event.key == "escape" and box.display:
            box.display = False
            self.view.cancel_search()
            self.view.focus()
            event.stop()

    @on(SaveRequested)
    def save(self, event: SaveRequested) -> None:
        event.stop()
        directory = Path.cwd()
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", self.title).strip("-") or "log"
        path = directory / f"skid-{name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
        try:
            path.write_text(self.buffer.text(timestamps=self.view.timestamps))
        except OSError as exc:
            self.notify(f"could not save: {exc}", severity="error")
            return
        self.notify(f"saved {self.buffer.view_len():,} lines to {path}", timeout=6)
