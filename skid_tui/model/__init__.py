"""The live model: what every service uses against its budget, fed by the engine watcher's updates.

The dashboard and `skid monitor` both apply the watcher's updates to a LiveModel and render its
snapshots, so they show the same numbers. No Textual here.
"""

from skid_tui.model.budget import BudgetState, budget_state, cpu_fraction
from skid_tui.model.live import HostMemory, LiveModel, ServiceResources, Totals
from skid_tui.model.peaks import PeakStore, state_dir

__all__ = [
    "BudgetState",
    "HostMemory",
    "LiveModel",
    "PeakStore",
    "ServiceResources",
    "Totals",
    "budget_state",
    "cpu_fraction",
    "state_dir",
]
