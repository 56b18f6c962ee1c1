"""Text for people: relative times, clock times, sizes and counts, with an injectable clock.

Every "now" the app shows comes from `clock()`, so tests and screenshots freeze it
(`formatting.clock = lambda: FIXED`) and relative times cannot drift between runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.repair.job_types import JobStatus

clock: Callable[[], float] = time.time
"""Seconds since the epoch: the app's idea of now. Tests replace it."""

_UNITS = ((365 * 86400, "y"), (30 * 86400, "mo"), (7 * 86400, "w"), (86400, "d"), (3600, "h"))


def relative(ms: int | None, now: float | None = None) -> str:
    """How long ago an epoch-milliseconds time was, in a few characters (`5m ago`, `3d ago`).

    Args:
        ms: the time, epoch milliseconds; None or 0 means unknown.
        now: seconds since the epoch; default `clock()`.
    """
    if not ms:
        return "-"
    delta = (clock() if now is None else now) - ms / 1000
    if delta < 0:
        return "in future"
    if delta < 60:
        return "just now"
    for seconds, unit in _UNITS:
        if delta >= seconds:
            return f"{int(delta // seconds)}{unit} ago"
    return f"{int(delta // 60)}m ago"


def clock_time(ms: int | None) -> str:
    """A local `HH:MM:SS`, or empty when unknown."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S")


def date_time(ms: int | None) -> str:
    """A local `YYYY-MM-DD HH:MM`, or `-` when unknown."""
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def size(n: int) -> str:
    """A byte count as `812 B`, `4.2 KB`, `1.3 MB`."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def count(n: int) -> str:
    """A count with thousands separators."""
    return f"{n:,}"


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


def clean(text: str, limit: int | None = None) -> str:
    """Text from a log made safe for a terminal line: escape sequences removed, other control
    characters made spaces, whitespace runs collapsed; cut to `limit` characters with `…`."""
    if "\x1b" in text or "\x9b" in text or "\x9d" in text:
        text = _ESCAPES.sub("", text)
    flat = " ".join(UNSAFE.sub(" ", text).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat


def one_line(text: str, limit: int = 200) -> str:
    """The text squeezed onto one line (newlines and runs of spaces collapsed, escape sequences
    and control characters removed: see `clean`), cut at `limit`."""
    flat = clean(text[: limit * 4])
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def home_short(path: str | None, home: str | None = None) -> str:
    """A folder with the home directory shown as `~`."""
    if not path:
        return "-"
    import os

    base = home if home is not None else os.path.expanduser("~")
    if base and base != "/" and (path == base or path.startswith(base + os.sep)):
        return "~" + path[len(base) :]
    return path


RATE_AFTER_MS = 1000
"""A job's rate and ETA are shown once it has run this long: over a few batches they are noise."""


def duration(seconds: float) -> str:
    """`42 s`, `3 min 5 s`, `2 h 10 min`."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def job_progress(st: JobStatus, *, stopping: bool = False) -> str:
    """A repair job's progress in one line: `renumber #3: 4,000/10,000 rows · 2,000 rows/s ·
    ETA 3 s`."""
    parts = [f"{st.name} #{st.id}: {st.rows_done:,}/{st.rows_total:,} rows"]
    ran = (st.updated_at or 0) - (st.started_at or 0)
    if st.rate and ran >= RATE_AFTER_MS:
        parts.append(f"{st.rate:,} rows/s")
        if st.eta_s is not None:
            parts.append(f"ETA {duration(st.eta_s)}")
    else:
        parts.append("measuring the rate…")
    if stopping:
        parts.append("stopping after this batch…")
    return " · ".join(parts)
