"""The search query language: whatever a user types, turned into a safe FTS5 MATCH expression.

Words are ANDed; `"a phrase"`, `prefix*`, `-excluded` and `a OR b` work as on a web search engine;
everything else is literal text. Each term reaches FTS5 only as a string (`"..."` with `"` doubled),
which the `porter unicode61 remove_diacritics 2` tokenizer turns into a phrase of its tokens, so no
user input is ever FTS5 syntax. Pure: no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from store.errors import StoreError
from store.textindex import cjk_spaced, has_cjk

MAX_TERMS = 32
MAX_TERM_CHARS = 256

_STOP_WORDS = """
    a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further get got had hadn't has hasn't have haven't
    having he her here hers herself him himself his how how's i i'd i'll i'm i've if in into is
    isn't it it's its itself let's me more most my myself no nor not of off on once only or other
    ought our ours ourselves out over own same she should shouldn't so some such than that that's
    the their theirs them themselves then there there's these they they're this those through to
    too under until up us very was wasn't we we're we've were weren't what what's when when's
    where where's which while who who's whom why why's will with won't would wouldn't you you'd
    you'll you're you've your yours yourself yourselves
    also anyone anything ever find found just know like many much never now please
    show something tell thing things use used using way ways whatever whenever wherever whether
    whichever whoever
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS.split())

# NUL ends an FTS5 expression early ("unterminated string"); lone surrogates cannot be encoded.
_UNSAFE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# A quoted phrase (optionally -excluded, optionally closed by "* for a prefix) or a bare word.
_LEX = re.compile(r'(-?)"([^"]*)("\*?|\Z)|([^\s"]+)')

_NOTE_QUOTE = 'a lone " was closed at the end of the query'
_NOTE_STAR = "a * on its own was ignored"
_NOTE_OR = "an OR without a term on both sides was ignored"
_NOTE_CUT = f"the query was cut to its first {MAX_TERMS} terms"
_NOTE_LONG = f"a long term was cut to its first {MAX_TERM_CHARS} characters"


@dataclass(frozen=True)
class Query:
    """A parsed query: the MATCH expressions for the main and CJK indexes, what to show the user."""

    match: str  # for the main index; never ''
    cjk_match: str  # for the CJK side index (text cjk_spaced); '' when no term has CJK
    terms: tuple[str, ...]  # the positive terms, edge punctuation and a prefix's * dropped
    notes: tuple[str, ...]  # one line each: what was changed in the query


class QueryError(StoreError, ValueError):
    """A query that cannot mean anything, with a one-line message for the user."""

    title = "Search"


@dataclass(frozen=True)
class _Term:
    text: str
    negative: bool
    prefix: bool
    phrase: bool


def _is_token_char(ch: str) -> bool:
    """Whether unicode61 keeps `ch` in a token (letters, numbers, private use)."""
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or cat == "Co"


def _is_word_char(ch: str) -> bool:
    """A token character or a mark, which belongs to the letter before it."""
    return _is_token_char(ch) or unicodedata.category(ch)[0] == "M"


def _strip(text: str) -> str:
    """`text` without the punctuation at its ends; '' if it holds no token character."""
    i, j = 0, len(text)
    while i < j and not _is_word_char(text[i]):
        i += 1
    while j > i and not _is_word_char(text[j - 1]):
        j -= 1
    core = text[i:j]
    return core if any(_is_token_char(ch) for ch in core) else ""


def _clip(text: str) -> str:
    """`text` cut to MAX_TERM_CHARS, at a space when it has one."""
    head = text[:MAX_TERM_CHARS]
    parts = head.rsplit(None, 1)
    if len(parts) == 2 and not text[MAX_TERM_CHARS].isspace():
        head = parts[0]
    return _strip(head) or head


def _shown(raw: str, phrase: bool) -> str:
    """A dropped term as a note shows it: on one line, short."""
    text = " ".join(raw.split())
    text = text if len(text) <= 12 else text[:11] + "…"
    return f'"{text}"' if phrase else text


def _lex(text: str) -> tuple[list[_Term | None], list[str]]:
    """The terms (None for an OR) of `text`, in order, and the notes about what was changed."""
    items: list[_Term | None] = []
    notes: list[str] = []
    dropped: list[str] = []
    count = 0
    for m in _LEX.finditer(_UNSAFE.sub(" ", text)):
        minus, quoted, close, word = m.groups()
        if word is None:
            raw, negative, prefix, phrase = quoted, minus == "-", close == '"*', True
            if not close:
                notes.append(_NOTE_QUOTE)
        elif word == "OR":
            items.append(None)
            continue
        else:
            raw, prefix, phrase = word.rstrip("*"), word.endswith("*"), False
            if not raw:
                notes.append(_NOTE_STAR)
                continue
            negative = len(raw) > 1 and raw[0] == "-" and _is_token_char(raw[1])
            raw = raw[1:] if negative else raw
        core = _strip(raw)
        if not core:
            dropped.append(_shown(raw, phrase))
            continue
        if count == MAX_TERMS:
            notes.append(_NOTE_CUT)
            break
        count += 1
        if len(core) > MAX_TERM_CHARS:
            core = _clip(core)
            notes.append(_NOTE_LONG)
        items.append(_Term(core, negative, prefix, phrase))
    if dropped:
        more = ", …" if len(dropped) > 3 else ""
        notes.append("ignored (no letters or digits): " + ", ".join(dropped[:3]) + more)
    return items, notes


def _group(items: Sequence[_Term | None], notes: list[str]) -> list[list[_Term]]:
    """The positive terms as AND-ed groups of OR-ed alternatives (`a OR b c` -> [[a, b], [c]])."""
    groups: list[list[_Term]] = []
    joinable = pending = False
    for item in items:
        if item is None:
            if joinable and not pending:
                pending = True
            else:
                notes.append(_NOTE_OR)
            continue
        if item.negative:
            if pending:
                notes.append(_NOTE_OR)
            joinable = pending = False
            continue
        if pending:
            groups[-1].append(item)
        else:
            groups.append([item])
        joinable, pending = True, False
    if pending:
        notes.append(_NOTE_OR)
    return groups


def _string(text: str, prefix: bool) -> str:
    """`text` as an FTS5 string (a phrase of its tokens), with `*` for a prefix query."""
    quoted = '"' + text.replace('"', '""') + '"'
    return quoted + " *" if prefix else quoted


def _main(term: _Term) -> str:
    """`term` for the main index."""
    return _string(term.text, term.prefix)


def _cjk(term: _Term) -> str:
    """`term` for the CJK side index, one token per CJK character."""
    return _string(cjk_spaced(term.text), term.prefix)


def _expr(groups: list[list[_Term]], negatives: list[_Term], render: Callable[[_Term], str]) -> str:
    """The MATCH expression, fully parenthesized (FTS5 binds NOT tighter than AND, AND than OR)."""
    parts = []
    for group in groups:
        alts = [render(term) for term in group]
        parts.append(alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")")
    positives = " AND ".join(parts)
    if not negatives:
        return positives
    if len(groups) > 1 or len(groups[0]) == 1:
        positives = f"({positives})"
    return positives + " NOT (" + " OR ".join(render(term) for term in negatives) + ")"


def _build(groups: list[list[_Term]], negatives: list[_Term], notes: list[str]) -> Query:
    """The Query for these groups and exclusions."""
    every = [term for group in groups for term in group] + negatives
    cjk = any(has_cjk(term.text) for term in every)
    return Query(
        match=_expr(groups, negatives, _main),
        cjk_match=_expr(groups, negatives, _cjk) if cjk else "",
        terms=tuple(dict.fromkeys(term.text for group in groups for term in group)),
        notes=tuple(dict.fromkeys(notes)),
    )


def parse(text: str) -> Query:
    """The Query for what the user typed; QueryError if it searches for nothing."""
    items, notes = _lex(text)
    groups = _group(items, notes)
    if not groups:
        if any(item is not None for item in items):
            raise QueryError("a query needs at least one word that is not excluded (-word)")
        raise QueryError('nothing to search for: type a word, a "phrase" or a prefix*')
    negatives = [item for item in items if item is not None and item.negative]
    return _build(groups, negatives, notes)


def _significant(term: _Term) -> bool:
    """Whether a positive term is worth searching for on its own (not a bare stop word)."""
    if term.phrase or term.prefix:
        return True
    return term.text.casefold().replace("\u2019", "'") not in STOP_WORDS


def fallback(text: str) -> Query | None:
    """The significant words ORed, for when the AND of every word found nothing; None if useless."""
    items, notes = _lex(text)
    terms = [item for item in items if item is not None]
    negatives = [term for term in terms if term.negative]
    seen: dict[str, _Term] = {}
    for term in terms:
        if not term.negative and _significant(term):
            seen.setdefault(term.text.casefold(), term)
    if not seen:
        return None
    query = _build([list(seen.values())], negatives, notes)
    if query.match == _expr(_group(items, []), negatives, _main):
        return None
    return query
