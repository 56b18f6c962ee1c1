"""The help screen (every key of the screen it was opened from) and the palette's action list."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static


def key_rows(screen: Screen[object]) -> list[tuple[str, str, str]]:
    """(keys, description, tooltip) for each action reachable from `screen`, deduplicated."""
    seen: dict[tuple[object, str], list[str]] = {}
    info: dict[tuple[object, str], tuple[str, str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or binding.system:
            continue
        ident = (active.node, binding.action)
        keys = seen.setdefault(ident, [])
        display = screen.app.get_key_display(binding)
        if display not in keys:
            keys.append(display)
        info.setdefault(ident, (binding.description, binding.tooltip or active.tooltip or ""))
    return [(" ".join(keys), *info[ident]) for ident, keys in seen.items()]


def binding_commands(app: App[Any], screen: Screen[Any]) -> Iterator[SystemCommand]:
    """A command-palette entry for every described action reachable from `screen`."""
    seen = {"show_failures", "show_help", "show_repair", "show_search", "quit"}  # the app's own
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or binding.system or binding.action in seen:
            continue
        seen.add(binding.action)
        tooltip = binding.tooltip or binding.description
        run = partial(app.run_action, binding.action, active.node)
        yield SystemCommand(binding.description, tooltip, run)


class HelpScreen(ModalScreen[None]):
    """Lists the keys of the screen beneath; `ctrl+p` reaches every action by name."""

    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", tooltip="Close the help")]

    def __init__(self, target: Screen[object]) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        name = getattr(self.target, "HELP_TITLE", type(self.target).__name__)
        table = Table(box=None, expand=True, show_header=True, header_style="bold", padding=(0, 1))
        table.add_column("Key", no_wrap=True, style="bold")
        table.add_column("Action", no_wrap=True)
        table.add_column("What it does", ratio=1)
        for keys, description, tooltip in key_rows(self.target):
            table.add_row(Text(keys), Text(description), Text(tooltip, style="dim"))
        with Vertical(id="help-box"):
            yield Label(f"Keys: {name}", id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(table)
            yield Label(
                "ctrl+p opens the command palette: every action and screen by name · esc closes",
                id="help-hint",
            )

    def action_close(self) -> None:
        self.dismiss(None)
