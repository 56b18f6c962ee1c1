"""The `convo` command line, run as a real subprocess on a real store file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CLAUDE, CODEX

ROOT = Path(__file__).resolve().parent.parent


def convo(
    *args: str, db: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    if db is not None:
        full_env["CONVO_DB"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "cli.db"
    out = convo("ingest", str(CLAUDE), str(CODEX), db=db)
    assert out.returncode == 0, out.stderr
    assert "messages:" in out.stdout and "Traceback" not in out.stderr
    return db


def test_ingest_twice_changes_nothing(ingested: Path) -> None:
    out = convo("ingest", str(CLAUDE), str(CODEX), "--json", db=ingested)
    report = json.loads(out.stdout)
    assert report["messages_added"] == 0 and report["files_read"] == 0
    assert report["files_unchanged"] == report["files_seen"] > 30


def test_sessions_json_lists_every_session(ingested: Path) -> None:
    rows = json.loads(convo("sessions", "--json", db=ingested).stdout)
    assert len(rows) > 25 and all(r["parent_id"] is None for r in rows)
    updated = [r["updated_at"] for r in rows]
    assert updated == sorted(updated, reverse=True)
    assert len(json.loads(convo("sessions", "--json", "--limit", "3", db=ingested).stdout)) == 3
    agents = {r["agent"] for r in rows}
    assert agents == {"claude", "codex"}
    with_children = json.loads(convo("sessions", "--json", "--all", db=ingested).stdout)
    assert len(with_children) > len(rows)


def test_show_json_pages_by_keyset(ingested: Path) -> None:
    whole = json.loads(convo("show", "29ccd257", "--json", "--all", db=ingested).stdout)
    assert set(whole) == {"session", "messages", "next_after"} and whole["next_after"] is None
    seqs = [m["seq"] for m in whole["messages"]]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    for key in ("id", "seq", "role", "kind", "timestamp", "text"):
        assert key in whole["messages"][0]
    first = json.loads(
        convo("show", "29ccd257", "--json", "--all", "--limit", "2", db=ingested).stdout
    )
    assert [m["seq"] for m in first["messages"]] == seqs[:2]
    assert first["next_after"] == seqs[1]
    rest = json.loads(
        convo(
            "show", "29ccd257", "--json", "--all", "--after", str(first["next_after"]), db=ingested
        ).stdout
    )
    assert [m["seq"] for m in rest["messages"]] == seqs[2:]


def test_show_text_is_readable(ingested: Path) -> None:
    out = convo("show", "29ccd257", db=ingested)
    assert out.returncode == 0 and "Explore task" in out.stdout and "agent" in out.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("show", "no-such-session"), "no session"),
        (("show", "29ccd257", "--limit", "0"), "--limit must be at least 1"),
        (("ingest", "/no/such/folder"), "no such file or folder"),
    ],
)
def test_errors_are_one_line(ingested: Path, args: tuple[str, ...], needle: str) -> None:
    out = convo(*args, db=ingested)
    assert out.returncode != 0
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_unusable_store_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for db in (garbage, blocker / "sub" / "x.db"):
        out = convo("sessions", db=db)
        assert out.returncode == 2, out.stderr
        assert out.stderr.startswith("convo: error:") and len(out.stderr.splitlines()) == 1


def test_failures_lists_rejected_lines(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    good = (CLAUDE / "daaain__claude-code-log/test/test_data/session_b.jsonl").read_bytes()
    log.write_bytes(good + b"{oops\n")
    db = tmp_path / "f.db"
    assert convo("ingest", str(log), db=db).returncode == 0
    rows = json.loads(convo("failures", "--json", db=db).stdout)
    assert rows[0]["kind"] == "line" and rows[0]["line"] == 4
    assert rows[0]["source_path"] == str(log)
