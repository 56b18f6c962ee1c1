"""The one commit funnel: every write runs here, and a failed commit becomes an event, not a crash.

`write(work, context)` runs `work()` inside a `BEGIN IMMEDIATE` transaction with the try around
the whole transaction, so a failure at COMMIT itself (a deferred foreign key, a unique violation,
`database is locked` after retries, disk full, an I/O error) is caught too. The failure is written
to the log file with its context, recorded in the `failure` table when the database can still take
it, announced to subscribers (the app shows a notification), and returned as an `Outcome`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from peewee import PeeweeException

from store import logs
from store.lease import LeaseHeld
from store.models import Failure, db
from store.records import FailureRow

T = TypeVar("T")
log = logs.get("funnel")

LOCK_RETRIES = 4
"""Attempts after the first when the database stays locked past the busy timeout."""
FIRST_BACKOFF_S = 0.05
LEASE_POLL_S = 0.25
"""How often a writer held off by a repair's lease (`store.lease`) tries again."""
LEASE_WAIT_S = 3600.0
"""How long it waits for the repair before the write fails, with the lease's reason."""
_give_up = threading.Event()
"""Set while the program is shutting down: a write waiting for a lease fails at once."""


def give_up_waiting(give_up: bool = True) -> None:
    """Make writes waiting for a repair's lease fail now (the app is quitting), or wait again."""
    if give_up:
        _give_up.set()
    else:
        _give_up.clear()


@dataclass(frozen=True, slots=True)
class Context:
    """What was being written: enough to find the event in its log file again."""

    event_type: str
    event_id: str | None = None
    session_key: str | None = None
    source_path: str | None = None
    line: int | None = None

    def describe(self) -> str:
        where = f"{self.source_path}:{self.line}" if self.source_path else "-"
        return (
            f"event={self.event_type} id={self.event_id or '-'} "
            f"session={self.session_key or '-'} at={where}"
        )


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """The result of one funnel write."""

    ok: bool
    value: T | None = None
    error: str | None = None
    """One line: the database's error."""
    error_kind: str | None = None
    """integrity | locked | full | io | other"""
    failure_id: int | None = None


Listener = Callable[[FailureRow], None]
_listeners: list[Listener] = []
_lock = threading.Lock()
counts: Counter[str] = Counter()
"""Process-wide tallies: `ok`, `failed`, `retried`, and one per error kind."""


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener(row)` on the writing thread after each failure; returns an unsubscribe."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def classify(err: BaseException) -> str:
    """Sort a database error into the kinds the funnel treats differently."""
    text = str(err).lower()
    if "locked" in text or "busy" in text:
        return "locked"
    if "full" in text:
        return "full"
    if "constraint" in text or isinstance(err, sqlite3.IntegrityError):
        return "integrity"
    if "disk i/o" in text or "readonly" in text or "malformed" in text or isinstance(err, OSError):
        return "io"
    return "other"


def write(work: Callable[[], T], context: Context, *, retries: int = LOCK_RETRIES) -> Outcome[T]:
    """Run `work()` in one IMMEDIATE transaction; never raises.

    Args:
        work: does the writes on this thread's connection; its return value is passed back.
        context: what is being written, for the log and the failures table.
        retries: extra attempts, with backoff, while the database is locked.
    """
    delay = FIRST_BACKOFF_S
    attempt = 0
    waited = 0.0
    while True:
        try:
            with db.atomic("IMMEDIATE"):
                value = work()
        except LeaseHeld as held:  # a repair rebuilds a unique index: wait for it, say why
            if waited == 0.0:
                log.warning("waiting: %s (%s)", held.reason, context.describe())
                _tell_waiting(held.reason)
            if waited >= LEASE_WAIT_S or _give_up.is_set():
                return _fail(held, "locked", context)
            _give_up.wait(LEASE_POLL_S)
            waited += LEASE_POLL_S
            continue
        except Exception as err:
            kind = classify(err)
            if kind == "locked" and attempt < retries:
                counts["retried"] += 1
                attempt += 1
                time.sleep(delay)
                delay *= 3
                continue
            return _fail(err, kind, context)
        counts["ok"] += 1
        return Outcome(True, value)


WaitListener = Callable[[str], None]
_waiting: list[WaitListener] = []


def on_wait(listener: WaitListener) -> Callable[[], None]:
    """Call `listener(reason)` when a write starts waiting for a repair's lease; returns an
    unsubscribe (the CLI prints the reason, the app shows it)."""
    with _lock:
        _waiting.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _waiting:
                _waiting.remove(listener)

    return unsubscribe


def _tell_waiting(reason: str) -> None:
    for listener in list(_waiting):
        try:
            listener(reason)
        except Exception:  # a broken listener must not break the writer
            log.exception("wait listener raised")


def _fail(err: Exception, kind: str, context: Context) -> Outcome[T]:
    message = f"{type(err).__name__}: {err}".splitlines()[0]
    expected = isinstance(err, PeeweeException | sqlite3.Error | OSError)
    log.error(
        "commit failed (%s): %s: %s", kind, context.describe(), message, exc_info=not expected
    )
    counts["failed"] += 1
    counts[kind] += 1
    failure_id = record_failure("commit", message, context)
    row = FailureRow(
        id=failure_id or 0,
        at=now_ms(),
        kind="commit",
        event_id=context.event_id,
        event_type=context.event_type,
        session_key=context.session_key,
        source_path=context.source_path,
        line=context.line,
        error=message,
        detail=kind,
    )
    for listener in list(_listeners):
        try:
            listener(row)
        except Exception:  # a broken listener must not break the writer
            log.exception("failure listener raised")
    return Outcome(False, error=message, error_kind=kind, failure_id=failure_id)


def record_failure(
    kind: str, error: str, context: Context, detail: str | None = None
) -> int | None:
    """Insert a `failure` row in its own transaction, if the database can still take it."""
    try:
        with db.atomic("IMMEDIATE"):
            return int(Failure.insert(**failure_values(kind, error, context, detail)).execute())
    except Exception as err:
        log.error("could not record the failure in the store: %s", err)
        return None


def failure_values(
    kind: str, error: str, context: Context, detail: str | None = None
) -> dict[str, object]:
    """Column values of a `failure` row (for callers that insert inside their own transaction)."""
    return {
        "at": now_ms(),
        "kind": kind,
        "event_id": context.event_id,
        "event_type": context.event_type,
        "session_key": context.session_key,
        "source_path": context.source_path,
        "line": context.line,
        "error": error,
        "detail": detail,
    }


def now_ms() -> int:
    return int(time.time() * 1000)
