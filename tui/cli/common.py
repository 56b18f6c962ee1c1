"""What every command shares: exit codes, the one-line error, `--db`, and output helpers."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from store import db as store_db

Handler = Callable[[argparse.Namespace], int]
Add = Callable[[str, Handler, str], argparse.ArgumentParser]
"""`add(name, handler, help)`: a new subcommand's parser (given to each module's `register`)."""
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A one-line error for the user, with the exit code to end with."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def db_path(args: argparse.Namespace) -> Path | None:
    value = getattr(args, "db", None)
    return Path(value).expanduser() if value else None


def open_db(args: argparse.Namespace) -> None:
    store_db.open_store(db_path(args))


def positive(value: int | None, name: str) -> None:
    if value is not None and value < 1:
        raise CliError(f"{name} must be at least 1", code=2)


def print_json(value: Any) -> None:
    """`value` as indented JSON; characters a terminal could act on are escaped (`\\u009b`)."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))
    sys.stdout.write("\n")


def fmt_time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
"""What `json.dumps` leaves raw of `UNSAFE` (it escapes C0 itself; the other line ends are its)."""
