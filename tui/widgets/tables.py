"""Helpers for the app's DataTables: one flexible column that takes the width the others leave."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


def fit_column(table: DataTable[object], flexible: str, minimum: int = 20) -> None:
    """Give column `flexible` the width the table's other columns leave free.

    DataTable has no flexible columns: widths are set when a column is added. This sets the
    width of one column and asks the table to re-measure.
    """
    column = table.columns.get(ColumnKey(flexible))
    if column is None:
        return
    others = sum(c.width for key, c in table.columns.items() if key != ColumnKey(flexible))
    padding = 2 * table.cell_padding * len(table.columns)
    scrollbar = table.styles.scrollbar_size_vertical
    width = max(minimum, table.size.width - others - padding - scrollbar)
    if column.width != width:
        column.width = width
        column.auto_width = False
        # No public way to resize a column: this private flag makes the table re-measure, and
        # its line caches must go, or rows and header already drawn keep the old width until
        # something else clears them (seen as a header one cell narrower than its rows).
        table._require_update_dimensions = True
        table._clear_caches()
        table.refresh()


class ListTable(DataTable[object]):
    """A row-cursor list with the keys a reader expects (vim keys, top and bottom)."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, tooltip="Next row"),
        Binding("k", "cursor_up", "Up", show=False, tooltip="Previous row"),
        Binding("g,home", "scroll_top", "First", show=False, tooltip="First row"),
        Binding(
            "G,end",
            "scroll_bottom",
            "Last",
            show=False,
            tooltip="Last loaded row (reads the next page)",
        ),
    ]
