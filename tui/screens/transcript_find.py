"""Find within one session: what a find looks for, every message it matches, and the next one.

A find is typed in the transcript (`/`) or comes from a search hit. Its matches are the session's
visible messages that hold it, in seq order, so the transcript can say "match 3 of 17" and `n`/`N`
walk them, wrapping at the ends. In a large session (more than `LARGE` messages) or for a search
hit they come from the full-text index (`engine.session_matches`, the search's own query
language); otherwise, and whenever the index cannot answer, from a LIKE walk of the session
(`views.find_in_session`, a plain substring). `matching_seqs` runs in a thread worker.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from store import views
from store.db import reading
from store.errors import StoreError
from store.search import engine
from store.search.query import QueryError, parse

LARGE = 2_000
"""Sessions with more messages than this are searched by the index, not by a LIKE walk."""
CAP = 10_000
"""Matches counted at most ("10,000+")."""


@dataclass(frozen=True)
class Find:
    """What a find looks for."""

    text: str
    """What the user typed (or the search query that opened the transcript)."""
    words: tuple[str, ...]
    """What to highlight in a matching message."""
    indexed: bool
    """Match by the full-text index (words, phrases, stemming), else as a plain substring."""
    literal: str
    """The substring a LIKE walk looks for when the index cannot answer."""

    @classmethod
    def typed(cls, text: str, message_count: int) -> Find:
        """A find typed in a session of `message_count` messages."""
        if message_count > LARGE:
            try:
                words = parse(text).terms
            except QueryError:
                return cls(text, (text,), False, text)
            return cls(text, words, True, text)
        return cls(text, (text,), False, text)

    @classmethod
    def of_search(cls, query: str, terms: tuple[str, ...], fallback: bool) -> Find:
        """The find a search hit opens with: its query, by the index. A query answered by the
        fallback (no message had every word) finds messages with any of its words."""
        words = terms or (query,)
        if fallback and len(words) > 1:
            query = " OR ".join(f'"{w}"' if " " in w else w for w in words)
        return cls(query, words, True, max(words, key=len))

    @property
    def key(self) -> tuple[str, bool]:
        return (self.text, self.indexed)


@dataclass(frozen=True)
class Matches:
    """The seqs of a session's messages that a find matches, in order."""

    seqs: tuple[int, ...]
    capped: bool = False

    def position(self, seq: int | None) -> int | None:
        """The 1-based number of the match at `seq`, or None when `seq` is not a match."""
        if seq is None:
            return None
        at = bisect_left(self.seqs, seq)
        return at + 1 if at < len(self.seqs) and self.seqs[at] == seq else None

    def pick(self, from_seq: int, forward: bool, *, inclusive: bool = False) -> tuple[int, bool]:
        """The next (or previous) match from `from_seq`, and whether the walk wrapped around.

        Raises:
            LookupError: there is no match at all.
        """
        if not self.seqs:
            raise LookupError("no match")
        if forward:
            at = (bisect_left if inclusive else bisect_right)(self.seqs, from_seq)
            return (self.seqs[at], False) if at < len(self.seqs) else (self.seqs[0], True)
        at = (bisect_right if inclusive else bisect_left)(self.seqs, from_seq) - 1
        return (self.seqs[at], False) if at >= 0 else (self.seqs[-1], True)

    def describe(self, seq: int | None) -> str:
        """`match 3 of 17`, or `17 matches` when `seq` is not one of them."""
        total = f"{len(self.seqs):,}" + ("+" if self.capped else "")
        at = self.position(seq)
        if at is not None:
            return f"match {at:,} of {total}"
        return f"{total} match{'es' if total != '1' else ''}"


def matching_seqs(session_id: int, find: Find) -> Matches:
    """Every visible message of the session that `find` matches (call it from a thread worker)."""
    if find.indexed:
        try:
            seqs = engine.session_matches(session_id, find.text, limit=CAP)
            return Matches(tuple(seqs), len(seqs) >= CAP)
        except StoreError:
            pass  # a query the index cannot take, or no index: look for the text as it is
    return _walk(session_id, find.literal)


def _walk(session_id: int, text: str) -> Matches:
    """The LIKE find, match after match, on one connection: one pass over the session."""
    seqs: list[int] = []
    with reading():
        at: int | None = 0
        while at is not None and len(seqs) < CAP:
            at = views.find_in_session(session_id, text, at, forward=True)
            if at is not None:
                seqs.append(at)
    return Matches(tuple(seqs), len(seqs) >= CAP)
