"""store.views (find, jumps, windows, filter lists) and store.export.markdown, on a real store
file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from store import db as store_db
from store import pages, views
from store.export import markdown
from store.records import MessageRow, PartRow, SessionRow
from tests.tui import stores


@pytest.fixture
def long_db(tmp_path: Path) -> Path:
    """A 600-message synthetic session (turns of prompt, thinking, text, tool call/result)."""
    path = stores.build_long_store(tmp_path / "convo.db", tmp_path / "logs", count=600)
    store_db.open_store(path)
    return path


def _session() -> SessionRow:
    return pages.session(stores.LONG_SESSION)


def test_find_walks_forward_and_back_in_seq_order(long_db: Path) -> None:
    sid = _session().id
    first = views.find_in_session(sid, "module_1.py and", 0)  # prompts 1 and 98
    assert first is not None
    second = views.find_in_session(sid, "MODULE_1.PY AND", first)  # ASCII case-insensitive
    assert second is not None and second > first
    assert views.find_in_session(sid, "module_1.py and", second) is None
    assert views.find_in_session(sid, "module_1.py and", second, forward=False) == first
    assert views.find_in_session(sid, "no such words", 0) is None
    assert views.find_in_session(sid, "", 0) is None


def test_find_escapes_like_wildcards(long_db: Path) -> None:
    sid = _session().id
    assert views.find_in_session(sid, "%", 0) is None
    hit = views.find_in_session(sid, "module_1", 0)
    assert hit is not None
    assert views.find_in_session(sid, "module%1", 0) is None


def test_next_of_kind_finds_prompts(long_db: Path) -> None:
    sid = _session().id
    seqs = [m.seq for m in pages.messages_after(sid, 0, 1000) if m.kind == "prompt"]
    assert views.next_of_kind(sid, "prompt", 0) == seqs[0]
    assert views.next_of_kind(sid, "prompt", seqs[0]) == seqs[1]
    assert views.next_of_kind(sid, "prompt", seqs[1], forward=False) == seqs[0]
    assert views.next_of_kind(sid, "prompt", seqs[-1]) is None


def test_messages_around_is_contiguous_store_order(long_db: Path) -> None:
    sid = _session().id
    rows = views.messages_around(sid, 300, before=5, after=7)
    assert [r.seq for r in rows] == list(range(295, 307))
    assert [r.seq for r in views.messages_around(sid, 2, before=5, after=3)] == [1, 2, 3, 4]


def test_agents_projects_and_emptiness(long_db: Path, tmp_path: Path) -> None:
    assert views.agents() == ["claude"]
    assert views.projects() == [("/home/dev/src/longhaul", 2)]
    assert views.projects("codex") == []
    assert not views.is_empty()
    store_db.open_store(tmp_path / "empty.db")
    assert views.is_empty()


def test_export_streams_every_message_in_order(long_db: Path, tmp_path: Path) -> None:
    session = _session()
    target = markdown.export_session(session, tmp_path / "out", batch=50)
    assert target.name == f"claude-{stores.LONG_SESSION}.md"
    text = target.read_text()
    assert text.startswith("# Long haul: a 600-message session\n")
    prompts = [line for line in text.splitlines() if line.startswith("Prompt ")]
    assert prompts == [
        f"Prompt {n}: look at module_{n % 97}.py and make it faster." for n in range(100)
    ]
    assert "**Tool call: Read**" in text and "<summary>Thinking</summary>" in text
    assert not list((tmp_path / "out").glob("*.partial"))


def _message(kind: str, text: str, **extra: object) -> MessageRow:
    values: dict[str, object] = {
        "id": 1,
        "session_id": 1,
        "seq": 1,
        "role": "assistant",
        "kind": kind,
        "timestamp": 1_786_000_000_000,
        "model": "m",
        "text": text,
        "group_id": None,
        "hidden": False,
        "tokens_in": None,
        "tokens_out": None,
        "line_type": "x",
    }
    values.update(extra)
    return MessageRow(**values)  # type: ignore[arg-type]


def test_markdown_of_each_kind() -> None:
    prompt = _message("prompt", "hi", role="user")
    assert markdown.render_message(prompt).startswith("\n## You · 2026-08-06 07:06:40 UTC\n\nhi\n")
    answer = _message("text", "**done**")
    assert "## Agent · m ·" in markdown.render_message(answer, prompt)
    assert "## Agent" not in markdown.render_message(answer, answer)
    call = _message(
        "tool_call", "Read: {}", parts=(PartRow("tool_call", '{"a": 1}', "Read", "t1", False),)
    )
    assert '**Tool call: Read**\n\n```json\n{"a": 1}\n```' in markdown.render_message(call)
    fenced = markdown.render_message(_message("tool_result", "a ``` b", role="tool"))
    assert "````\na ``` b\n````" in fenced


def test_write_to_a_stream(long_db: Path) -> None:
    out = io.StringIO()
    markdown.write(_session(), out, batch=100)
    assert out.getvalue().count("## You") == 100


def test_filename_is_safe() -> None:
    row = SessionRow(
        id=9,
        agent="claude",
        native_id="a/b#agent-1",
        parent_id=None,
        project=None,
        title=None,
        git_branch=None,
        model=None,
        started_at=None,
        updated_at=None,
        message_count=0,
        child_count=0,
        source_path=None,
        gone_since=None,
    )
    assert markdown.filename(row) == "claude-a_b_agent-1.md"
