"""Pure parts of the app: the message window, the block renderer, and text formatting."""

from __future__ import annotations

from rich.style import Style
from textual.strip import Strip

from store.records import MessageRow, PartRow
from store.repair.job_types import JobStatus
from tui import formatting
from tui.widgets.message_render import (
    TEXT_LIMIT,
    RenderOptions,
    block_key,
    highlight,
    match_line,
    render_block,
)
from tui.widgets.window import MessageWindow

NOW = 1_786_795_200.0


def _row(seq: int, kind: str = "text", text: str = "hello", **extra: object) -> MessageRow:
    values: dict[str, object] = {
        "id": seq,
        "session_id": 1,
        "seq": seq,
        "role": "assistant",
        "kind": kind,
        "timestamp": 1_786_000_000_000,
        "model": "m",
        "text": text,
        "group_id": None,
        "hidden": False,
        "tokens_in": None,
        "tokens_out": None,
        "line_type": "x",
    }
    values.update(extra)
    return MessageRow(**values)  # type: ignore[arg-type]


def _page(seqs: range, lines: int = 2) -> tuple[list[MessageRow], list[list[Strip]], list[object]]:
    rows = [_row(s) for s in seqs]
    return rows, [[Strip.blank(10)] * lines for _ in rows], [None for _ in rows]


def test_window_extends_both_ways_and_indexes_lines() -> None:
    window = MessageWindow(max_rows=10)
    window.replace(*_page(range(10, 15)), has_before=True, has_after=True)  # type: ignore[arg-type]
    window.extend(*_page(range(15, 18)), after=True, has_more=False)  # type: ignore[arg-type]
    window.extend(*_page(range(7, 11)), after=False, has_more=False)  # type: ignore[arg-type]
    assert [r.seq for r in window.rows] == list(range(7, 18))  # seq 10 was not added twice
    assert not window.has_before and not window.has_after
    assert window.total == 22 and window.span(3) == (6, 8)
    assert window.locate(7) == (3, 1) and window.locate(999) == (10, 1)
    assert window.index_of_seq(12) == 5 and window.index_of_seq(99) is None
    assert window.contains_seq(17) and not window.contains_seq(18)


def test_window_trim_keeps_what_the_reader_sees() -> None:
    window = MessageWindow(max_rows=4)
    window.replace(*_page(range(1, 9)), has_before=False, has_after=False)  # type: ignore[arg-type]
    assert window.trim(keep_end=True, keep=(4, 16)) == 2  # rows 1-2 end by line 4
    assert [r.seq for r in window.rows] == list(range(3, 9)) and window.has_before
    assert window.trim(keep_end=False, keep=(0, 6)) == 2
    assert [r.seq for r in window.rows] == [3, 4, 5, 6] and window.has_after


def _text(block: list[Strip]) -> list[str]:
    return [s.text.rstrip() for s in block]


def test_collapsed_and_expanded_blocks() -> None:
    call = _row(
        1,
        "tool_call",
        "Read: {}",
        parts=(PartRow("tool_call", '{"file_path": "/a.py"}', "Read", "t", False),),
    )
    folded = RenderOptions(60)
    assert len(render_block(call, folded)) == 1
    line = _text(render_block(call, folded))[0]
    assert line.startswith("▸ Read") and "(22 B)" in line
    shown = RenderOptions(60, show_tools=True)
    assert _text(render_block(call, shown))[1:3] == ["  {", '    "file_path": "/a.py"']
    flipped = RenderOptions(60, show_tools=True, flipped=frozenset({1}))
    assert len(render_block(call, flipped)) == 1
    assert block_key(call, folded) != block_key(call, shown) == block_key(call, shown)
    thinking = _row(2, "thinking", "hmm " * 50)
    assert len(render_block(thinking, shown)) == 1
    assert len(render_block(thinking, RenderOptions(60, show_thinking=True))) > 2


def test_prompt_header_and_long_text_cut() -> None:
    prompt = _row(3, "prompt", "x" * (TEXT_LIMIT + 5000), role="user")
    block = _text(render_block(prompt, RenderOptions(80)))
    assert block[0].startswith("you") and block[0].endswith(
        formatting.clock_time(1_786_000_000_000)
    )
    assert "5,000 more characters" in "".join(block)
    assert len(block) < TEXT_LIMIT // 60 + 10


def test_error_result_and_markdown() -> None:
    failed = _row(
        4,
        "tool_result",
        "boom",
        role="tool",
        parts=(PartRow("tool_result", "boom", None, "t", True),),
    )
    assert _text(render_block(failed, RenderOptions(60)))[0].startswith("▸ ✗ error")
    prose = _row(5, "text", "# Title\n\n- one\n- two")
    lines = _text(render_block(prose, RenderOptions(60)))
    assert lines[0].startswith("agent · m") and "Title" in lines[1] and "• one" in " ".join(lines)


def test_find_highlight() -> None:
    block = render_block(_row(6, "text", "alpha\nbeta gamma"), RenderOptions(40))
    assert match_line(block, "GAMMA") == 2 and match_line(block, "zzz") == 0
    marked = highlight(block[2], "gamma", Style(bgcolor="red"))
    assert marked.text == block[2].text
    assert any(seg.style and seg.style.bgcolor for seg in marked if seg.text == "gamma")


def test_formatting() -> None:
    ago = formatting.relative
    assert ago(None, NOW) == "-"
    assert ago(int(NOW * 1000) - 30_000, NOW) == "just now"
    assert ago(int(NOW * 1000) - 5 * 60_000, NOW) == "5m ago"
    assert ago(int(NOW * 1000) - 3 * 86_400_000, NOW) == "3d ago"
    assert ago(int(NOW * 1000) - 400 * 86_400_000, NOW) == "1y ago"
    assert ago(int(NOW * 1000) + 60_000, NOW) == "in future"
    assert formatting.size(812) == "812 B" and formatting.size(4300) == "4.2 KB"
    assert formatting.one_line("a\n  b\tc", 3) == "a …"
    assert formatting.home_short("/home/u/x", home="/home/u") == "~/x"
    assert formatting.home_short(None) == "-"


def _job(done: int, total: int, rate: int | None, ran_ms: int) -> JobStatus:
    start = 1_786_795_200_000
    return JobStatus(
        3, "renumber", "running", done, total, 0, rate, None, 1, start, start + ran_ms, None
    )


def test_job_progress_shows_rate_and_eta_once_the_job_has_run_a_second() -> None:
    early = formatting.job_progress(_job(1_000, 10_000, 90_000, 12))
    assert early == "renumber #3: 1,000/10,000 rows · measuring the rate…"
    later = formatting.job_progress(_job(4_000, 10_000, 2_000, 2_000))
    assert later == "renumber #3: 4,000/10,000 rows · 2,000 rows/s · ETA 3 s"
    stopping = formatting.job_progress(_job(4_000, 10_000, 2_000, 2_000), stopping=True)
    assert stopping.endswith(" · stopping after this batch…")


def test_duration() -> None:
    assert [formatting.duration(s) for s in (0, 42.9, 185, 7_800)] == [
        "0 s",
        "42 s",
        "3 min 5 s",
        "2 h 10 min",
    ]
