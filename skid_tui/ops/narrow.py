"""Which services to show and in what order: the dashboard's `/` filter, `o` sort and `H` (hide what is off).

Plain data in, names out, so the rules are the same wherever a list of services is narrowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SORTS = ("profile", "name", "memory", "cpu")  # `o` cycles through them in this order
SORT_WORDS = {"profile": "the profile's order", "name": "name", "memory": "memory used", "cpu": "CPU"}


@dataclass(frozen=True)
class Facts:
    """What the filter matches and the sort orders by, for one service."""

    name: str
    state: str  # running, exited, paused, not created...
    image: str = ""
    health: str = ""
    mem_bytes: int | None = None
    cpu_percent: float | None = None

    @property
    def off(self) -> bool:
        return self.state not in ("running", "restarting", "paused")


def matches(facts: Facts, query: str) -> bool:
    """Every word of the query (case-insensitive) in the name, the state, the health or the image."""
    hay = " ".join((facts.name, facts.state, facts.health, facts.image)).casefold()
    return all(word in hay for word in query.casefold().split())


def narrow(order: Sequence[str], facts: Mapping[str, Facts], *, query: str = "", sort: str = "profile",
           hide_off: bool = False) -> list[str]:
    """The services to show, in the order to show them. Largest first for memory and CPU (what a user looks
    for); services without a number last; ties keep the profile's order."""
    shown = [s for s in order if s in facts and matches(facts[s], query) and not (hide_off and facts[s].off)]
    if sort == "name":
        return sorted(shown, key=str.casefold)
    if sort == "memory":
        return sorted(shown, key=lambda s: -(facts[s].mem_bytes or -1))
    if sort == "cpu":
        return sorted(shown, key=lambda s: -(facts[s].cpu_percent if facts[s].cpu_percent is not None else -1))
    return shown


def next_sort(sort: str) -> str:
    return SORTS[(SORTS.index(sort) + 1) % len(SORTS)] if sort in SORTS else SORTS[0]
