"""Questions people type, built from the fixtures' user prompts: does search find what they mean?

For every distinct user prompt of a top-level session in tests/fixtures (every agent), a seeded
choice of its key words (letters, at least 4 of them, no stop word) is put inside a natural
question with stop words and punctuation ("how did we pomodoro the timer again?"). A question is
answered when the prompt's message (or a message with the same text) is in the first `TOP` hits
of `store.search.engine.search` with no filter. Target: at least `TARGET` of them.

Used by tests/bench/test_questions.py (a normal test: it is not a timing) and by `make bench`.

    .venv/bin/python -m tests.bench.questions   # prints each question and where its prompt ranked
"""

from __future__ import annotations

import random
import re
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from store.search.query import STOP_WORDS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROOTS = tuple(FIXTURES / name for name in ("claude-code", "codex", "gemini", "opencode"))
SEED = 7
TOP = 5
TARGET = 0.9
MIN_QUESTIONS = 20

TEMPLATES = (
    "how did we {all} again?",
    "what did I ask about {a} and {rest}?",
    "where was the thing about {list}?",
    "tell me about {all}, please.",
    "show me something on {all}!",
    "when did we do the {all} stuff?",
    "is there anything about '{a}' and {rest} here?",
    "can you find {all} for me?",
)
"""Each word outside the braces is a stop word or plain filler, so the question's meaning is
its key words; `{all}` is every key word, `{a}` the first, `{rest}` the others, `{list}` every
key word separated by commas."""

_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_FILLER = {"stuff"}


@dataclass(frozen=True)
class Question:
    text: str
    prompt: str
    """The prompt it was written from (its first line, for reports)."""
    message_ids: frozenset[int]
    """Every shown message whose text is the prompt's (a prompt typed twice counts once)."""


def build_store(path: Path) -> Path:
    """Ingest every fixture folder into a new store at `path` (left open)."""
    from store import db as store_db
    from store.ingest.driver import Ingester

    store_db.open_store(path)
    with store_db.reading():
        Ingester().run([root for root in ROOTS if root.exists()])
    return path


def key_words(prompt: str, rnd: random.Random, most: int = 3) -> list[str]:
    """Up to `most` key words of `prompt`, in its order: a seeded pick among its first 40 words
    that have at least 4 letters and are not stop words; [] when it has fewer than 2."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(prompt):
        word = match.group().strip("'’-").lower()
        if len(word) >= 4 and word not in STOP_WORDS and word not in _FILLER:
            seen.setdefault(word, None)
        if len(seen) >= 40:
            break
    words = list(seen)
    if len(words) < 2:
        return []
    if len(words) <= most:
        return words
    picked = set(rnd.sample(range(len(words)), most))
    return [w for i, w in enumerate(words) if i in picked]


def ask(words: list[str], rnd: random.Random) -> str:
    """A natural question holding `words`."""
    template = rnd.choice(TEMPLATES)
    return template.format(
        all=" ".join(words),
        a=words[0],
        rest=" ".join(words[1:]),
        list=", ".join(words),
    )


def questions(conn: sqlite3.Connection, seed: int = SEED) -> list[Question]:
    """One question per distinct user prompt of a top-level session (that has key words)."""
    rows = conn.execute(
        "SELECT m.id, m.text FROM message AS m JOIN session AS s ON s.id = m.session_id "
        "WHERE m.role = 'user' AND m.kind = 'prompt' AND m.hidden = 0 AND m.stale = 0 "
        "AND s.parent_id IS NULL ORDER BY m.text, m.id"
    ).fetchall()
    by_text: dict[str, set[int]] = {}
    for message_id, text in rows:
        by_text.setdefault(str(text), set()).add(int(message_id))
    rnd = random.Random(seed)
    out = []
    for text, ids in by_text.items():
        words = key_words(text, rnd)
        if words:
            first = text.strip().splitlines()[0][:80]
            out.append(Question(ask(words, rnd), first, frozenset(ids)))
    return out


def rank(question: Question, top: int = TOP) -> int | None:
    """Where the prompt's message ranks (1-based) in the first `top` hits; None if not there."""
    from store.search import engine

    hits = engine.search(question.text, limit=top).hits
    for i, hit in enumerate(hits, 1):
        if hit.message_id in question.message_ids:
            return i
    return None


def evaluate(qs: list[Question], top: int = TOP) -> tuple[int, list[tuple[Question, int | None]]]:
    """(how many were found in the first `top`, each question with its rank) on the open store."""
    ranked = [(q, rank(q, top)) for q in qs]
    return sum(1 for _q, r in ranked if r is not None), ranked


def main() -> int:
    import tempfile

    from store import db as store_db

    with tempfile.TemporaryDirectory() as tmp:
        build_store(Path(tmp) / "questions.db")
        with store_db.reading() as conn:
            qs = questions(conn)
        found, ranked = evaluate(qs)
        store_db.close()
    for q, r in ranked:
        print(f"{r if r else '-':>2}  {q.text}    <- {q.prompt}")
    share = found / len(qs)
    print(f"\n{found}/{len(qs)} found in the top {TOP} ({share:.0%}; target {TARGET:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
