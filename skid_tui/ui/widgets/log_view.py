"""Log panes: a view over a LogBuffer that draws only the visible lines, with search, filter, pause/follow,
timestamps and save. A pane out of sight takes lines into its buffer and draws nothing until shown."""

from __future__ import annotations

import gc
import re
import time
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from skid_tui.engine.logs import LogLine
from skid_tui.model.logbuffer import LogBuffer, compile_pattern

NOTE_STYLE = Style(italic=True, color="cyan")
ERR_STYLE = Style(color="bright_red")
TS_STYLE = Style(color="grey50")
MATCH_STYLE = Style(bgcolor="yellow", color="black")
CURRENT_STYLE = Style(bgcolor="bright_magenta", color="black", bold=True)
# LogLine.stream -> style: 0 skid's own notes, 1 stdout, 2 stderr and errors, 3 warnings, 4 a build step
STREAM_STYLES: dict[int, Style | None] = {
    0: NOTE_STYLE, 1: None, 2: ERR_STYLE, 3: Style(color="yellow"), 4: Style(bold=True, color="bright_white"),
}
SYNC_HZ = 10  # how often a flooding pane redraws


class LogView(ScrollView, can_focus=True):
    """Draws rows of a LogBuffer's view; follows the end unless paused."""

    BINDINGS = [
        Binding("slash", "search", "Search", id="log.search"),
        Binding("n", "next_match", "Next match", id="log.next"),
        Binding("N", "previous_match", "Previous match", id="log.previous"),
        Binding("f", "toggle_filter", "Filter to matches", id="log.filter"),
        Binding("space", "toggle_follow", "Pause/follow", id="log.follow"),
        # T, not t: t opens the test picker from anywhere, a log pane included.
        Binding("T", "toggle_timestamps", "Timestamps", id="log.timestamps"),
        Binding("ctrl+s", "save", "Save to a file", id="log.save"),
        Binding("end,G", "follow", "Follow the end", show=False, id="log.end"),
        Binding("home,g", "top", "Top", show=False, id="log.top"),
    ]

    class StatusChanged(Message):
        """Following, paused, the filter or the search changed: the pane's status line says so."""

    def __init__(self, buffer: LogBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        self.following = True
        self.timestamps = False
        self.search_pattern: re.Pattern[str] | None = None
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
            text = self._line_text(line, seq)
            strip = Strip(list(text.render(self.app.console)), text.cell_len)
            strip = strip.crop_extend(scroll_x, scroll_x + width, base)
            self._cache[key] = strip
        return strip.apply_offsets(scroll_x, row)

    def _line_text(self, line: LogLine, seq: int) -> Text:
        text = Text(no_wrap=True, end="", style=self._base_style or "")
        if self.timestamps and line.ts:
            text.append(line.ts[:23].replace("T", " "), style=TS_STYLE)
            text.append(" ")
        start = len(text)
        # A Text without spans renders unstyled, ignoring its own style: plain stdout would lose the
        # pane's background, so it gets a span of the base style.
        text.append(line.text, style=STREAM_STYLES.get(line.stream) or self._base_style)
        if self.search_pattern is not None:
            highlight = CURRENT_STYLE if seq == self.current else MATCH_STYLE
            for m in self.search_pattern.finditer(line.text):
                if m.end() > m.start():
                    text.stylize(highlight, start + m.start(), start + m.end())
        return text

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None  # looked up once per restyle, not once per line drawn
        self._cache.clear()

    # -- the keys -------------------------------------------------------------------------------------------

    def action_search(self) -> None:
        self.post_message(LogPane.SearchRequested())

    def set_search(self, pattern: str) -> int:
        """Highlight pattern and go to its first match at or after the view's top; how many lines match."""
        self.search_pattern = compile_pattern(pattern) if pattern else None
        self._cache.clear()
        if self.search_pattern is None:
            self.current = None
            if self.buffer.filter is not None:
                self.buffer.set_filter(None)
            self._sync()
            self.post_message(self.StatusChanged())
            return 0
        if self.buffer.filter is not None:
            self.buffer.set_filter(self.search_pattern)
        count = self.buffer.matches(self.search_pattern)
        top = self.buffer.seq_of_row(max(0, int(self.scroll_y))) if self.buffer.view_len() else 0
        self._go(self.buffer.find(self.search_pattern, top - 1, forward=True))
        self.post_message(self.StatusChanged())
        return count

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

    def action_next_match(self) -> None:
        if self.search_pattern is not None:
            start = self.current if self.current is not None else self.buffer.seq_of_row(int(self.scroll_y))
            self._go(self.buffer.find(self.search_pattern, start, forward=True))

    def action_previous_match(self) -> None:
        if self.search_pattern is not None:
            start = self.current if self.current is not None else self.buffer.seq_of_row(int(self.scroll_y))
            self._go(self.buffer.find(self.search_pattern, start, forward=False))

    def action_toggle_filter(self) -> None:
        if self.buffer.filter is not None:
            self.buffer.set_filter(None)
        elif self.search_pattern is not None:
            self.buffer.set_filter(self.search_pattern)
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
        self.summary = summary if isinstance(summary, Text) else Text(summary)
        self.refresh_status()

    def status_text(self) -> Text:
        v = self.view
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.title} ", style="bold reverse")
        if self.summary:
            text.append("  ")
            text.append(self.summary)
        text.append(f"  {self.buffer.total:,} lines", style="dim")
        if self.buffer.total > len(self.buffer.lines):
            text.append(f" (newest {len(self.buffer.lines):,} kept)", style="dim")
        text.append("  following" if v.following else "  paused", style="green" if v.following else "yellow")
        if v.search_pattern is not None:
            text.append(f"  /{v.search_pattern.pattern}", style="bold")
        if self.buffer.filter is not None:
            text.append(f"  filtered: {self.buffer.view_len():,} match", style="magenta")
        text.append("  / search  n N  f filter  space pause  T time  ctrl+s save", style="grey50")
        return text

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
        if self.view.search_pattern is not None:
            box.value = self.view.search_pattern.pattern
        box.focus()

    @on(Input.Submitted, ".log-search")
    def search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        count = self.view.set_search(event.value)
        event.input.display = False
        self.view.focus()
        if event.value:
            self.notify(f"{count:,} line{'s' if count != 1 else ''} match /{event.value}", timeout=3)

    def on_key(self, event) -> None:  # noqa: ANN001 - a textual Key event
        box = self.query_one(".log-search", Input)
        if event.key == "escape" and box.display:
            box.display = False
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
