"""The log file: a rotating file in the user log folder; every failure is written there.

Nothing here prints to the terminal: a failure reaches the user as one line, a notification or a
failures-screen row, and its details live in this file. It quotes the user's conversations, so it
is private like the store: the file (and each rotated one) is mode 0600, and a log folder convo
creates is 0700 (an existing folder is left as it is, never widened).
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

import platformdirs

LOGGER_NAME = "convo"
MODE = 0o600
_handler: RotatingFileHandler | None = None


def default_log_path() -> Path:
    """`$CONVO_LOG` if set, else `convo.log` in the platform's user log folder."""
    env = os.environ.get("CONVO_LOG")
    if env:
        return Path(env).expanduser()
    return platformdirs.user_log_path("convo", appauthor=False) / "convo.log"


def setup(path: Path | None = None, level: int = logging.INFO) -> Path | None:
    """Send the `convo` logger to a rotating file (5 x 2 MB). Idempotent; returns the path.

    If the log folder cannot be created, logging goes nowhere rather than to the terminal.
    """
    global _handler
    target = path or default_log_path()
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    logger.propagate = False
    if _handler is not None:
        if Path(_handler.baseFilename) == target.resolve():
            return target
        logger.removeHandler(_handler)
        _handler.close()
        _handler = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = _PrivateFileHandler(target, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    except OSError:
        logger.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    _handler = handler
    return target


class _PrivateFileHandler(RotatingFileHandler):
    """A rotating log file created 0600 (also after each rotation), and made 0600 if an earlier
    convo left it readable by others."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, MODE)
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, MODE)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def get(name: str) -> logging.Logger:
    """A child of the `convo` logger (`convo.<name>`)."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
