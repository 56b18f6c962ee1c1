"""`convo ingest [PATH ...]`: read agent logs into the store, with a progress bar on a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from store import db as store_db
from store import funnel
from store.ingest.driver import Ingester
from store.ingest.parsers.registry import PARSERS
from store.ingest.writing import IngestReport, Progress
from tui.cli.common import EXIT_ERROR, EXIT_OK, Add, open_db, print_json


def register(add: Add) -> None:
    """Add the `ingest` subcommand."""
    p = add("ingest", cmd_ingest, "ingest agent logs (no PATH: the agents' default folders)")
    p.add_argument("paths", nargs="*", metavar="PATH", type=Path)
    p.add_argument("--agent", choices=sorted(PARSERS), help="force the log format")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_ingest(args: argparse.Namespace) -> int:
    open_db(args)
    show_bar = sys.stderr.isatty() and not args.quiet and not args.json
    said: set[str] = set()

    def waiting(reason: str) -> None:  # a repair holds the store: say why once, then wait
        if reason not in said:
            said.add(reason)
            print(f"convo: waiting: {reason}", file=sys.stderr, flush=True)

    unsubscribe = funnel.on_wait(waiting)
    try:
        if show_bar:
            report = _ingest_with_bar(args)
        else:
            with store_db.reading():
                report = Ingester(agent=args.agent).run(args.paths or None)
    finally:
        unsubscribe()
    if args.json:
        print_json(report.to_json())
    else:
        _print_report(report)
    return EXIT_ERROR if report.errors and not report.files_read else EXIT_OK


def _ingest_with_bar(args: argparse.Namespace) -> IngestReport:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[added]} messages"),
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None, added=0)
        added = 0

        def tick(p: Progress) -> None:
            nonlocal added
            added += p.messages_added
            bar.update(task, completed=p.done, total=p.total, added=added)

        with store_db.reading():
            return Ingester(agent=args.agent, progress=tick).run(args.paths or None)


def _print_report(report: IngestReport) -> None:
    from rich.console import Console

    out = Console(highlight=False)
    out.print(
        f"files: {report.files_seen} seen, {report.files_read} read, "
        f"{report.files_unchanged} unchanged, {report.files_rewritten} rewritten, "
        f"{report.files_gone} gone"
    )
    out.print(
        f"sessions: {len(report.sessions)} touched; messages: {report.messages_added} "
        f"added, {report.messages_dup} duplicates kept once"
    )
    skipped = dict(report.files_skipped)
    if skipped:
        out.print("files skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())))
    if report.lines_bad:
        out.print(
            "lines skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(report.lines_bad.items()))
        )
    if report.lines_unknown:
        out.print(
            "unknown record types kept raw: "
            + ", ".join(f"{k} {v}" for k, v in sorted(report.lines_unknown.items()))
        )
    if report.commit_failures:
        out.print(f"commit failures: {report.commit_failures} (see `convo failures`)")
    for error in report.errors:
        print(f"convo: {error}", file=sys.stderr)
