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


DAMAGE_MARKERS = ("malformed", "not a database", "corrupt")
"""What SQLite's message says when the file's pages themselves are damaged."""

REPAIR_HINT = "`convo repair` rebuilds it from the logs, keeping sessions whose logs are gone"


def damage_of(err: BaseException) -> str | None:
    """One line saying the store file is damaged and what repairs it, when `err` (a database
    error, from sqlite3 or Peewee) means that; else None."""
    if not any(cls.__name__ == "DatabaseError" for cls in type(err).__mro__):
        return None
    text = " ".join(str(err).split())
    if not any(marker in text.lower() for marker in DAMAGE_MARKERS):
        return None
    return f"the store is damaged ({text}): {REPAIR_HINT}"
