"""The synthetic corpus generator: deterministic, real layouts, and ingested cleanly by convo."""

from __future__ import annotations

import random
import re
from pathlib import Path

import orjson
import pytest

from store import db as store_db
from store.demo import corpus as demo
from store.demo.common import CorpusStats
from store.ingest.driver import Ingester
from store.ingest.parsers.common import iso_to_ms

SCALE = 0.02
"""Of the small preset: ~1,000 lines, enough for every line shape and a few sub-agents."""
ROLLOUT = re.compile(
    r"codex/sessions/\d{4}/\d{2}/\d{2}/rollout-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jsonl"
)
CLAUDE_MAIN = re.compile(r"claude/projects/[A-Za-z0-9-]+/[0-9a-f-]{36}\.jsonl")
CLAUDE_AGENT = re.compile(
    r"claude/projects/[A-Za-z0-9-]+/[0-9a-f-]{36}/subagents/agent-a[0-9a-f]{16}\.jsonl"
)


def corpus(root: Path, seed: int = 7) -> CorpusStats:
    return demo.generate(root, preset="small", seed=seed, scale=SCALE)


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.jsonl"))}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first, second = corpus(tmp_path / "a"), corpus(tmp_path / "b")
    assert first == second
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")


def test_another_seed_gives_another_corpus(tmp_path: Path) -> None:
    corpus(tmp_path / "a", seed=7)
    corpus(tmp_path / "b", seed=8)
    assert files_of(tmp_path / "a").keys().isdisjoint(files_of(tmp_path / "b").keys())


def test_stats_describe_the_files(tmp_path: Path) -> None:
    stats = corpus(tmp_path)
    files = files_of(tmp_path)
    assert stats.files == len(files) == stats.sessions
    assert stats.messages == sum(data.count(b"\n") for data in files.values())
    assert stats.bytes == sum(len(data) for data in files.values())
    assert all(data.endswith(b"\n") for data in files.values())
    largest = max(files.items(), key=lambda kv: kv[1].count(b"\n"))
    assert stats.largest_session[1] == largest[1].count(b"\n")
    assert stats.largest_session[0] in largest[0]


def test_files_use_the_agents_real_layouts(tmp_path: Path) -> None:
    stats = corpus(tmp_path)
    names = list(files_of(tmp_path))
    agents = [n for n in names if CLAUDE_AGENT.fullmatch(n)]
    assert len(agents) == sum(1 for n in names if "subagents" in n)
    assert all(
        CLAUDE_MAIN.fullmatch(n) or CLAUDE_AGENT.fullmatch(n) or ROLLOUT.fullmatch(n) for n in names
    ), names
    assert any(ROLLOUT.fullmatch(n) for n in names)
    assert any(CLAUDE_MAIN.fullmatch(n) for n in names)
    assert stats.subagents > 0


def test_sub_agent_lines_carry_the_parents_session_id(tmp_path: Path) -> None:
    corpus(tmp_path)
    agent_file = next(tmp_path.rglob("agent-*.jsonl"))
    parent_id = agent_file.parent.parent.name
    lines = [orjson.loads(line) for line in agent_file.read_bytes().splitlines()]
    assert all(o["sessionId"] == parent_id and o["isSidechain"] is True for o in lines)
    assert {o["agentId"] for o in lines} == {agent_file.stem.removeprefix("agent-")}
    assert lines[0]["parentUuid"] is None


def test_timestamps_increase_within_each_file_and_fall_in_the_window(tmp_path: Path) -> None:
    base = 1_790_000_000_000
    demo.generate(tmp_path, preset="small", scale=SCALE, base_time_ms=base)
    for path in tmp_path.rglob("*.jsonl"):
        stamps = [
            iso_to_ms(orjson.loads(line).get("timestamp"))
            for line in path.read_bytes().splitlines()
        ]
        times = [t for t in stamps if t is not None]
        assert times == sorted(times) and len(set(times)) == len(times), path
        assert base - demo.WINDOW_MS <= times[0] <= base + demo.DAY_MS, path


def test_convo_ingests_every_line_as_a_distinct_message(tmp_path: Path) -> None:
    stats = corpus(tmp_path / "logs")
    store_db.open_store(tmp_path / "x.db")
    report = Ingester().run([tmp_path / "logs"])
    assert report.errors == [] and report.commit_failures == 0
    assert report.lines_bad == {} and report.lines_unknown == {}
    assert report.files_skipped == {}
    assert report.messages_added == stats.messages and report.messages_dup == 0
    with store_db.reading() as conn:
        assert conn.execute("SELECT COUNT(*) FROM message").fetchone()[0] == stats.messages
        sessions, children = conn.execute(
            "SELECT COUNT(*), COUNT(parent_id) FROM session"
        ).fetchone()
        largest = conn.execute(
            "SELECT s.native_id, COUNT(*) FROM message AS m JOIN session AS s "
            "ON s.id = m.session_id GROUP BY s.id ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
    assert (sessions, children) == (stats.sessions, stats.subagents)
    assert tuple(largest) == stats.largest_session


def test_reingest_of_the_same_corpus_adds_nothing(tmp_path: Path) -> None:
    corpus(tmp_path / "logs")
    store_db.open_store(tmp_path / "x.db")
    Ingester().run([tmp_path / "logs"])
    again = Ingester().run([tmp_path / "logs"])
    assert again.messages_added == 0 and again.files_unchanged == again.files_seen


def test_presets_have_the_promised_shape() -> None:
    for name, lines, longest in (("demo", 3_000, 1_500), ("large", 1_000_000, 20_000)):
        plans = demo._plan(random.Random(7), demo.PRESETS[name], 1.0, demo.DEFAULT_BASE_MS)
        assert sum(p.budget for p in plans) == lines
        assert max(p.budget for p in plans) >= longest
        assert {p.agent for p in plans} == {"claude", "codex"}


def test_unknown_preset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        demo.generate(tmp_path, preset="huge")


def test_demo_corpus_is_the_demo_preset(tmp_path: Path) -> None:
    root = demo.demo_corpus(tmp_path / "demo")
    assert root == tmp_path / "demo"
    stats_files = files_of(root)
    assert 2_000 <= sum(d.count(b"\n") for d in stats_files.values()) <= 3_200
