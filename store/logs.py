"""The log file: a rotating file in the user log folder; every failure is written there.

Nothing here prints to the terminal: a failure reaches the user as one line, a notification or a
failures-screen row, and its details live in this file.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

import platformdirs

LOGGER_NAME = "convo"
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
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(target, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    except OSError:
        logger.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    _handler = handler
    return target


def get(name: str) -> logging.Logger:
    """A child of the `convo` logger (`convo.<name>`)."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
