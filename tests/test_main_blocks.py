"""A module run with `python -m` stops at its `if __name__ == "__main__"` block: anything defined
after it (a bench metric registered by a decorator, say) silently never exists in that run. So
the block must be each module's last statement."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _is_main_block(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def test_main_blocks_come_last() -> None:
    files = [p for d in ("store", "tui", "tests") for p in (ROOT / d).rglob("*.py")]
    with_main = []
    for path in files:
        body = ast.parse(path.read_text(encoding="utf-8")).body
        blocks = [i for i, node in enumerate(body) if _is_main_block(node)]
        if blocks:
            with_main.append(path.relative_to(ROOT).as_posix())
            assert blocks == [len(body) - 1], f"{path}: statements follow its __main__ block"
    assert "tests/bench/run.py" in with_main
