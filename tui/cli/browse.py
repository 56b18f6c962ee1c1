"""`convo browse` (the default command) and `convo demo`: open the app.

The app and the demo corpus are imported only when a command opens the app, so the other
commands start without loading Textual.
"""

from __future__ import annotations

import argparse
import sys

from tui.cli.common import Add, open_db


def register(add: Add) -> None:
    """Add the `browse` and `demo` subcommands."""
    p = add("browse", cmd_browse, "open the app (the default command)")
    p.add_argument(
        "--no-backfill",
        action="store_true",
        help="do not read new log lines in the background on start",
    )
    p.add_argument(
        "--demo-if-empty",
        action="store_true",
        help="open the demo corpus when the store is empty and no agent logs exist",
    )

    add("demo", cmd_demo, "open the app on a bundled demo corpus (generated, seeded)")


def cmd_browse(args: argparse.Namespace) -> int:
    open_db(args)
    return run_app(backfill=not args.no_backfill, demo_if_empty=args.demo_if_empty)


def cmd_demo(args: argparse.Namespace) -> int:
    from tui.cli import demo

    path = demo.open_demo_store()
    return run_app(backfill=False, notice=f"The demo corpus (generated, seed {demo.SEED}): {path}")


def run_app(
    *, backfill: bool = True, demo_if_empty: bool = False, notice: str | None = None
) -> int:
    """Run the app on the open store; returns the exit code.

    Args:
        backfill: read new log lines from the agents' default folders in the background.
        demo_if_empty: open the demo corpus if the store is empty and no agent logs exist.
        notice: a notification to show on start.
    """
    from store import views
    from store.ingest.locate import default_roots, discover
    from tui.app import ConvoApp

    roots = default_roots()
    # A fresh machine may have an agent's folder with nothing in it yet: look for log files,
    # and only when the store is empty (the walk is skipped on every later start).
    if demo_if_empty and views.is_empty() and next(iter(discover(roots)), None) is None:
        from tui.cli import demo

        demo.open_demo_store()
        notice = "No agent logs found on this machine: showing the generated demo corpus."
        backfill = False
    app = ConvoApp(backfill_roots=roots if backfill else None, notice=notice)
    app.run()
    if app.repair_interrupted:
        print(
            "convo: the repair stopped when the app closed; "
            "`convo repair` (or R in the app) resumes it.",
            file=sys.stderr,
        )
    return app.return_code or 0
