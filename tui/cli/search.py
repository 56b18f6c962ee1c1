"""`convo search QUERY`: every session's messages, by the full-text index, as JSON or for people.

For people, one hit per line: `SESSION #SEQ  time  agent  title  snippet`, the match marked «so»
when stdout is not a terminal (no colour, no wrapping) and highlighted on a terminal (Rich `Text`
styled by the hit's spans: nothing from a log is read as markup). Notes go to stderr: the query's
own (a fallback to any word, a lone quote closed), how much of the store the index covers while it
is being built, and how to get the next page. Exit 0 with hits, 1 with none, 2 on any error (an
unexpected one too: `crash_code`, which `main` uses, so a crash never reads as "no hits").
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import TYPE_CHECKING

from store import pages
from store.search import engine
from store.search.filters import KINDS, ROLES, Filters, kind_of, parse_time, role_of
from tui.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    Add,
    fmt_time,
    open_db,
    positive,
    print_json,
)
from tui.formatting import UNSAFE, clean

if TYPE_CHECKING:
    from rich.text import Text

OPEN, CLOSE = "«", "»"
"""How a match is marked when stdout is not a terminal."""
TITLE_CHARS = 40
KIND_LABELS = {"tool_call": "tool call", "tool_result": "tool result", "thinking": "thinking"}

HELP = f"""\
QUERY: words are ANDed; "a phrase"; prefix*; -word excludes; a OR b. A question typed as a
sentence falls back to any of its significant words, and says so. A QUERY starting with - goes
after --: convo search -- -draft notes.

Each hit is one line: SESSION #SEQ, time (UTC), agent, session title, and the text around the
match, marked {OPEN}like this{CLOSE} when the output is not a terminal (highlighted on one).
`convo show SESSION --after SEQ-1` prints the conversation from that message on.

Exit status: 0 hits found, 1 none, 2 an error (bad query, no index, bad filter...).
"""


def register(add: Add) -> None:
    """Add the `search` subcommand."""
    p = add("search", cmd_search, "search the text of every session's messages")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = HELP
    p.set_defaults(crash_code=EXIT_USAGE)
    p.add_argument("query", nargs="+", metavar="QUERY", help="what to look for (see below)")
    p.add_argument("--json", action="store_true", help="one JSON document: hits, next, indexed")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="hits per page (20)")
    p.add_argument("--agent", metavar="A", help="claude, codex, gemini or opencode")
    p.add_argument("--project", metavar="P", help="the session's project folder (. for this one)")
    p.add_argument("--role", metavar="R", help=", ".join(ROLES))
    p.add_argument("--kind", metavar="K", help=", ".join(k.replace("_", " ") for k in KINDS))
    p.add_argument("--session", metavar="S", help="one session: id, native id or a prefix")
    p.add_argument("--since", metavar="T", help="from T: 7d, 12h, 2026-03-01, an ISO time")
    p.add_argument("--until", metavar="T", help="before T (same forms)")
    p.add_argument("--all", action="store_true", help="search sub-agent threads too")
    p.add_argument("--cursor", metavar="NEXT", help='the next page: "next" of a --json answer')


def cmd_search(args: argparse.Namespace) -> int:
    positive(args.limit, "--limit")
    text = " ".join(args.query)
    flt = Filters(
        agent=args.agent.strip().lower() if args.agent else None,
        project=_project(args.project) if args.project else None,
        role=role_of(args.role) if args.role else None,
        kind=kind_of(args.kind) if args.kind else None,
        since=parse_time(args.since) if args.since else None,
        until=parse_time(args.until) if args.until else None,
        subagents=args.all,
    )
    open_db(args)
    if args.session:
        flt = dataclasses.replace(flt, session_id=pages.session(args.session).id)
    results = engine.search(text, flt, limit=args.limit, cursor=args.cursor)
    if args.json:
        print_json(results.to_json())
    else:
        _print_hits(results.hits)
        _print_notes(results)
    return EXIT_OK if results.hits else EXIT_ERROR


def _project(value: str) -> str:
    """A project folder as sessions store it: `~` expanded, `.`/`..` paths made absolute."""
    path = os.path.expanduser(value.strip())
    if path in (".", "..") or path.startswith(("./", "../")):
        path = os.path.abspath(path)
    return path.rstrip("/") or "/"


# ---------------------------------------------------------------------------------------------
# Output for people


def fields(hit: engine.Hit) -> tuple[str, str, str, str, str]:
    """(reference, time, agent, title, label) of a hit, each safe for a terminal."""
    label = KIND_LABELS.get(hit.kind, "")
    if hit.role == "user" and hit.kind in ("prompt", "text"):
        label = "you"
    return (
        f"{hit.session_id} #{hit.seq}",
        fmt_time(hit.timestamp),
        clean(hit.agent),
        clean(hit.title or hit.native_id, TITLE_CHARS) or "-",
        label,
    )


def snippet_pieces(hit: engine.Hit) -> list[tuple[str, bool]]:
    """The snippet as (text, matched) pieces, any unsafe character dropped."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in sorted(hit.spans):
        if start < at:
            continue
        pieces += [(hit.snippet[at:start], False), (hit.snippet[start:end], True)]
        at = end
    pieces.append((hit.snippet[at:], False))
    return [(UNSAFE.sub("", piece), matched) for piece, matched in pieces if piece]


def plain_line(hit: engine.Hit) -> str:
    """A hit as one line of plain text, matches marked «so»."""
    ref, when, agent, title, label = fields(hit)
    snippet = "".join(f"{OPEN}{p}{CLOSE}" if m else p for p, m in snippet_pieces(hit))
    head = f"{ref:<10} {when}  {agent:<8} {title:<{TITLE_CHARS}}"
    return f"{head}  {label + ': ' if label else ''}{snippet}"


def rich_line(hit: engine.Hit) -> Text:
    """A hit as one styled line: the matches highlighted by their spans, never markup."""
    from rich.text import Text

    ref, when, agent, title, label = fields(hit)
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    line.append(f"{ref:<10} ", style="cyan")
    line.append(f"{when}  ", style="dim")
    line.append(f"{agent:<8} ", style="magenta")
    line.append(f"{title:<{TITLE_CHARS}}  ", style="bold")
    if label:
        line.append(f"{label}: ", style="dim italic")
    for piece, matched in snippet_pieces(hit):
        line.append(piece, style="bold yellow reverse" if matched else "")
    return line


def _print_hits(hits: list[engine.Hit]) -> None:
    if not hits:
        return
    out = None
    if sys.stdout.isatty():
        from rich.console import Console

        out = Console(highlight=False, soft_wrap=False)
    if out is None or out.color_system is None:  # piped, or a terminal without styles (dumb)
        sys.stdout.write("".join(plain_line(h) + "\n" for h in hits))
        sys.stdout.flush()
        return
    for hit in hits:
        out.print(rich_line(hit), crop=True, no_wrap=True, overflow="ellipsis")


def coverage_line(indexed: float) -> str | None:
    """The line saying how much of the store an index being built covers; None when complete."""
    if indexed >= 1:
        return None
    share = min(99, int(indexed * 100))
    return f"search covers {share}% of messages; the app or `convo repair` finishes the index"


def _print_notes(results: engine.Results) -> None:
    lines = [clean(note) for note in results.notes]
    coverage = coverage_line(results.indexed)
    if coverage:
        lines.append(coverage)
    if not results.hits:
        lines.append("no messages match")
    elif results.next:
        lines.append(f"more hits: run the same search with --cursor {results.next}")
    if lines:
        sys.stderr.write("".join(line + "\n" for line in lines))
