"""The command line: `skid` and its commands, rendering ops results with Rich (the dashboard is the other
front end, in skid_tui.ui; this package may import it only to launch it)."""

from skid_tui.cli.main import main

__all__ = ["main"]
