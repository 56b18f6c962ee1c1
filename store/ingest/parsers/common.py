"""Helpers every parser shares: tolerant line decoding, string scrubbing, time normalisation.

Everything here is pure and never raises on bad input: it returns a value or `None`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, datetime
from typing import Any

import orjson

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_JSON_DECODER = json.JSONDecoder()


def scrub(text: str) -> str:
    """Replace lone UTF-16 surrogates (they make SQLite binding raise) with U+FFFD."""
    if _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)


def scrub_any(value: Any) -> Any:
    """`scrub` every string inside a decoded JSON value."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_any(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_any(v) for v in value]
    return value


class LineError(Exception):
    """A line that is not a usable JSON object; `reason` is a short tag for counting."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


MAX_DEPTH = 200
"""Values nested deeper than this are cut (orjson refuses 1024, the stdlib runs out of stack)."""


def prune_deep(raw: bytes, limit: int = MAX_DEPTH) -> bytes:
    """`raw` with every array or object nested deeper than `limit` replaced by `null`.

    A slow byte scan, for the rare document that orjson refuses as too deep: the rest of the
    document is kept as it was.
    """
    out = bytearray()
    depth = 0
    cut_from = -1  # the depth at which the value being cut started, or -1
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit and cut_from < 0:
                cut_from = depth
                out += b"null"
        elif byte in (0x5D, 0x7D):
            depth -= 1
            if cut_from > depth:
                cut_from = -1
                continue
        if cut_from < 0:
            out.append(byte)
    return bytes(out)


def load_line(raw: bytes, prune: bool = False) -> dict[str, Any]:
    """Decode one log line into a JSON object, as tolerantly as the data allows.

    Handles a UTF-8 BOM, invalid UTF-8 (replaced, so one bad byte costs one character), lone
    surrogate escapes (scrubbed), and a truncated stub followed by a complete record on the same
    line (the complete record is salvaged).

    Raises:
        LineError: the line holds no JSON object (`malformed-json`, `not-an-object`, `empty`,
            `too-deep`, `too-big`). With `prune` (whole documents), values nested too deep are
            replaced by null instead of losing the document.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise LineError("empty")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            value = _slow_load(raw)
        except (RecursionError, MemoryError) as exc:
            # orjson stops at depth 1024; the stdlib fallback then runs out of stack or memory.
            if prune and isinstance(exc, RecursionError):
                return load_line(prune_deep(raw))
            raise LineError("too-deep" if isinstance(exc, RecursionError) else "too-big") from None
    else:
        # orjson accepts lone-surrogate escapes in some versions and not in others; scrub is
        # cheap when there is nothing to replace, but walking every value is not, so only
        # values that contain a backslash-u escape are walked.
        if b"\\ud" in raw or b"\\uD" in raw:
            value = scrub_any(value)
    if not isinstance(value, dict):
        raise LineError("not-an-object")
    return value


def _slow_load(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return scrub_any(json.loads(text))
    except ValueError:
        pass
    # A killed writer can leave a stub, and the next append continue on the same line:
    # `{"type":"pr-link","prNu{"parentUuid":...}`. Salvage the last complete object.
    for match in re.finditer(r"\{\"", text):
        start = match.start()
        if start == 0:
            continue
        try:
            value, end = _JSON_DECODER.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict) and not text[end:].strip():
            return scrub_any(value)
    raise LineError("malformed-json")


def snippet(raw: bytes, limit: int = 160) -> str:
    """The head of a raw line, decoded and scrubbed, for failure records."""
    return scrub(raw[:limit].decode("utf-8", errors="replace"))


INT64_MAX = 2**63 - 1


def sql_int(value: Any, floats: bool = False) -> int | None:
    """`value` as an int that SQLite can store (64-bit), else None; finite floats only if asked.

    Every number a parser takes from a log goes through here: `1e999`, NaN and integers beyond
    2^63 become None (the field is lost, the line is kept).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and floats:
        if not math.isfinite(value) or abs(value) > INT64_MAX:
            return None
        value = int(value)
    if not isinstance(value, int) or not -INT64_MAX - 1 <= value <= INT64_MAX:
        return None
    return value


def iso_to_ms(value: Any) -> int | None:
    """ISO-8601 (with or without `Z`, ms or µs) or epoch seconds/ms to UTC epoch milliseconds."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        # Epoch seconds vs milliseconds: anything below 10^11 is seconds (year 5138 in ms).
        return sql_int(value * 1000 if value < 1e11 else value, floats=True)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return int(moment.timestamp() * 1000)
    except (OverflowError, ValueError, OSError):
        return None


def digest(*pieces: str | bytes | None) -> str:
    """A short stable hash of the pieces, for records without an id of their own."""
    h = hashlib.blake2b(digest_size=12)
    for piece in pieces:
        if piece is None:
            h.update(b"\x00")
        elif isinstance(piece, bytes):
            h.update(piece)
        else:
            h.update(piece.encode("utf-8", errors="surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def dumps(value: Any) -> str:
    """Compact JSON for display of tool inputs and unknown payloads."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=str)


def as_text(value: Any) -> str:
    """Tolerant flattening of polymorphic content (string, list of blocks, object) to text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        pieces = []
        for item in value:
            if isinstance(item, dict):
                if isinstance(item.get("text"), str):
                    pieces.append(scrub(item["text"]))
                elif item.get("type") == "image" or item.get("type") == "input_image":
                    pieces.append("[image]")
                else:
                    pieces.append(dumps(item))
            else:
                pieces.append(as_text(item))
        return "\n".join(p for p in pieces if p)
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return scrub(value["text"])
        return dumps(value)
    return str(value)


def first_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of `text`, cut to `limit` characters (for titles)."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""
