"""Pure parts of the app: the message window, the block renderer, and text formatting."""

from __future__ import annotations

from dataclasses import replace

from rich.style import Style
from textual.strip import Strip

from store.records import MessageRow, PartRow
from store.repair.job_types import JobStatus
from store.search.engine import Hit
from tui import formatting
from tui.screens.transcript_find import Find, Matches
from tui.widgets.hit_list import hit_text
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
    assert match_line(block, ("GAMMA",)) == 2 and match_line(block, ("zzz",)) == 0
    assert match_line(block, ("zzz", "beta")) == 2, "any of the find's words"
    marked = highlight(block[2], ("gamma", "BETA"), Style(bgcolor="red"))
    assert marked.text == block[2].text
    lit = {seg.text for seg in marked if seg.style and seg.style.bgcolor}
    assert lit == {"beta", "gamma"}


def test_an_open_block_starts_near_the_find() -> None:
    text = "\n".join(f"line {i}" for i in range(1, 101))
    row = _row(7, "tool_result", text)
    opened = RenderOptions(60, show_tools=True)
    plain = [s.text for s in render_block(row, opened)]
    assert any("line 1 " in t + " " for t in plain) and not any("line 60" in t for t in plain)
    found = [s.text for s in render_block(row, replace(opened, find=("line 60",)))]
    assert any("lines above" in t for t in found) and any("line 60" in t for t in found)
    assert block_key(row, opened) != block_key(row, replace(opened, find=("line 60",)))


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


def test_matches_pick_wraps_and_describes() -> None:
    m = Matches((7, 35, 42))
    assert m.pick(7, True) == (35, False) and m.pick(7, True, inclusive=True) == (7, False)
    assert m.pick(42, True) == (7, True) and m.pick(7, False) == (42, True)
    assert m.pick(36, False) == (35, False) and m.pick(0, True) == (7, False)
    assert m.describe(35) == "match 2 of 3" and m.describe(36) == "3 matches"
    assert Matches((5,)).describe(None) == "1 match"
    assert Matches((1, 2), capped=True).describe(2) == "match 2 of 2+"
    try:
        Matches(()).pick(1, True)
    except LookupError:
        pass
    else:
        raise AssertionError("no match must raise")


def test_a_find_uses_the_index_in_large_sessions_and_for_search_hits() -> None:
    assert not Find.typed("foo bar", 2_000).indexed
    big = Find.typed("foo bar", 2_001)
    assert big.indexed and big.words == ("foo", "bar")
    assert not Find.typed("--", 50_000).indexed, "no word for the index: a substring find"
    hit = Find.of_search('flaky "login test"', ("flaky", "login test"), fallback=False)
    assert hit.indexed and hit.text == 'flaky "login test"' and hit.literal == "login test"
    loose = Find.of_search("how did we fix flaky login", ("fix", "flaky", "login"), True)
    assert loose.text == "fix OR flaky OR login"


def test_a_hit_entry_styles_the_spans_of_the_plain_snippet() -> None:
    snippet = "see [bold]x[/bold] and [link=y]z[/link] and hello there"
    at = snippet.index("hello")
    hit = Hit(
        1,
        2,
        3,
        "tool",
        "tool_result",
        None,
        "claude",
        "n",
        "[red]T[/red]",
        None,
        snippet,
        ((at, at + 5),),
    )
    text = hit_text(hit, 100, Style(bgcolor="yellow"), Style(dim=True))
    title, line = text.plain.split("\n")
    assert title.startswith("[red]T[/red]") and "tool result" in title
    assert line.strip() == snippet.strip()
    lit = [text.plain[s.start : s.end] for s in text.spans if s.style == Style(bgcolor="yellow")]
    assert lit == ["hello"]


def test_a_hit_entry_drops_escape_sequences_from_log_text() -> None:
    """A title, project or agent holding terminal escapes (a title change, a clipboard write, a
    clear screen, an 8-bit CSI) reaches the screen as plain text only."""
    hostile = "\x1b]0;pwned\x07Fix \x1b[2Jthe\x9b31m bug\x1b]52;c;aGk=\x07"
    hit = Hit(
        1, 2, 3, "user", "prompt", None, "claude\x1b[31m", "n", hostile,
        "/tmp/\x1b]8;;file:///etc/passwd\x1b\\x", "the bug", ((4, 7),),
    )  # fmt: skip
    plain = hit_text(hit, 120, Style(bold=True), Style(dim=True)).plain
    assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in plain)
    assert "Fix the bug" in plain and "pwned" not in plain and "passwd" not in plain
