"""The questions target as a test (it is not a timing): questions written from the fixtures' user
prompts find the prompt's message in the top 5 for at least 90% of them."""

from __future__ import annotations

import random
from pathlib import Path

from store import db as store_db
from tests.bench import questions


def test_questions_find_their_prompt(tmp_path: Path) -> None:
    questions.build_store(tmp_path / "questions.db")
    with store_db.reading() as conn:
        asked = questions.questions(conn)
    assert len(asked) >= questions.MIN_QUESTIONS
    assert all(q.text.endswith(("?", "!", ".")) for q in asked)
    found, ranked = questions.evaluate(asked)
    missed = [f"{q.text} <- {q.prompt}" for q, rank in ranked if rank is None]
    assert found / len(asked) >= questions.TARGET, missed


def test_key_words_are_seeded_and_skip_stop_words() -> None:
    prompt = "Can you help me implement a new feature with proper task management?"
    first = questions.key_words(prompt, random.Random(7))
    assert first == questions.key_words(prompt, random.Random(7))
    assert len(first) == 3 and set(first) <= {
        "help",
        "implement",
        "feature",
        "proper",
        "task",
        "management",
    }
    assert questions.key_words("hi there", random.Random(7)) == []
