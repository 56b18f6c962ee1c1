"""The page-level check, run on its own connection beside the others.

`PRAGMA quick_check` and the parts' foreign key check depend on nothing else the checks do, and
SQLite lets go of the GIL while it works, so on two cores they cost no wall time: the whole check
stays within 3x of `quick_check` alone.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass

from store.db import reading


@dataclass(frozen=True)
class PageFindings:
    corrupt: tuple[str, ...] = ()
    orphan_parts: tuple[int, ...] = ()


class PageCheck(threading.Thread):
    """`PRAGMA quick_check`, then the parts' foreign key check, on this thread's connection."""

    def __init__(self) -> None:
        super().__init__(name="convo-check-pages", daemon=True)
        self._found = PageFindings()
        self._error: BaseException | None = None
        self._conn: sqlite3.Connection | None = None

    @staticmethod
    def nothing() -> None:
        """The page step's own work runs on this thread, started before the other steps."""

    def interrupt(self) -> None:
        """Stop the running statement (a cancelled check should not wait for it)."""
        conn = self._conn
        if conn is not None:
            try:
                conn.interrupt()
            except sqlite3.Error:  # it finished and closed meanwhile: nothing to stop
                return

    def run(self) -> None:
        try:
            with reading() as conn:
                self._conn = conn
                rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(100)")]
                if rows != ["ok"]:
                    lines = (ln for r in rows for ln in r.splitlines())
                    self._found = PageFindings(tuple(ln for ln in lines if ln[:3] != "***"))
                    return
                parts = conn.execute("PRAGMA foreign_key_check(part)").fetchall()
                self._found = PageFindings((), tuple(sorted(int(r[1]) for r in parts)))
        except BaseException as err:  # handed to the caller's thread by `result`
            self._error = err
        finally:
            self._conn = None

    def result(self) -> PageFindings:
        self.join()
        if self._error is not None:
            raise self._error
        return self._found
