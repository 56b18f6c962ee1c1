"""How a failed worker reaches the user: a notification for store and I/O errors, a modal else.

Every failure is logged first, with the worker's name, group and description as context, so
the log file holds what the toast cannot. Text from the store or the file system is shown with
markup off: `[` and `]` in SQL or paths must not be read as markup.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import traceback
from typing import Any

from peewee import PeeweeException
from textual.app import App
from textual.worker import Worker, WorkerState

from store import logs
from store.errors import StoreError

log = logs.get("tui")

EXPECTED = (StoreError, PeeweeException, sqlite3.Error, OSError)
"""Errors the store and the file system raise in normal life (locked, full, corrupt, gone)."""


def report_worker_failure(app: App[Any], worker: Worker[Any]) -> None:
    """Log a worker's error with its context, then show it to the user without a traceback."""
    if worker.state != WorkerState.ERROR or worker.error is None:
        return
    error = worker.error
    context = f"worker {worker.name!r} (group {worker.group!r}): {worker.description}"
    log.error("%s failed: %s", context, error, exc_info=error)
    if isinstance(error, StoreError):
        app.notify(str(error), title=error.title, severity="error", markup=False)
    elif isinstance(error, EXPECTED):
        app.notify(
            f"{type(error).__name__}: {error}",
            title="Database error",
            severity="error",
            markup=False,
            timeout=10,
        )
    else:
        from tui.screens.modals import ErrorModal

        detail = "".join(traceback.format_exception(error))
        app.push_screen(ErrorModal("Unexpected error", context, detail))


class QuietCrashes:
    """App mixin: an unhandled error is logged with its traceback and ends the app with one line.

    Textual prints a rich traceback on exit after an unhandled error; convo leaves it in the log
    file instead (`CONVO_DEBUG=1` shows it). Workers never get here: their errors are reported
    by `report_worker_failure`.
    """

    _exit_renderables: list[Any]

    def _handle_exception(self, error: Exception) -> None:
        log.error("unexpected error in the app", exc_info=error)
        super()._handle_exception(error)  # type: ignore[misc]

    def _print_error_renderables(self) -> None:
        if self._exit_renderables and not os.environ.get("CONVO_DEBUG"):
            self._exit_renderables.clear()
            where = logs.default_log_path()
            print(f"convo: unexpected error in the app (details in {where})", file=sys.stderr)
            return
        super()._print_error_renderables()  # type: ignore[misc]
