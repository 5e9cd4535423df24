"""The Textual dashboard: app, screens, widgets. Renders snapshots; never calls the engine itself."""

import gc

# Loading Textual and drawing each frame allocate many short-lived objects that reference counting frees:
# a collection every 700 allocations (Python's default) found little and cost a tenth of the dashboard's
# CPU at 50 panels, and tens of milliseconds of its start. Set here, before Textual is imported.
GC_YOUNG = 50_000  # allocations between collections of the youngest generation
gc.set_threshold(GC_YOUNG, 20, 20)
