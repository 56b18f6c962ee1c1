"""`convo export SESSION [--format md|jsonl] [-o FILE]`: a session as Markdown, or its log lines.

Both formats come from the store alone, so a session whose log file is gone still exports:
Markdown through `store.export.markdown` (the same renderer as the app's export key), JSONL through
`store.export.jsonl` (the original records, byte for byte where the agent's format allows).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path
from typing import BinaryIO

from store import pages
from store.export import jsonl, markdown
from tui.cli.common import EXIT_ERROR, EXIT_OK, Add, CliError, open_db


def register(add: Add) -> None:
    """Add the `export` subcommand."""
    p = add("export", cmd_export, "a session as Markdown, or its original log lines (jsonl)")
    p.add_argument("session", metavar="SESSION", help="id, native id or a unique prefix of it")
    p.add_argument("--format", choices=("md", "jsonl"), default="md", help="default: md")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=Path,
        default=None,
        help="write to FILE (replaced whole when done) instead of stdout",
    )
    p.add_argument(
        "--stale",
        action="store_true",
        help="jsonl: also the records that a rewritten log file no longer has",
    )


SEQS_SHOWN = 10
"""Seqs of skipped records the one line lists before it says how many more."""


def cmd_export(args: argparse.Namespace) -> int:
    open_db(args)
    row = pages.session(args.session)
    skipped: list[int] = []

    def write(out: BinaryIO) -> None:
        if args.format == "jsonl":
            jsonl.write_jsonl(row.id, out, include_stale=args.stale, skipped=skipped)
            return
        text = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=True)
        try:
            markdown.write(row, text)
            text.flush()
        finally:
            text.detach()  # the caller owns `out`

    if args.output is None:
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return _report_skipped(row.id, skipped)
    target = args.output.expanduser()
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as out:
            write(out)
        os.replace(partial, target)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise CliError(f"cannot write {target}: {err.strerror or err}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return _report_skipped(row.id, skipped)


def _report_skipped(session_id: int, seqs: list[int]) -> int:
    """One line on stderr naming the records that could not be read; exit 1 when there were any."""
    if not seqs:
        return EXIT_OK
    shown = ", ".join(f"#{s}" for s in seqs[:SEQS_SHOWN])
    more = f" (+{len(seqs) - SEQS_SHOWN} more)" if len(seqs) > SEQS_SHOWN else ""
    noun = "message" if len(seqs) == 1 else "messages"
    print(
        f"convo: skipped {len(seqs)} {noun} whose stored log record is damaged: "
        f"session {session_id} {shown}{more}; `convo repair --deep` re-reads them from the log "
        "if it is still there",
        file=sys.stderr,
    )
    return EXIT_ERROR
