"""End to end: the real `convo` command in a real terminal (tmux), driven by keys, read off screen.

Opens the app on a seeded store, opens a transcript, opens the failures screen, quits, and checks
the captured screen at each step and that the command exited cleanly without a traceback. Another
run searches (S), opens a hit and sees its matched text; another repairs a damaged store by keys
(R, a, y), then `convo check` finds it healthy.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.tui import stores

ROOT = Path(__file__).resolve().parents[1]
CONVO = Path(sys.executable).with_name("convo")
TIMEOUT_S = 30.0

pytestmark = pytest.mark.e2e


def _tmux(*args: str) -> str:
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10, check=True)
    return done.stdout


class Terminal:
    """One detached tmux session running a command."""

    def __init__(self, name: str) -> None:
        self.name = name

    def keys(self, *keys: str) -> None:
        for key in keys:
            _tmux("send-keys", "-t", self.name, key)

    def screen(self) -> str:
        return _tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, *texts: str) -> str:
        """Poll the screen until all `texts` show (a real terminal has no idle signal to await;
        waiting for every expected text also waits out a half-drawn frame)."""
        deadline = time.monotonic() + TIMEOUT_S
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{texts!r} never showed; the screen was:\n{screen}")

    def wait_for_footer_without(self, text: str) -> str:
        """Poll until the footer (the last line) no longer shows `text`: the keys it names left
        with the focus, so the focus has moved (Textual moves it after the key that asked)."""
        deadline = time.monotonic() + TIMEOUT_S
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            lines = screen.rstrip("\n").splitlines()
            if lines and text not in lines[-1]:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} stayed in the footer; the screen was:\n{screen}")


@contextmanager
def running_convo(tmp_path: Path, db: Path) -> Iterator[Terminal]:
    """`convo browse` on the store `db`, in a detached 120x36 tmux session."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    env = {
        "CONVO_DB": str(db),
        "CONVO_LOG": str(tmp_path / "convo.log"),
        "HOME": str(tmp_path),
        "TZ": "UTC",
        "TERM": "xterm-256color",
    }
    # COLUMNS/LINES from the test process would override the terminal's real size.
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = (
        f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {exports} "
        f"{shlex.quote(str(CONVO))} browse --no-backfill; "
        'echo "convo exited with $?"; sleep 60'
    )
    name = f"convo-e2e-{uuid.uuid4().hex[:8]}"
    _tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", command)
    try:
        yield Terminal(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=10)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    db = stores.add_failures(stores.build_fixture_store(tmp_path / "e2e.db"), tmp_path / "logs")
    with running_convo(tmp_path, db) as term:
        yield term


def test_browse_read_failures_quit(terminal: Terminal) -> None:
    terminal.wait_for("29 sessions · agent: all", "Start a test-coverage team", "? Help")

    terminal.keys("/")
    # Typed before the filter has the focus, the letters would be the list's keys (a, s, ...).
    terminal.wait_for_footer_without("a Agent")
    terminal.keys("Timestamp-Based", "Enter")
    terminal.wait_for("1 session ·", "matching “Timestamp-Based”")
    terminal.keys("Enter")
    terminal.wait_for(
        "Claude Code Log: Timestamp-Based Caching Implementation",
        "53 messages",
        "please fix these",
        "TodoWrite",
        "Resume",
    )

    terminal.keys("f")
    terminal.wait_for("3 failures recorded, newest first", "IntegrityError: boom", "broken.jsonl:2")

    terminal.keys("Escape")
    terminal.wait_for("please fix these", "Prompts")
    terminal.keys("Escape")
    terminal.wait_for("1 session ·", "Sub-agents")
    terminal.keys("q")
    screen = terminal.wait_for("convo exited with")
    assert "convo exited with 0" in screen
    assert "Traceback" not in screen


def test_search_open_a_hit_quit(terminal: Terminal) -> None:
    terminal.wait_for("29 sessions · agent: all", "S Search")
    terminal.keys("S")
    # The query takes the focus: the app's letter keys leave the footer.
    terminal.wait_for('"a phrase"', "prefix*")
    terminal.wait_for_footer_without("f Failures")
    terminal.keys("WithException")
    terminal.wait_for("3 hits", "Claude Code Log: Timestamp-Based", "tool result")
    terminal.keys("Enter")
    terminal.wait_for_footer_without("↓ Results")  # the hits have the focus
    terminal.keys("Enter")
    screen = terminal.wait_for(
        "Claude Code Log: Timestamp-Based Caching Implementation",
        "WithException[Unknown",
        "match 2 of 3",
    )
    assert "▾ ✗ error" in screen  # the folded tool result was opened to show the match
    terminal.keys("n")
    terminal.wait_for("#42 ·", "match 3 of 3")
    terminal.keys("Escape")
    terminal.wait_for("3 hits", "best match first")
    terminal.keys("Escape")
    terminal.wait_for("29 sessions · agent: all")
    terminal.keys("q")
    screen = terminal.wait_for("convo exited with")
    assert "convo exited with 0" in screen
    assert "Traceback" not in screen


def test_repair_a_damaged_store_from_the_keyboard(tmp_path: Path) -> None:
    db = stores.gap_store(stores.damage_store(stores.build_fixture_store(tmp_path / "e2e.db")))
    with running_convo(tmp_path, db) as terminal:
        terminal.wait_for("28 sessions · agent: all", "R Repair")
        terminal.keys("R")
        terminal.wait_for("2 kinds of problem found", "orphan_part", "seq_gap", "dry run")
        terminal.keys("a")
        terminal.wait_for("Repair the store", "Apply all")
        terminal.keys("y")
        terminal.wait_for("The store is healthy", "What the checks looked at")
        terminal.keys("Escape")
        terminal.wait_for("28 sessions · agent: all")
        terminal.keys("q")
        screen = terminal.wait_for("convo exited with")
        assert "convo exited with 0" in screen
        assert "Traceback" not in screen
    check = subprocess.run(
        [str(CONVO), "--db", str(db), "check", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "CONVO_LOG": str(tmp_path / "convo.log"), "PATH": "/usr/bin"},
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert list(tmp_path.glob("e2e.db.bak-*"))  # the backup taken before the repair
