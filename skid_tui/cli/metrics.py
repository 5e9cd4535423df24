"""`skid metrics`: the live numbers of `skid monitor` for Prometheus, served over HTTP until Ctrl-C.

The same watcher and LiveModel as `skid monitor`; this thread owns the model and publishes a snapshot of it
after each drain, which the HTTP server's thread reports (ops/metrics.py).
"""

from __future__ import annotations

import argparse
import errno

from rich.console import Console

from skid_tui.cli.output import EXIT_USAGE, say
from skid_tui.engine.discovery import engine_candidates
from skid_tui.model import LiveModel, PeakStore
from skid_tui.model.active import remembered_profile
from skid_tui.ops.config import Options, UsageError, active_profile
from skid_tui.ops.sample import ModelFeed, history_recorder
from skid_tui.stack import Stack

DEFAULT_LISTEN = "127.0.0.1:9108"  # loopback: the metrics name the stack's services


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                   help=f"where to serve /metrics (default {DEFAULT_LISTEN}; IPv6 as [::1]:9108)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --listen address beyond loopback (the metrics name the stack's services)")
    p.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                   help="seconds between updates of what a scrape reports (default 2)")


def cmd_metrics(stack: Stack, options: Options, args: argparse.Namespace, out: Console) -> int:
    # Here, not at the top: prometheus_client takes ~60 ms to import, and every `skid` command builds this
    # module's arguments.
    from skid_tui.ops.metrics import StackCollector, listen_address, metrics_registry, serve, stop

    if args.interval <= 0:
        raise UsageError(f"--interval must be a positive number of seconds, not {args.interval:g}")
    address = listen_address(args.listen, args.allow_remote)
    profile = active_profile(stack, options.profile, remembered_profile(stack.project), options.default_profile)
    # A watching process keeps history, as `skid monitor` does (the store takes several writers).
    model = LiveModel(stack, profile, peaks=PeakStore.default(), history=history_recorder(options.history_bytes))
    collector = StackCollector()
    collector.publish(model)  # a scrape before the first drain says the engine is not up yet, not nothing
    # Bound before the watcher starts: a port in use ends the command before it touches the engine.
    try:
        server, thread = serve(address.host, address.port, metrics_registry(collector))
    except OSError as exc:
        why = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc)).lower()
        say(f"skid: cannot listen on {address}: {why}")
        return EXIT_USAGE
    try:
        say(f"skid: serving metrics on {address.url} (Ctrl-C stops)")
        with ModelFeed(model, stack.project, lambda: engine_candidates(options.host), options.stats) as feed:
            while True:
                feed.drain(args.interval)
                collector.publish(model)
    except KeyboardInterrupt:
        return 0
    finally:
        stop(server, thread)
