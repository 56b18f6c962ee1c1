"""The handlers of `convo`'s subcommands (ingest, sessions, show, failures, browse)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from store import db as store_db
from store import pages
from store.ingest.driver import Ingester, IngestReport, Progress
from store.ingest.parsers.registry import PARSERS
from store.records import MessageRow, SessionRow
from tui.cli import EXIT_ERROR, EXIT_OK, CliError, db_path, fmt_time, print_json

EXTRA_COMMAND_MODULES: list[str] = ["tui.cmd_export", "tui.cmd_repair"]
"""Modules with a `register(add)` function that add more subcommands (one module per area)."""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add every subcommand to the `sub` parsers action."""

    def add(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=[common], help=help_text, description=help_text
        )
        p.set_defaults(handler=handler)
        return p

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

    p = add("ingest", cmd_ingest, "ingest agent logs (no PATH: the agents' default folders)")
    p.add_argument("paths", nargs="*", metavar="PATH", type=Path)
    p.add_argument("--agent", choices=sorted(PARSERS), help="force the log format")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("sessions", cmd_sessions, "list sessions, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=None, metavar="N")
    p.add_argument("--agent", default=None)
    p.add_argument("--filter", default="", metavar="TEXT", help="title or project contains TEXT")
    p.add_argument("--sort", choices=sorted(pages.SORTS), default="updated")
    p.add_argument("--all", action="store_true", help="list sub-agent threads too")

    p = add("show", cmd_show, "print a session's messages in order")
    p.add_argument("session", metavar="SESSION", help="id, native id or a unique prefix of it")
    p.add_argument("--after", type=int, default=0, metavar="SEQ")
    p.add_argument("--limit", type=int, default=None, metavar="N")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="include hidden bookkeeping records")

    p = add("failures", cmd_failures, "recent commit failures and rejected lines, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50, metavar="N")

    import importlib

    for name in EXTRA_COMMAND_MODULES:
        importlib.import_module(name).register(add)


def open_db(args: argparse.Namespace) -> None:
    store_db.open_store(db_path(args))


def _positive(value: int | None, name: str) -> None:
    if value is not None and value < 1:
        raise CliError(f"{name} must be at least 1", code=2)


# ------------------------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    open_db(args)
    show_bar = sys.stderr.isatty() and not args.quiet and not args.json
    if show_bar:
        report = _ingest_with_bar(args)
    else:
        with store_db.reading():
            report = Ingester(agent=args.agent).run(args.paths or None)
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


def cmd_sessions(args: argparse.Namespace) -> int:
    _positive(args.limit, "--limit")
    open_db(args)
    flt = pages.SessionFilter(
        text=args.filter, agent=args.agent, top_level=not args.all, sort=args.sort
    )
    rows: list[SessionRow] = []
    cursor = None
    while args.limit is None or len(rows) < args.limit:
        want = 500 if args.limit is None else min(500, args.limit - len(rows))
        page = pages.sessions(after=cursor, limit=want, flt=flt)
        rows += page
        if len(page) < want:
            break
        cursor = pages.cursor_of(page[-1], flt.sort)
    if args.json:
        print_json([r.to_json() for r in rows])
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("id", "agent", "updated", "msgs", "project", "title"):
        table.add_column(col, no_wrap=col != "title", overflow="ellipsis")
    for r in rows:
        title = (r.title or "").replace("\n", " ")
        mark = f" (+{r.child_count} sub-agents)" if r.child_count else ""
        gone = " \\[log gone]" if r.gone_since else ""
        table.add_row(
            str(r.id),
            r.agent,
            fmt_time(r.updated_at),
            str(r.message_count),
            r.project or "-",
            title + mark + gone,
        )
    Console(highlight=False).print(table)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    _positive(args.limit, "--limit")
    if args.after < 0:
        raise CliError("--after must be 0 or more", code=2)
    open_db(args)
    row = pages.session(args.session)
    messages: list[MessageRow] = []
    after = args.after
    next_after = None
    while True:
        want = 500 if args.limit is None else min(500, args.limit - len(messages))
        if want <= 0:
            break
        page = pages.messages_after(row.id, after, want, include_hidden=args.all)
        messages += page
        if len(page) < want:
            break
        after = page[-1].seq
    if args.limit is not None and len(messages) == args.limit:
        more = pages.messages_after(row.id, messages[-1].seq, 1, include_hidden=args.all)
        next_after = messages[-1].seq if more else None
    if args.json:
        print_json(
            {
                "session": row.to_json(),
                "messages": [m.to_json() for m in messages],
                "next_after": next_after,
            }
        )
        return EXIT_OK
    _print_transcript(row, messages, next_after)
    return EXIT_OK


def _print_transcript(row: Any, messages: list[Any], next_after: int | None) -> None:
    from rich.console import Console
    from rich.markup import escape

    out = Console(highlight=False)
    out.print(f"[bold]{escape(row.title or row.native_id)}[/]")
    out.print(
        f"{row.agent} · {escape(row.project or '-')} · {row.message_count} messages · "
        f"updated {fmt_time(row.updated_at)}"
    )
    for m in messages:
        who = {"user": "you", "assistant": "agent"}.get(m.role, m.role)
        text = m.text if len(m.text) <= 2000 else m.text[:2000] + f"… [{len(m.text)} chars]"
        out.print(f"\n[dim]#{m.seq} {fmt_time(m.timestamp)}[/] [bold]{who}[/] [dim]{m.kind}[/]")
        out.print(escape(text))
    if next_after is not None:
        out.print(f"\n[dim]more: convo show {row.id} --after {next_after}[/]")


def cmd_failures(args: argparse.Namespace) -> int:
    _positive(args.limit, "--limit")
    open_db(args)
    rows = pages.failures(limit=args.limit)
    if args.json:
        print_json([r.to_json() for r in rows])
        return EXIT_OK
    if not rows:
        print("no failures recorded")
        return EXIT_OK
    for f in rows:
        where = f"{f.source_path}:{f.line}" if f.source_path else "-"
        print(f"{fmt_time(f.at)}  {f.kind:<6} {f.error}  [{f.event_type or '-'}] {where}")
    return EXIT_OK


def cmd_browse(args: argparse.Namespace) -> int:
    open_db(args)
    from tui.app import run_app

    code: int = run_app(backfill=not args.no_backfill, demo_if_empty=args.demo_if_empty)
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    from tui import demo
    from tui.app import run_app

    path = demo.open_demo_store()
    return run_app(backfill=False, notice=f"The demo corpus (generated, seed {demo.SEED}): {path}")
