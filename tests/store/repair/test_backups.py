"""Backups: a new name for each (two in the same second, even the same microsecond, keep two),
0600, listed by `convo jobs` with those an earlier convo left (counted, made 0600), pruned to the
newest `--keep-backups N` only after a healthy check, and refused in one line, before anything is
written, when they cannot fit. The log file is private too."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from store import db as store_db
from store import logs
from store.repair import backups
from tests.store.repair.repair_support import Corpus, build, cli, raw, snapshot

ROOT = Path(__file__).resolve().parents[3]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def miscount(corpus: Corpus) -> None:
    """Damage a repair fixes: a session's stored message count off by five."""
    with raw(corpus.db) as conn:
        conn.execute("UPDATE session SET message_count = message_count + 5 WHERE id = 1")


def kept(db: Path) -> list[Path]:
    return [b.path for b in backups.listing(db)]


def legacy(db: Path, when: str, perm: int = 0o644) -> Path:
    """A backup as convo 0.1 named it (to the second) and left it (0644)."""
    path = db.with_name(f"{db.name}.bak-{when}")
    shutil.copyfile(db, path)
    path.chmod(perm)
    return path


class FrozenClock(datetime):
    """Every backup name asked for in the same microsecond."""

    @classmethod
    def now(cls, tz: object = None) -> FrozenClock:  # type: ignore[override]
        return cls(2026, 3, 1, 12, 0, 0, 123456)


def test_backups_in_the_same_microsecond_keep_their_own_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two repairs and a rebuild at one instant: three backups, each the store as it was before
    that step (the first still holds the original damage), each 0600."""
    monkeypatch.setattr(backups, "datetime", FrozenClock)
    corpus = build(tmp_path)
    states = []
    for _ in range(2):
        miscount(corpus)
        states.append(snapshot(corpus.db))
        code, out = cli(capsys, corpus.db, "repair", "--yes", "--keep-backups", "5")
        assert code == 0, out
    states.append(snapshot(corpus.db))
    code, out = cli(capsys, corpus.db, "rebuild-index", "--keep-backups", "5")
    assert code == 0, out
    stem = "s.db.bak-20260301-120000-123456"
    names = sorted(p.name for p in kept(corpus.db))
    assert names == [stem, f"{stem}-2", f"{stem}-3"], names
    for name, state in zip([stem, f"{stem}-2", f"{stem}-3"], states, strict=True):
        path = tmp_path / name
        assert mode(path) == 0o600, name
        assert snapshot(path) == state, f"{name} does not hold the store as it was"
    assert mode(corpus.db) == 0o600


def test_jobs_lists_backups_with_those_an_earlier_convo_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    old = legacy(corpus.db, "20250101-120000")
    miscount(corpus)
    assert cli(capsys, corpus.db, "repair", "--yes")[0] == 0
    (new,) = [p for p in kept(corpus.db) if p != old]
    code, out = cli(capsys, corpus.db, "jobs")
    assert code == 0
    assert "2 backups of the store" in out and "1 made by an earlier convo" in out, out
    assert out.index(str(new)) < out.index(str(old))  # newest first
    assert mode(old) == 0o600, "a backup an earlier convo left is still readable by others"
    code, listed = cli(capsys, corpus.db, "jobs", "--backups", "--json")
    assert code == 0
    assert [(b["path"], b["legacy"]) for b in listed] == [(str(new), False), (str(old), True)]
    assert listed[1]["size"] == old.stat().st_size
    assert listed[1]["taken_at"] == int(datetime(2025, 1, 1, 12).timestamp() * 1000)
    code, jobs_only = cli(capsys, corpus.db, "jobs", "--json")  # unchanged: a list of jobs
    assert [j["name"] for j in jobs_only] == ["recount"]


def test_keep_backups_prunes_only_after_a_healthy_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    olds = [legacy(corpus.db, f"2025010{d}-120000") for d in range(1, 5)]
    other = corpus.db.with_name("s.db.bak-notes.txt")  # not a backup: never touched
    other.write_text("mine")
    # A job an earlier run left failed, that fails again when retried: the store stays unhealthy.
    with raw(corpus.db) as conn:
        spec = {"name": "role_unique", "table": "message", "columns": ["role"], "unique": True}
        conn.execute(
            "INSERT INTO job (name, status, params, rows_done, rows_total, cursor, max_id, rate, "
            "error, updated_at, finished_at) VALUES ('create_index', 'failed', ?, 0, 1, 0, 0, 0, "
            "'IntegrityError: UNIQUE constraint failed', 1, 1)",
            (json.dumps({"spec": spec, "started": True}),),
        )
    miscount(corpus)
    code, out = cli(capsys, corpus.db, "repair", "--yes", "--keep-backups", "1")
    assert code == 1 and "older backups kept (5)" in out, out
    assert len(kept(corpus.db)) == 5 and all(p.exists() for p in olds)
    with raw(corpus.db) as conn:
        conn.execute("UPDATE job SET status = 'cancelled', finished_at = 1 WHERE status = 'failed'")
    miscount(corpus)
    code, out = cli(capsys, corpus.db, "repair", "--yes", "--keep-backups", "2")
    assert code == 0 and "removed 4 older backups (kept the newest 2)" in out, out
    newest = kept(corpus.db)
    assert len(newest) == 2 and not any(p.exists() for p in olds)
    assert other.read_text() == "mine"
    code, out = cli(capsys, corpus.db, "rebuild-index", "--keep-backups", "0")
    assert code == 0 and "check after rebuild: ok" in out, out
    assert kept(corpus.db) == [] and not list(tmp_path.glob("s.db.bak-2*"))
    assert cli(capsys, corpus.db, "repair", "--keep-backups", "-1")[0] == 2


def test_no_room_for_a_backup_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    """A backup bigger than the file size limit (RLIMIT_FSIZE) cannot be written, as on a full
    disk: the repair says so in one line before it writes anything."""
    resource = pytest.importorskip("resource", reason="no RLIMIT_FSIZE on this platform")
    corpus = build(tmp_path)
    miscount(corpus)
    before = snapshot(corpus.db)
    store_db.close()
    need = backups.needed(corpus.db)
    _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"the file size limit ({hard}) is already below the store ({need})")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (need - 1, hard))

    proc = subprocess.run(
        [sys.executable, "-m", "tui", "--db", str(corpus.db), "repair", "--yes"],
        cwd=ROOT,
        env={**os.environ, "HOME": str(corpus.home)},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("convo: error: not enough room for a backup")
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert kept(corpus.db) == []
    assert snapshot(corpus.db) == before


def test_log_file_is_private(tmp_path: Path) -> None:
    """The log file quotes conversations: 0600 when created, after a rotation, and when an
    earlier convo left it 0644; a log folder convo creates is 0700."""
    target = tmp_path / "newlogs" / "convo.log"
    assert logs.setup(target) == target
    logs.get("test").warning("hello")
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    handler = logs._handler
    assert handler is not None
    handler.doRollover()
    assert mode(target) == 0o600 and mode(Path(f"{target}.1")) == 0o600
    handler.close()
    logs._handler = None
    old = tmp_path / "oldlogs" / "convo.log"
    old.parent.mkdir(mode=0o755)
    old.write_text("earlier\n")
    old.chmod(0o644)
    logs.setup(old)
    assert mode(old) == 0o600 and mode(old.parent) == 0o755  # the folder is left as it was
    assert old.read_text().startswith("earlier")
