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
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static
from textual.worker import Worker, WorkerState

from store import logs
from store.errors import StoreError, damage_of

log = logs.get("tui")

EXPECTED = (StoreError, PeeweeException, sqlite3.Error, OSError)
"""Errors the store and the file system raise in normal life (locked, full, corrupt, gone)."""


class ErrorModal(ModalScreen[None]):
    """An unexpected error: what failed and its details, scrollable and copyable."""

    CSS_PATH = "screens/modals.tcss"  # the dialog styles all modals share
    BINDINGS = [
        Binding("escape,enter", "dismiss", "Close", tooltip="Close this dialog"),
        Binding("c", "copy", "Copy", tooltip="Copy the error details to the clipboard"),
    ]

    def __init__(self, title: str, header: str, detail: str) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.header, self.detail = title, header, detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box -error"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.header, classes="dialog-header", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.detail, markup=False)
            yield Label("c copy · esc close", classes="dialog-hint")

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(f"{self.header}\n\n{self.detail}")
        self.notify("Copied the error details")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


def report_worker_failure(app: App[Any], worker: Worker[Any]) -> None:
    """Log a worker's error with its context, then show it to the user without a traceback."""
    if worker.state != WorkerState.ERROR or worker.error is None:
        return
    error = worker.error
    context = f"worker {worker.name!r} (group {worker.group!r}): {worker.description}"
    log.error("%s failed: %s", context, error, exc_info=error)
    damage = damage_of(error)
    if damage is not None:  # the file's pages: say which command repairs it
        app.notify(damage, title="Store damaged", severity="error", markup=False, timeout=30)
    elif isinstance(error, StoreError):
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
