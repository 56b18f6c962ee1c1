"""`convo sessions`, `convo show` and `convo failures`: read the store, as JSON or for people."""

from __future__ import annotations

import argparse
from typing import Any

from store import pages
from store.records import MessageRow, SessionRow
from tui.cli.common import EXIT_OK, Add, CliError, fmt_time, open_db, positive, print_json


def register(add: Add) -> None:
    """Add the `sessions`, `show` and `failures` subcommands."""
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


def cmd_sessions(args: argparse.Namespace) -> int:
    positive(args.limit, "--limit")
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
    positive(args.limit, "--limit")
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
    positive(args.limit, "--limit")
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
