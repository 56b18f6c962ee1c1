"""The store's exceptions: each carries a one-line message and a human title for the UI."""

from __future__ import annotations


class StoreError(Exception):
    """Something the user should be told about in one line (never with a traceback)."""

    title = "Store error"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class StoreUnusable(StoreError):
    """The store file cannot be opened or read (missing folder, not a database, corrupt)."""

    title = "Store unusable"


class NotFound(StoreError):
    """A session or record that was asked for does not exist."""

    title = "Not found"
