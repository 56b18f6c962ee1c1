"""The demo corpus: a generated, seeded set of agent logs ingested into a store of its own.

`convo demo` (and `make run` on a machine without agent logs) opens the app on it, so a new user
sees a realistic app. The logs and the store live in the user cache folder and are generated
again when missing; the user's own store is never touched.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import platformdirs

from store import db as store_db
from store import views
from store.errors import StoreError
from store.ingest.driver import Ingester

SEED = 7
PRESET = "demo"


def demo_root() -> Path:
    """The cache folder that holds the demo logs and the demo store."""
    return platformdirs.user_cache_path("convo", appauthor=False) / "demo"


def open_demo_store(root: Path | None = None) -> Path:
    """Open the demo store, generating and ingesting the corpus first if it is missing.

    Returns:
        The demo store's path (now the open store).

    Raises:
        StoreError: the corpus generator is not available or the corpus cannot be written.
    """
    root = root or demo_root()
    path = root / "demo.db"
    logs_dir = root / "logs"
    if path.exists():
        store_db.open_store(path)
        if not views.is_empty():
            return path
    _generate(logs_dir)
    store_db.open_store(path)
    roots = [logs_dir / "claude" / "projects", logs_dir / "codex" / "sessions"]
    with store_db.reading():
        Ingester().run([r for r in roots if r.is_dir()] or [logs_dir])
    return path


def _generate(logs_dir: Path) -> None:
    try:
        from store.demo import corpus
    except ImportError as err:  # pragma: no cover - until store.demo.corpus lands
        raise StoreError(
            "the demo corpus generator (store.demo.corpus) is not available", title="No demo"
        ) from err
    if logs_dir.exists():
        shutil.rmtree(logs_dir)
    logs_dir.mkdir(parents=True)
    # Seeded, so every demo holds the same sessions; dated up to today, so it looks lived in.
    today_ms = int(time.time() // 86400 * 86400 * 1000)
    try:
        corpus.generate(logs_dir, preset=PRESET, seed=SEED, base_time_ms=today_ms)
    except OSError as err:
        raise StoreError(f"cannot write the demo corpus in {logs_dir}: {err}") from err
