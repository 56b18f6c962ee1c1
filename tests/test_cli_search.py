"""`convo search`: run in-process (`main([...])`) and through the real `convo` executable, on real
store files ingested from the fixtures and from crafted logs (hostile titles, recent times)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from store import db as store_db
from store import textindex
from store.search import engine
from tests.tui.stores import build_fixture_store, ingest
from tui.cli.main import main
from tui.formatting import UNSAFE

CONVO = Path(sys.executable).parent / "convo"
HOSTILE_TITLE = "\x1b]0;pwned\x07\x1b[31mRED\x1b[0m [red]markup[/red] \x9b2J\u202eevil title"
HOSTILE_PROJECT = "/tmp/evil\x1b]2;owned\x07proj"
RECENT, OLD = "ab000000-0000-4000-8000-000000000001", "cd000000-0000-4000-8000-000000000002"
REQUIRED_HIT_KEYS = {
    "session_id",
    "agent",
    "native_id",
    "seq",
    "message_id",
    "role",
    "kind",
    "timestamp",
    "snippet",
}
TOP_KEYS = {"query", "indexed", "ranking", "fallback", "terms", "notes", "hits", "next"}


def _stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _claude_session(native: str, when_ms: int, title: str | None, cwd: str) -> str:
    """A small Claude Code transcript: a prompt and a reply holding `zebraquux`."""
    base = {"sessionId": native, "cwd": cwd, "version": "2.0.0", "isSidechain": False}
    lines: list[dict[str, Any]] = [
        {
            **base,
            "type": "user",
            "uuid": f"{native[:8]}-u1",
            "timestamp": _stamp(when_ms),
            "message": {
                "role": "user",
                "content": "launch the zebraquux \x1b[2J rocket \x1b]0;x\x07 please",
            },
        },
        {
            **base,
            "type": "assistant",
            "uuid": f"{native[:8]}-a1",
            "timestamp": _stamp(when_ms + 1000),
            "message": {
                "id": f"msg_{native[:8]}",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "The zebraquux rocket is launched."}],
            },
        },
    ]
    if title is not None:
        lines.append({"type": "custom-title", "customTitle": title, "sessionId": native})
    return "".join(json.dumps(line) + "\n" for line in lines)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixtures' Claude Code and Codex logs, plus two crafted sessions: one a day old with a
    title and project full of escape sequences, one 30 days old."""
    folder = tmp_path_factory.mktemp("search")
    logs = folder / "crafted" / "-tmp-evil"
    logs.mkdir(parents=True)
    now = int(time.time() * 1000)
    (logs / f"{RECENT}.jsonl").write_text(
        _claude_session(RECENT, now - 86_400_000, HOSTILE_TITLE, HOSTILE_PROJECT)
    )
    (logs / f"{OLD}.jsonl").write_text(
        _claude_session(OLD, now - 30 * 86_400_000, None, "/tmp/old")
    )
    db = build_fixture_store(folder / "search.db")
    ingest(db, [folder / "crafted"])
    store_db.close()
    return db


def run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["search", "--db", str(db), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def search_json(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> dict[str, Any]:
    code, out, err = run(capsys, db, "--json", *args)
    doc: dict[str, Any] = json.loads(out)
    assert code == (0 if doc["hits"] else 1), err
    return doc


def assert_terminal_safe(text: str) -> None:
    """No escape sequence and no control character but the line ends."""
    assert not UNSAFE.search(text.replace("\n", "")), repr(text)


# ---------------------------------------------------------------------------------------------
# Exit codes and output


def test_hits_print_one_line_each_and_exit_0(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, store, "decorator", "--limit", "5")
    assert code == 0, err
    lines = out.splitlines()
    assert 1 <= len(lines) <= 5
    doc = search_json(capsys, store, "decorator", "--limit", "5")
    for line, hit in zip(lines, doc["hits"], strict=True):
        assert line.startswith(f"{hit['session_id']} #{hit['seq']} ")
        assert "«" in line and "»" in line  # the match, marked when piped
        assert hit["agent"] in line
    assert_terminal_safe(out)


def test_no_hits_exit_1(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, store, "qqxyzzynothing")
    assert (code, out) == (1, "")
    assert err.strip().splitlines()[-1] == "no messages match"
    doc = search_json(capsys, store, "qqxyzzynothing")
    assert doc["hits"] == [] and doc["next"] is None


def test_json_shape(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = search_json(capsys, store, "decorator", "--limit", "3")
    assert set(doc) >= TOP_KEYS
    assert doc["query"] == "decorator" and doc["indexed"] == 1.0 and doc["ranking"] == "bm25"
    assert len(doc["hits"]) == 3 and isinstance(doc["next"], str)
    for hit in doc["hits"]:
        assert set(hit) >= REQUIRED_HIT_KEYS
        start, end = hit["spans"][0]
        assert hit["snippet"][start:end].lower().startswith("decorator")


def test_several_words_are_one_query(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apart = search_json(capsys, store, "python", "decorators")
    together = search_json(capsys, store, "python decorators")
    assert apart == together and apart["query"] == "python decorators" and apart["hits"]


def test_a_sentence_falls_back_and_says_so(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, store, "how", "did", "we", "write", "the", "goodbye", "function?")
    assert code == 0
    assert err.splitlines()[0].startswith("no message has every word; showing messages with any")


def test_titles_and_projects_reach_the_terminal_clean(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, store, "zebraquux")
    assert code == 0, err
    assert_terminal_safe(out + err)
    assert "pwned" not in out and "RED [red]markup[/red]" in out
    code, out, _err = run(capsys, store, "zebraquux", "--json")
    assert code == 0
    assert_terminal_safe(out)  # JSON keeps the log's text, every control character escaped
    doc = json.loads(out)
    assert HOSTILE_TITLE in {h["title"] for h in doc["hits"]}
    assert HOSTILE_PROJECT in {h["project"] for h in doc["hits"]}


def _on_a_terminal(store: Path, term: str) -> str:
    """What `convo search zebraquux` writes to a pseudo-terminal with this TERM."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": term, "COLUMNS": "160"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [str(CONVO), "search", "zebraquux", "--db", str(store)],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode()


def test_a_terminal_gets_colour_and_still_no_escapes_from_the_log(store: Path) -> None:
    out = _on_a_terminal(store, "xterm-256color")
    assert "\x1b[" in out and "«" not in out  # styled by Rich, matches highlighted
    assert "\x1b]" not in out and "pwned" not in out and "\x9b" not in out
    assert "[red]markup[/red]" in out  # log text is never read as markup
    assert len(out.strip().splitlines()) == 4  # one line each (2 sessions x 2), no wrapping


def test_a_terminal_without_styles_gets_the_marks(store: Path) -> None:
    out = _on_a_terminal(store, "dumb")
    assert "\x1b" not in out and out.count("«zebraquux»") == 4


# ---------------------------------------------------------------------------------------------
# Filters


def test_filters_narrow_the_hits(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    every = search_json(capsys, store, "file", "--limit", "200")["hits"]
    assert {h["agent"] for h in every} == {"claude", "codex"}
    codex = search_json(capsys, store, "file", "--agent", "codex", "--limit", "200")["hits"]
    assert codex and {h["agent"] for h in codex} == {"codex"}
    users = search_json(capsys, store, "file", "--role", "user", "--limit", "200")["hits"]
    assert users and {h["role"] for h in users} == {"user"}
    calls = search_json(capsys, store, "file", "--kind", "tool call", "--limit", "200")["hits"]
    assert calls and {h["kind"] for h in calls} == {"tool_call"}
    results = search_json(capsys, store, "file", "--kind", "tool-result", "--limit", "200")
    assert results["hits"] and {h["kind"] for h in results["hits"]} == {"tool_result"}
    project = every[0]["project"]
    same = search_json(capsys, store, "file", "--project", project, "--limit", "200")["hits"]
    assert same and {h["project"] for h in same} == {project}


def test_session_filter_takes_what_show_takes(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for ref in (RECENT, RECENT[:13]):
        hits = search_json(capsys, store, "zebraquux", "--session", ref)["hits"]
        assert {h["native_id"] for h in hits} == {RECENT} and len(hits) == 2
    numeric = str(hits[0]["session_id"])
    assert search_json(capsys, store, "zebraquux", "--session", numeric)["hits"] == hits


def test_since_and_until(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recent = search_json(capsys, store, "zebraquux", "--since", "7d")["hits"]
    assert {h["native_id"] for h in recent} == {RECENT}
    old = search_json(capsys, store, "zebraquux", "--until", "7d")["hits"]
    assert {h["native_id"] for h in old} == {OLD}
    day = datetime.fromtimestamp(old[0]["timestamp"] / 1000, tz=UTC).date().isoformat()
    assert search_json(capsys, store, "zebraquux", "--since", day, "--until", "7d")["hits"] == old


def test_all_includes_sub_agent_threads(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, _err = run(capsys, store, "Warmup")
    assert code == 1  # only sub-agent threads say it
    threads = search_json(capsys, store, "Warmup", "--all")["hits"]
    assert len(threads) >= 2 and all("#agent-" in h["native_id"] for h in threads)


# ---------------------------------------------------------------------------------------------
# Paging


def _pages(capsys: pytest.CaptureFixture[str], db: Path, query: str, size: int) -> list[int]:
    ids: list[int] = []
    cursor: list[str] = []
    for _ in range(500):
        doc = search_json(capsys, db, query, "--limit", str(size), *cursor)
        ids += [h["message_id"] for h in doc["hits"]]
        if doc["next"] is None:
            return ids
        cursor = ["--cursor", doc["next"]]
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("ranking", ["bm25", "recent"])
def test_cursor_pages_reach_every_hit_once(
    store: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ranking: str,
) -> None:
    if ranking == "recent":  # order by recency, as a word in most messages is
        monkeypatch.setattr(engine, "COMMON", 10)
    whole = search_json(capsys, store, "file", "--limit", "10000")
    assert whole["ranking"] == ranking
    every = [h["message_id"] for h in whole["hits"]]
    assert len(every) > 30
    paged = _pages(capsys, store, "file", 7)
    assert paged == every and len(set(paged)) == len(paged)


def test_cursor_pages_a_fallback_answer(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = search_json(capsys, store, "login test", "--limit", "10000")
    assert whole["fallback"] and len(whole["hits"]) > 10
    paged = _pages(capsys, store, "login test", 4)
    assert paged == [h["message_id"] for h in whole["hits"]]


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    "query",
    [
        '"abc',
        "NEAR(",
        "NEAR(a b",
        "col:x",
        "text:decorator",
        "*",
        "-",
        "OR",
        "-decorator",
        '"',
        "a" * 10_000,
        "decorator " * 1_000,
        "🚀 deploy",
        "数据库",
        "ユニットテスト",
        "\x00\x1b[31m",
        "\udcff",
    ],
)
def test_hostile_queries_answer_or_say_one_line(
    store: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    code, out, err = run(capsys, store, "--", query)
    assert code in (0, 1, 2)
    assert "Traceback" not in err and "sqlite" not in err.lower() and "fts5" not in err.lower()
    assert_terminal_safe(out + err)
    if code == 2:
        assert out == "" and len(err.splitlines()) == 1 and err.startswith("convo: error:")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--kind", "bogus"), "unknown kind 'bogus'"),
        (("--role", "robot"), "unknown role 'robot'"),
        (("--since", "last tuesday"), "cannot read the time"),
        (("--until", "soon"), "cannot read the time"),
        (("--session", "no-such-session"), "no session"),
        (("--limit", "0"), "--limit must be at least 1"),
        (("--cursor", "garbage!"), "page cursor"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    store: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str
) -> None:
    code, out, err = run(capsys, store, "decorator", *args)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and needle in err, err


def test_an_unexpected_error_exits_2_not_1(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(engine, "search", boom)
    code, out, err = run(capsys, store, "decorator")
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("convo: unexpected error: RuntimeError: boom second line")
    with pytest.raises(RuntimeError):  # --debug shows the traceback
        main(["search", "--db", str(store), "--debug", "decorator"])


def test_other_commands_keep_exit_1_for_a_crash(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from store import pages

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pages, "sessions", boom)
    assert main(["sessions", "--db", str(store)]) == 1
    assert "unexpected error: RuntimeError: boom" in capsys.readouterr().err


def test_without_an_index_search_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVO_FTS", "off")
    db = build_fixture_store(tmp_path / "off.db")
    code, out, err = run(capsys, db, "decorator")
    assert (code, out) == (2, "")
    unavailable = "full-text search is unavailable: it is switched off (CONVO_FTS=off)"
    assert err == f"convo: error: {unavailable}\n"


def test_an_index_being_built_says_how_much_it_covers(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "building.db"
    shutil.copyfile(store, db)
    store_db.open_store(db)
    with store_db.reading() as conn:
        conn.execute("BEGIN IMMEDIATE")
        textindex.recreate(conn)
        _lo, top = textindex.backlog(conn)
        half = top // 2
        rows = conn.execute("SELECT id, text FROM message WHERE id <= ?", (half,)).fetchall()
        textindex.index_rows(conn, rows)
        textindex.set_backlog(conn, half, top)
        conn.execute("COMMIT")
    store_db.close()
    doc = search_json(capsys, db, "file")
    assert 0.3 < doc["indexed"] < 0.7 and doc["hits"]
    assert all(h["message_id"] <= half for h in doc["hits"])
    code, _out, err = run(capsys, db, "file")
    assert code == 0
    said = [line for line in err.splitlines() if line.startswith("search covers ")]
    assert len(said) == 1 and said[0].endswith(
        "% of messages; the app or `convo repair` finishes the index"
    )
    share = int(said[0].split()[2].rstrip("%"))
    assert abs(share - doc["indexed"] * 100) <= 1


# ---------------------------------------------------------------------------------------------
# The real executable


def test_the_convo_executable(store: Path, tmp_path: Path) -> None:
    def convo(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CONVO), "search", "--db", str(store), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )

    found = convo("zebraquux", "rocket")
    assert found.returncode == 0 and len(found.stdout.splitlines()) == 4
    assert_terminal_safe(found.stdout + found.stderr)
    assert "«zebraquux»" in found.stdout
    none = convo("qqxyzzynothing")
    assert (none.returncode, none.stdout) == (1, "")
    off = convo("zebraquux", CONVO_FTS="off")
    assert off.returncode == 2 and len(off.stderr.splitlines()) == 1
    assert "full-text search is unavailable" in off.stderr and "Traceback" not in off.stderr
    more = convo("file", "--limit", "2")
    assert more.returncode == 0
    assert more.stderr.splitlines()[-1].startswith("more hits: run the same search with --cursor")
