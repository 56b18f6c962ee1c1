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


# Terminal escape sequences, each removed whole (an OSC title's payload too), then any control
# character left: C0, DEL, C1, line/paragraph separators, bidi overrides, lone surrogates.
_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC ... BEL or ST
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # 8-bit OSC
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC strings
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI (7- and 8-bit)
    r"|\x1b[ -/]*[0-~]?"  # any other ESC sequence
)
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
"""A character that must not reach a terminal from a log (it is dropped or made a space)."""
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
"""What `json.dumps` leaves raw of `UNSAFE` (it escapes C0 itself; the other line ends are its)."""


def clean(text: str, limit: int | None = None) -> str:
    """Text from a log made safe for a terminal line: escape sequences removed, other control
    characters made spaces, whitespace runs collapsed; cut to `limit` characters with `…`."""
    if "\x1b" in text or "\x9b" in text or "\x9d" in text:
        text = _ESCAPES.sub("", text)
    flat = " ".join(UNSAFE.sub(" ", text).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat
