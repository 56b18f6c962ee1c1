"""The demo corpus driver: presets, the session plan, and `generate` that writes it all."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from store.demo.claude import Claude
from store.demo.codex import Codex
from store.demo.common import CorpusStats, Plan, Project, World
from store.demo.vocab import Vocab

# `convo demo` opens a store built from one of these corpora, and the benchmarks (`tests/bench`)
# measure convo on them. Everything is generated from one `random.Random(seed)`: the same preset
# and seed give byte-identical files (no clock, no `uuid4`, no hash-order dependence), and files
# are streamed to disk, so a million lines never sit in memory. Every line is a distinct record
# for convo (its timestamp strictly increases within a file), so a corpus of N lines ingests as
# N messages. Sizes are heavy-tailed (lognormal sessions, occasional 20-100 KB tool outputs), and
# each preset has one very long session to exercise deep keyset pages. The layouts and line
# shapes of each agent are described in `store.demo.claude` and `store.demo.codex`.

# ---------------------------------------------------------------------------------------------
# Presets


@dataclass(frozen=True, slots=True)
class Preset:
    """The shape of a corpus. Line counts are totals over all files, sub-agents included."""

    name: str
    messages: int
    """Lines to write in all."""
    sessions: int
    """Top-level sessions (sub-agent threads come on top)."""
    largest: int
    """Line budget of the one very long session."""
    codex_share: float = 0.3
    """Share of the other sessions written as Codex rollouts."""
    subagent_share: float = 0.12
    """Share of sessions that spawn sub-agents."""


PRESETS: dict[str, Preset] = {
    "demo": Preset("demo", 3_000, 40, 2_000, subagent_share=0.15),
    "small": Preset("small", 50_000, 400, 6_000),
    "medium": Preset("medium", 250_000, 1_500, 24_000),
    "large": Preset("large", 1_000_000, 5_000, 50_000),
}

DEFAULT_BASE_MS = 1_790_000_000_000
DAY_MS = 86_400_000
WINDOW_MS = 60 * DAY_MS
"""Sessions start within this window before the base time."""
MS_PER_LINE = 20_000
"""Rough mean time between lines, to place long sessions early enough."""
MIN_SESSION = 6
"""Fewest lines of a top-level session."""


def generate(
    root: Path,
    *,
    preset: str = "demo",
    seed: int = 7,
    base_time_ms: int = DEFAULT_BASE_MS,
    scale: float = 1.0,
) -> CorpusStats:
    """Write a synthetic corpus under `root` (created if needed) and say what it holds.

    Args:
        root: the folder to write `claude/` and `codex/` into; best empty (same-named files are
            overwritten, others are left alone and not counted).
        preset: a key of `PRESETS`.
        seed: the seed of the one random generator; same seed, same bytes.
        base_time_ms: UTC epoch ms; sessions fall in the 60 days before it.
        scale: multiplies the preset's line and session counts (tests use small fractions).

    Raises:
        ValueError: unknown preset or a non-positive scale.
    """
    spec = PRESETS.get(preset)
    if spec is None:
        raise ValueError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    if scale <= 0:
        raise ValueError("scale must be positive")
    rng = random.Random(seed)
    world = World(rng, Vocab(rng), Path(root), CorpusStats())
    for plan in _plan(rng, spec, scale, base_time_ms):
        if plan.agent == "claude":
            Claude.top_level(world, plan)
        else:
            Codex.top_level(world, plan)
    return world.stats


def demo_corpus(root: Path) -> Path:
    """Write the demo corpus (preset `demo`, seed 7) under `root` and return `root`."""
    generate(root, preset="demo", seed=7)
    return root


# ---------------------------------------------------------------------------------------------
# Planning: which sessions, how long, when, where

PROJECTS: tuple[Project, ...] = (
    Project("/home/dev/src/convo", "py", "convo", ("main", "feat/keyset-pages", "fix/dupes")),
    Project("/home/dev/src/webshop-api", "py", "webshop-api", ("main", "feat/refunds", "HEAD")),
    Project("/home/dev/work/payments-service", "py", "payments", ("main", "release/1.4")),
    Project("/Users/alex/code/ml-pipeline", "py", "ml-pipeline", ("main", "exp/lr-sweep")),
    Project("/Users/alex/code/react-dashboard", "ts", "dashboard", ("main", "feat/dark-mode")),
    Project("/home/dev/oss/httpx-retry", "py", "httpx-retry", ("main", "fix/backoff-jitter")),
    Project("/home/dev/work/edge-worker", "ts", "edge-worker", ("main", "chore/deps")),
    Project("/Users/alex/code/notes-app", "ts", "notes-app", ("main", "")),
)
PROJECT_WEIGHTS = (8, 5, 4, 3, 3, 2, 2, 1)
"""A few projects get most of the work, as on a real machine."""


def _plan(rng: random.Random, spec: Preset, scale: float, base_ms: int) -> list[Plan]:
    """Every top-level session of the corpus, oldest first."""
    total = max(MIN_SESSION * 4, round(spec.messages * scale))
    count = max(2, round(spec.sessions * scale))
    largest = min(total - count * MIN_SESSION, max(MIN_SESSION * 4, round(spec.largest * scale)))
    budgets = [largest, *_budgets(rng, total - largest, count - 1, largest // 2)]
    plans = []
    for i, budget in enumerate(budgets):
        agent = "claude" if i == 0 or rng.random() >= spec.codex_share else "codex"
        project = rng.choices(PROJECTS, weights=PROJECT_WEIGHTS)[0]
        spawns = rng.randint(1, 3) if rng.random() < spec.subagent_share else 0
        if i == 0:
            spawns = 3  # the long session always has sub-agents to show
        plans.append(
            Plan(
                agent,
                budget,
                _start(rng, budget, base_ms),
                project,
                rng.choice(project.branches),
                spawns,
            )
        )
    return sorted(plans, key=lambda p: p.start_ms)


def _budgets(rng: random.Random, total: int, count: int, cap: int) -> list[int]:
    """`count` heavy-tailed (lognormal) line budgets in [MIN_SESSION, cap] that sum to `total`."""
    if count <= 0:
        return []
    raw = [rng.lognormvariate(0.0, 1.3) for _ in range(count)]
    factor = total / sum(raw)
    sizes = [min(cap, max(MIN_SESSION, round(r * factor))) for r in raw]
    drift = total - sum(sizes)
    # Clipping and rounding moved the sum: settle the difference on the biggest sessions.
    for i in sorted(range(count), key=lambda k: -sizes[k]):
        if drift == 0:
            break
        new = min(cap, max(MIN_SESSION, sizes[i] + drift))
        drift -= new - sizes[i]
        sizes[i] = new
    return sizes


def _start(rng: random.Random, budget: int, base_ms: int) -> int:
    """A start time that lets the session end near or before `base_ms`."""
    span = min(budget * MS_PER_LINE, WINDOW_MS - DAY_MS)
    return base_ms - span - int(rng.random() * (WINDOW_MS - span))
