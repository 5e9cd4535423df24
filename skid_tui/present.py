"""Shared presentation: the colours, formats and words both front ends use for the same things, once.

The command line prints these through Rich, the dashboard shows them in Textual widgets; neither spells
a state's colour or a result's wording of its own. No Textual here: Rich styles and Text only.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from skid_tui.engine.builds import BuildResult
from skid_tui.engine.testrun import SuiteResult
from skid_tui.ops.inspect import MASK, ServiceInspect
from skid_tui.ops.inspect import sections as inspect_sections
from skid_tui.safe_text import is_safe, sgr_segments, visible, visible_lines
from skid_tui.stack import format_bytes

# A container's state and health, its memory against its budget (model.budget's states), a plan's verdict.
BUDGET_STYLE = {"ok": "green", "over_standard": "yellow", "near_max": "red", "oom": "bold red", "no_budget": "cyan"}
STATE_STYLE = {
    "running": "bold green",
    "restarting": "bold yellow",
    "paused": "yellow",
    "removing": "yellow",
    "created": "cyan",
    "exited": "dim",  # a clean exit; the dashboard draws a non-zero one red
    "dead": "bold red",
    "not created": "dim",
}
HEALTH_STYLE = {"healthy": "green", "starting": "yellow", "unhealthy": "bold red"}
VERDICT_STYLE = {"fits": "bold green", "tight": "bold yellow", "does not fit": "bold red"}


def seconds_text(seconds: float) -> str:
    """`0.4 s`, `12.3 s`, `2 min 05 s`."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def build_summary(result: BuildResult) -> Text:
    """`✓ api built in 3.2 s: skid-demo-api:latest, 12.3 MiB` or `✗ api failed at step 3/5 (RUN ...): why`."""
    took = seconds_text(result.seconds)
    if result.ok:
        size = f", {format_bytes(result.size_bytes)}" if result.size_bytes is not None else ""
        cached = f" ({result.cache_hits} of {result.steps} steps cached)" if result.cache_hits else ""
        return Text(f"✓ {result.service} built in {took}: {result.tag}{size}{cached}", style="green")
    if result.cancelled:
        return Text(f"✗ {result.service} build cancelled after {took}", style="yellow")
    where = ""
    if result.failing_step is not None:
        number = f" {result.failing_step_number}/{result.steps}" if result.failing_step_number else ""
        where = f" at step{number} ({result.failing_step})"
    return Text(f"✗ {result.service} failed{where} after {took}: {result.error}", style="bold red")


def suite_summary(result: SuiteResult) -> Text:
    """`✓ unit-pass passed in 1.2 s, peak 3.1 MiB of 512 MiB`, `✗ unit-fail failed (exit 1) in 0.9 s`,
    `✗ big-memory OOM-killed at its 512 MiB limit after 2.3 s (peak 511 MiB)`."""
    took = seconds_text(result.seconds)
    limit = format_bytes(result.mem_limit)
    peak = format_bytes(result.peak_mem) if result.peak_mem is not None else "unknown"
    if result.cancelled:
        return Text(f"✗ {result.suite} cancelled after {took}", style="yellow")
    if result.oom_killed:
        return Text(f"✗ {result.suite} OOM-killed at its {limit} limit after {took} (peak {peak})", style="bold red")
    if result.passed:
        return Text(f"✓ {result.suite} passed in {took}, peak {peak} of {limit}", style="green")
    if result.exit_code is None:
        return Text(f"✗ {result.suite} could not run: {result.error}", style="bold red")
    return Text(f"✗ {result.suite} failed (exit {result.exit_code}) in {took}", style="bold red")


def rich_text(s: str, style: str | Style | None = None, *, sgr: bool = True) -> Text:
    """s as a Rich Text, never parsed as markup: SGR sequences (if sgr) become styles, other controls text."""
    base = style or ""
    if is_safe(s):
        return Text(s, style=base)
    if not sgr:
        return Text(visible(s), style=base)
    text = Text(style=base)
    for piece, state in sgr_segments(s):
        text.append(piece, style=Style(**state) if state else None)
    return text


def inspect_renderable(result: ServiceInspect, now: datetime, reveal: frozenset[str] = frozenset(),
                       selected: str | None = None) -> RenderableType:
    """`i` and `skid inspect`: each container's sections as key/value grids. Every value came from the engine
    and is shown as text; a secret's value is masked unless its name is in `reveal`; `selected` marks the
    variable the reveal key acts on (the dashboard's cursor)."""
    if result.error:
        return Text(visible(result.error), style="bold red")
    parts: list[RenderableType] = []
    for c in result.containers:
        for section in inspect_sections(c, now, reveal):
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold", no_wrap=True)
            grid.add_column(overflow="fold")
            for row in section.rows:
                value = Text(visible_lines(row.value), style="red" if row.warn else "")
                if row.secret and row.value == MASK:
                    value.stylize("dim")
                key = Text(visible(row.key), style="reverse" if row.secret and row.secret == selected else "")
                grid.add_row(key, value)
            if not section.rows:
                grid.add_row(Text("(none)", style="dim"), Text(""))
            parts.append(Text(visible(section.title), style="bold underline"))
            parts.append(grid)
            parts.append(Text(""))
    return Group(*parts[:-1])
