"""`skid inspect SERVICE`: what the dashboard's `i` shows, on stdout; secrets masked unless --show-secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial

from rich.console import Console

from skid_tui.cli.output import EXIT_ENGINE, say
from skid_tui.engine.discovery import engine_candidates
from skid_tui.ops.config import Options, UsageError
from skid_tui.ops.inspect import inspect_service
from skid_tui.present import inspect_renderable
from skid_tui.stack import Stack


def cmd_inspect(stack: Stack, options: Options, service: str, as_json: bool, show_secrets: bool,  # noqa: PLR0917
                out: Console) -> int:
    if service not in stack.services:
        raise UsageError(f"unknown service '{service}' (expected one of: {', '.join(stack.services)})")
    result = inspect_service(stack, service, partial(engine_candidates, options.host))
    if as_json:
        # json.dumps escapes every control character: safe on a terminal as it is.
        print(json.dumps(result.to_json(reveal=show_secrets), indent=2, ensure_ascii=False))
    elif not result.error:
        secrets = {v.name for c in result.containers for v in c.env if v.secret}
        reveal = frozenset(secrets if show_secrets else ())
        out.print(inspect_renderable(result, datetime.now(UTC), reveal))
    if result.error:
        say(f"skid: {result.error}")
        return EXIT_ENGINE
    return 0
