"""store/ never imports the UI: each store module imports, in a fresh interpreter, no textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import store

ROOT = Path(__file__).resolve().parent.parent


def test_store_imports_no_textual_or_rich() -> None:
    modules = sorted(m.name for m in pkgutil.walk_packages(store.__path__, "store."))
    assert "store.ingest.driver" in modules and "store.ingest.parsers.claude" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
