"""The search screen's filters as the keys set them, and the words the screen shows about them.

Each filter key steps through a short list (`a` the agents the store has, `r` the roles, `t` the
kinds, `w` how far back) or flips (`s` sub-agent threads); `p` picks a project. `SearchFilters`
turns that into the store's `Filters` when a query runs, so "the last 7 days" is measured from the
moment of the query.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text

from store.search.filters import KINDS, ROLES, Filters, parse_time
from tui import formatting

SINCE = (None, "24h", "7d", "30d", "1y")
"""The steps of the `w` key: how far back to search (None: any time)."""
SINCE_WORDS = {None: "any time", "24h": "last day", "7d": "last week", "30d": "last month"}
SINCE_WORDS["1y"] = "last year"
ROLE_WORDS = {"user": "you", "assistant": "agent", "tool": "tool", "system": "system"}
KIND_WORDS = {
    "text": "text",
    "tool_call": "tool calls",
    "tool_result": "tool results",
    "thinking": "thinking",
    "other": "other",
}

HINT = """\
Search every message of every session: prompts, replies, tool calls and results, thinking.

  words          all of them, in any order       flaky login test
  "a phrase"     these words in this order       "database is locked"
  prefix*        words that start so             pars*
  -word          leave out messages with it      cache -redis
  a OR b         either one                      sqlite OR postgres

A question works too: when no message has every word, the important ones are searched.
↓ or enter goes to the results: there a p r t w s set the filters, enter opens a hit, / returns."""
"""What the screen shows before anything is typed (plain text: no markup)."""


def _step(choices: tuple[str | None, ...] | list[str | None], current: str | None) -> str | None:
    at = choices.index(current) if current in choices else 0
    return choices[(at + 1) % len(choices)]


@dataclass(frozen=True)
class SearchFilters:
    """What the user narrowed the search to; None means no filter."""

    agent: str | None = None
    project: str | None = None
    role: str | None = None
    kind: str | None = None
    since: str | None = None
    """A key of `SINCE_WORDS` (`7d`...), measured back from when the query runs."""
    subagents: bool = False

    def next_agent(self, agents: list[str]) -> SearchFilters:
        return replace(self, agent=_step([None, *agents], self.agent), project=None)

    def next_role(self) -> SearchFilters:
        return replace(self, role=_step((None, *ROLES), self.role))

    def next_kind(self) -> SearchFilters:
        return replace(self, kind=_step((None, *KINDS), self.kind))

    def next_since(self) -> SearchFilters:
        return replace(self, since=_step(SINCE, self.since))

    def flip_subagents(self) -> SearchFilters:
        return replace(self, subagents=not self.subagents)

    @property
    def narrowed(self) -> bool:
        """Any filter is on (sub-agent threads included is a widening, not a filter)."""
        return any((self.agent, self.project, self.role, self.kind, self.since))

    def to_store(self) -> Filters:
        """The store's filters, with `since` measured back from now."""
        now_ms = int(formatting.clock() * 1000)
        since = parse_time(self.since, now_ms) if self.since else None
        return Filters(
            agent=self.agent,
            project=self.project,
            role=self.role,
            kind=self.kind,
            since=since,
            subagents=self.subagents,
        )

    def describe(self) -> Text:
        """The filter bar: each filter with its key (`a agent: all · r role: any · …`)."""
        parts = [
            ("a", "agent", self.agent or "all"),
            ("p", "project", formatting.home_short(self.project) if self.project else "all"),
            ("r", "role", ROLE_WORDS.get(self.role or "", self.role or "any")),
            ("t", "kind", KIND_WORDS.get(self.kind or "", self.kind or "any")),
            ("w", "when", SINCE_WORDS.get(self.since, self.since or "any time")),
            ("s", "sub-agents", "included" if self.subagents else "left out"),
        ]
        line = Text()
        for i, (key, name, value) in enumerate(parts):
            if i:
                line.append("  ·  ", style="dim")
            line.append(key, style="bold")
            line.append(f" {name}: ", style="dim")
            default = value in ("all", "any", "any time", "left out")
            line.append(value, style="" if default else "bold")
        return line
