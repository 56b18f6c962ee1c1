"""The full-text index damaged the ways derived indexes break in the wild: entries lost, its table
dropped, its storage corrupted. `check` finds each, `repair` rebuilds the index (a resumable job),
and afterwards search finds what the messages hold again; no message is touched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from store import db as store_db
from store.search import engine
from tests.store.repair.repair_support import Corpus, build, cli, kinds, raw, transcripts
from tests.store.repair.test_repair_damage import check_repair_check


def lose_entries(corpus: Corpus) -> None:
    """Entries removed (FTS5's own delete, as a buggy writer or a lost update would)."""
    with raw(corpus.db) as conn:
        rows = conn.execute("SELECT id, text FROM message WHERE id % 3 = 0").fetchall()
        for message_id, text in rows:
            conn.execute(
                "INSERT INTO message_fts (message_fts, rowid, text) VALUES ('delete', ?, ?)",
                (message_id, text),
            )


def drop_table(corpus: Corpus) -> None:
    with raw(corpus.db) as conn:
        conn.execute("DROP TABLE message_fts")


def corrupt_storage(corpus: Corpus) -> None:
    """Index pages gone from its shadow table: the row counts agree, FTS5's check does not."""
    with raw(corpus.db) as conn:
        conn.execute("DELETE FROM message_fts_data WHERE id > 10 AND id % 2 = 0")


@pytest.mark.parametrize(
    ("damage", "kind"),
    [
        (lose_entries, "search_drift"),
        (drop_table, "search_missing"),
    ],
)
def test_a_damaged_search_index_is_found_and_rebuilt(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Corpus], None],
    kind: str,
) -> None:
    corpus = build(tmp_path)
    store_db.open_store(corpus.db)
    every = {h.message_id for h in engine.search("the", limit=500).hits}
    assert len(every) > 50
    before = transcripts(corpus.db)
    damage(corpus)
    check_repair_check(corpus, tmp_path, capsys, {kind})
    assert transcripts(corpus.db) == before
    store_db.open_store(corpus.db)
    assert {h.message_id for h in engine.search("the", limit=500).hits} == every


def test_damaged_index_storage_is_found_by_the_deep_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FTS5's own integrity check reads the whole index (several times `quick_check`), so it
    belongs to `--deep`: the default check does not see storage damage that keeps the row counts
    right; `check --deep` does, and `repair --deep` rebuilds the index."""
    corpus = build(tmp_path)
    store_db.open_store(corpus.db)
    every = {h.message_id for h in engine.search("the", limit=500).hits}
    before = transcripts(corpus.db)
    corrupt_storage(corpus)
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert "search_drift" not in kinds(report), report
    code, report = cli(capsys, corpus.db, "check", "--deep", "--json")
    assert code == 1 and "search_drift" in kinds(report), report
    code, out = cli(capsys, corpus.db, "repair", "--deep", "--yes")
    assert code == 0, out
    code, after = cli(capsys, corpus.db, "check", "--deep", "--json")
    assert (code, after["problems"]) == (0, []), after
    assert transcripts(corpus.db) == before
    store_db.open_store(corpus.db)
    assert {h.message_id for h in engine.search("the", limit=500).hits} == every
