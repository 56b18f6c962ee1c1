"""The transcript's window: a bounded, contiguous run of messages (in seq order) and their lines.

Pure bookkeeping with no widget and no database: which messages are loaded, the rendered block
of each, where each block starts in the window's lines, and whether the store has more messages
before or after. The view slides it by keyset pages and trims the far end, so its size stays
bounded (`MAX_ROWS`) however long the session is.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable

from textual.strip import Strip

from store.records import MessageRow

MAX_ROWS = 360
"""Messages kept loaded at most; beyond it, the end away from the reader is dropped."""

Block = list[Strip]


class MessageWindow:
    """Loaded messages, their rendered blocks, and the line index over them."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        """Rows kept at most; `trim` drops the rest."""
        self.rows: list[MessageRow] = []
        self.blocks: list[Block] = []
        self.keys: list[Hashable] = []
        """The render key each block was made with (see `message_render.block_key`)."""
        self.starts: list[int] = [0]
        """`starts[i]` is the first line of block i; the last entry is the total line count."""
        self.has_before = False
        self.has_after = False

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def total(self) -> int:
        """Lines in the window."""
        return self.starts[-1]

    def replace(
        self,
        rows: list[MessageRow],
        blocks: list[Block],
        keys: list[Hashable],
        *,
        has_before: bool,
        has_after: bool,
    ) -> None:
        """Load a new window in place of the old one."""
        self.rows, self.blocks, self.keys = list(rows), list(blocks), list(keys)
        self.has_before, self.has_after = has_before, has_after
        self._index()

    def extend(
        self,
        rows: list[MessageRow],
        blocks: list[Block],
        keys: list[Hashable],
        *,
        after: bool,
        has_more: bool,
    ) -> None:
        """Add a page at the end (`after`) or the start, skipping rows already loaded."""
        seqs = {r.seq for r in self.rows}
        fresh = [i for i, r in enumerate(rows) if r.seq not in seqs]
        new_rows = [rows[i] for i in fresh]
        new_blocks = [blocks[i] for i in fresh]
        new_keys = [keys[i] for i in fresh]
        if after:
            self.rows += new_rows
            self.blocks += new_blocks
            self.keys += new_keys
            self.has_after = has_more
        else:
            self.rows = new_rows + self.rows
            self.blocks = new_blocks + self.blocks
            self.keys = new_keys + self.keys
            self.has_before = has_more
        self._index()

    def trim(self, *, keep_end: bool, keep: tuple[int, int] = (0, 0)) -> int:
        """Drop rows beyond `max_rows` from the start (`keep_end`) or the end; returns how many.

        Rows that overlap the line range `keep` (what the reader sees, with a margin wider than
        the one that triggers a fetch) are never dropped, so a trim cannot bring the other edge
        close enough to fetch again: the window never ping-pongs.
        """
        excess = len(self.rows) - self.max_rows
        if excess <= 0:
            return 0
        if keep_end:
            droppable = sum(1 for i in range(len(self.rows)) if self.starts[i + 1] <= keep[0])
            count = min(excess, droppable)
            if count:
                del self.rows[:count], self.blocks[:count], self.keys[:count]
                self.has_before = True
        else:
            droppable = sum(1 for i in range(len(self.rows)) if self.starts[i] >= keep[1])
            count = min(excess, droppable)
            if count:
                del self.rows[-count:], self.blocks[-count:], self.keys[-count:]
                self.has_after = True
        self._index()
        return count

    def set_block(self, index: int, block: Block, key: Hashable) -> None:
        """Replace one block (re-rendered); call `reindex` after a batch of these."""
        self.blocks[index] = block
        self.keys[index] = key

    def reindex(self) -> None:
        self._index()

    def _index(self) -> None:
        starts = [0]
        for block in self.blocks:
            starts.append(starts[-1] + len(block))
        self.starts = starts

    def locate(self, line: int) -> tuple[int, int]:
        """(block index, line within the block) of a window line (clamped to the window)."""
        if not self.rows:
            return (0, 0)
        line = max(0, min(line, self.total - 1))
        index = bisect_right(self.starts, line) - 1
        index = min(index, len(self.rows) - 1)
        return index, line - self.starts[index]

    def line(self, line: int) -> Strip | None:
        """The strip at a window line, or None past the end."""
        if line < 0 or line >= self.total:
            return None
        index, offset = self.locate(line)
        block = self.blocks[index]
        return block[offset] if offset < len(block) else None

    def span(self, index: int) -> tuple[int, int]:
        """(first line, end line exclusive) of block `index`."""
        return self.starts[index], self.starts[index + 1]

    def index_of_seq(self, seq: int) -> int | None:
        """The index of the row with `seq`, or of the first row after it; None if beyond."""
        if not self.rows:
            return None
        index = bisect_left([r.seq for r in self.rows], seq)
        return index if index < len(self.rows) else None

    def index_of_id(self, message_id: int) -> int | None:
        for i, row in enumerate(self.rows):
            if row.id == message_id:
                return i
        return None

    def contains_seq(self, seq: int) -> bool:
        """True when `seq` falls inside the loaded run of seqs."""
        return bool(self.rows) and self.rows[0].seq <= seq <= self.rows[-1].seq
