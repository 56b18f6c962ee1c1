"""Read-only diagnostics, the way in: `run` checks the open store, `check_path` a store file, and
both return a `CheckReport` (problems, notes, and the findings behind them). They never raise for
a damaged store. The checks themselves, and how they avoid trusting the index being checked, are
in `store.repair.checker`; what they find is described in `store.repair.findings`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from peewee import DatabaseError, PeeweeException

from store.db import open_store, reading
from store.errors import StoreUnusable
from store.repair import deep as deep_check
from store.repair.checker import Cancelled as Cancelled
from store.repair.checker import Checker
from store.repair.checker import ProgressFn as ProgressFn
from store.repair.findings import Findings, Problem
from store.repair.fingerprints import actual_indexes as actual_indexes
from store.repair.fingerprints import expected_indexes as expected_indexes
from store.repair.problems import summarize


@dataclass(frozen=True)
class CheckReport:
    """The result of `run`: problems (fixable damage), notes, and the facts behind them."""

    findings: Findings
    problems: tuple[Problem, ...] = ()
    notes: tuple[Problem, ...] = ()
    unusable: str | None = None
    """Why the store cannot be opened or read; the other fields are then empty."""
    elapsed_s: float = 0.0
    deep: deep_check.DeepReport | None = None
    """What `--deep` found beyond the default checks (None: it did not run)."""

    @property
    def ok(self) -> bool:
        return self.unusable is None and not self.problems

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 problems found, 2 the store cannot be opened or read."""
        return 2 if self.unusable is not None else (1 if self.problems else 0)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "problems": [p.to_json() for p in self.problems],
            "notes": [n.to_json() for n in self.notes],
        }
        if self.unusable is not None:
            out["error"] = self.unusable
        if self.deep is not None:
            out["deep"] = self.deep.to_json()
        return out


def check_path(path: Path, **kwargs: Any) -> CheckReport:
    """Open the store at `path` (never creating one) and `run` the checks."""
    if not path.is_file():
        what = "is a folder, not a store file" if path.is_dir() else "does not exist"
        return CheckReport(Findings(), unusable=f"{path} {what}")
    try:
        open_store(path)
    except StoreUnusable as err:
        return CheckReport(Findings(), unusable=str(err))
    return run(**kwargs)


def run(
    *,
    roots: Iterable[Path] | None = None,
    logs: bool = True,
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    deep: bool = False,
) -> CheckReport:
    """Check the open store. Never raises for a damaged store: see `CheckReport.unusable`.

    Args:
        roots: folders to look for new log files in (default: the agents' folders).
        logs: compare with the log files on disk (off: the database only).
        progress: called before each step.
        should_stop: polled between steps; True raises `Cancelled`.
        deep: also `integrity_check` and every raw record decompressed (`store.repair.deep`).
    """
    started = time.monotonic()
    found: deep_check.DeepReport | None = None
    steps = _Steps(progress) if progress is not None and deep else None
    try:
        with reading() as conn:
            findings = Checker(
                conn, roots, logs, steps.checker if steps else progress, should_stop, deep=deep
            ).run()
            if deep and not findings.corrupt:
                found = deep_check.run(
                    conn, progress=steps.deep if steps else None, should_stop=should_stop
                )
    except (sqlite3.DatabaseError, DatabaseError, PeeweeException) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        return CheckReport(
            Findings(),
            unusable=f"cannot read the store: {reason}",
            elapsed_s=time.monotonic() - started,
        )
    problems, notes = summarize(findings)
    if found is not None and found.integrity and not problems:
        # Damage only `integrity_check` sees: rebuilt, like a damaged page.
        findings = replace(findings, corrupt=found.integrity)
        problems, notes = summarize(findings)
    elif found is not None and found.integrity:
        notes.append(
            Problem(
                "integrity",
                len(found.integrity),
                (),
                f"integrity_check also reports (first: {found.integrity[0]}); the fixes above "
                "come first, then `convo check --deep` again",
            )
        )
    if found is not None:
        problems += found.problems()
        notes += found.notes()
    return CheckReport(
        findings,
        tuple(problems),
        tuple(notes),
        elapsed_s=time.monotonic() - started,
        deep=found,
    )


DEEP_STEPS = 2
"""The steps `--deep` adds after the checker's: integrity, raw records."""


class _Steps:
    """The caller's progress over the checker's steps and then the deep ones, counted as one."""

    def __init__(self, progress: ProgressFn) -> None:
        self.progress = progress
        self.total = DEEP_STEPS

    def checker(self, name: str, done: int, total: int) -> None:
        self.total = total + DEEP_STEPS
        self.progress(name, done, self.total)

    def deep(self, what: str, done: int, total: int) -> None:
        if what == "integrity":
            self.progress("integrity", self.total - DEEP_STEPS, self.total)
        else:  # `raw records 1,500/9,000`
            self.progress(f"{what} {done:,}/{total:,}", self.total - 1, self.total)
