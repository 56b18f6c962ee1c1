"""A repair SIGKILLed between any two of its steps (here: the plan for a UNIQUE index that lies)
is resumed by the next `convo repair --yes` and ends where an uninterrupted repair ends."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.store.repair.repair_support import biggest_sessions, build, cli, raw
from tests.store.repair.test_lying_index import integrity, make_lie

CHILD = """
import os, signal, sys
from store.repair import jobs

real, done = jobs.run, []

def run(*args, **kwargs):
    status = real(*args, **kwargs)
    done.append(status)
    if len(done) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)  # between this step and the next
    return status

jobs.run = run
from tui.cli.main import main
sys.exit(main(["--db", sys.argv[1], "repair", "--yes", "--pause", "0"]))
"""


def end_state(db: Path) -> list[Any]:
    """Every message's id, session, seq and stable id, and the indexes: what a repair leaves."""
    with raw(db) as conn:
        return [
            conn.execute(
                "SELECT id, session_id, seq, stable_id FROM message NOT INDEXED ORDER BY id"
            ).fetchall(),
            conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "ORDER BY name"
            ).fetchall(),
        ]


def damaged(tmp_path: Path) -> Path:
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    make_lie(
        corpus.db,
        "message_session_id_seq",
        "UPDATE message SET seq = seq - 1 WHERE session_id = ? AND seq IN (4, 8, 12)",
        (sid,),
    )
    return corpus.db


@pytest.mark.parametrize("kill_after", [1, 2, 3, 4])  # drop, renumber, create, recount | verify
def test_a_repair_killed_between_steps_resumes_to_the_same_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kill_after: int
) -> None:
    db = damaged(tmp_path / "a")
    other = tmp_path / "b.db"
    shutil.copyfile(db, other)
    code, dry = cli(capsys, db, "repair", "--dry-run", "--json")
    assert code == 0 and len(dry["plan"]["steps"]) > kill_after, dry
    code, out = cli(capsys, other, "repair", "--yes", "--pause", "0")
    assert code == 0, out
    expected = end_state(other)

    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(kill_after)],
        cwd=Path(__file__).parents[3],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    code, report = cli(capsys, db, "check", "--json")
    assert code == 1, report  # something is left, and the interrupted job is listed
    code, out = cli(capsys, db, "repair", "--yes", "--pause", "0")
    assert code == 0, out
    code, report = cli(capsys, db, "check", "--json")
    assert (code, report["problems"]) == (0, []), report
    assert integrity(db) == ["ok"]
    assert end_state(db) == expected
