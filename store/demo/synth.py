"""Seeded synthetic corpora of agent logs, in the agents' real on-disk layouts.

`convo demo` opens a store built from one of these, and the benchmarks (`tests/bench`) measure
convo on them. Everything is generated from one `random.Random(seed)`: the same preset and seed
give byte-identical files (no clock, no `uuid4`, no hash-order dependence), and files are
streamed to disk, so a million lines never sit in memory.

Layout under `root` (FORMATS.md §1.1 and §2.1):

    claude/projects/<encoded cwd>/<session uuid>.jsonl
    claude/projects/<encoded cwd>/<session uuid>/subagents/agent-<id>.jsonl
    codex/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl

Line shapes are copied from the real samples in `tests/fixtures`: Claude Code replies are
streamed as one line per content block sharing `message.id`, tool results come back as user
lines with a `toolUseResult`, sub-agent lines carry the parent's `sessionId` with `isSidechain`
and `agentId`; Codex rollouts start with `session_meta` and write prompts and answers twice
(`response_item` and an `event_msg` mirror). Every line is a distinct record for convo (its
timestamp strictly increases within a file), so a corpus of N lines ingests as N messages.

Sizes are heavy-tailed (lognormal sessions, occasional 20-100 KB tool outputs), and each
preset has one very long session to exercise deep keyset pages.
"""

from __future__ import annotations

import base64
import os
import random
import re
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

# ---------------------------------------------------------------------------------------------
# Presets and results


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


@dataclass(slots=True)
class CorpusStats:
    """What `generate` wrote."""

    files: int = 0
    sessions: int = 0
    """Sessions as convo keys them: top-level sessions plus sub-agent threads."""
    messages: int = 0
    """Lines written; each is a distinct record, so also the messages convo stores."""
    bytes: int = 0
    largest_session: tuple[str, int] = ("", 0)
    """(native id, lines) of the session with the most lines."""
    subagents: int = 0
    """Sub-agent threads among `sessions`."""

    def add_file(self, key: str, lines: int, size: int, *, subagent: bool) -> None:
        self.files += 1
        self.sessions += 1
        self.subagents += int(subagent)
        self.messages += lines
        self.bytes += size
        if lines > self.largest_session[1]:
            self.largest_session = (key, lines)


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
    world = _World(rng, _Vocab(rng), Path(root), CorpusStats())
    for plan in _plan(rng, spec, scale, base_time_ms):
        if plan.agent == "claude":
            _Claude.top_level(world, plan)
        else:
            _Codex.top_level(world, plan)
    return world.stats


def demo_corpus(root: Path) -> Path:
    """Write the demo corpus (preset `demo`, seed 7) under `root` and return `root`."""
    generate(root, preset="demo", seed=7)
    return root


# ---------------------------------------------------------------------------------------------
# Planning: which sessions, how long, when, where


@dataclass(frozen=True, slots=True)
class _Project:
    cwd: str
    lang: str
    """`py` or `ts`: picks file names, code and commands."""
    repo: str
    branches: tuple[str, ...]


PROJECTS: tuple[_Project, ...] = (
    _Project("/home/dev/src/convo", "py", "convo", ("main", "feat/keyset-pages", "fix/dupes")),
    _Project("/home/dev/src/webshop-api", "py", "webshop-api", ("main", "feat/refunds", "HEAD")),
    _Project("/home/dev/work/payments-service", "py", "payments", ("main", "release/1.4")),
    _Project("/Users/alex/code/ml-pipeline", "py", "ml-pipeline", ("main", "exp/lr-sweep")),
    _Project("/Users/alex/code/react-dashboard", "ts", "dashboard", ("main", "feat/dark-mode")),
    _Project("/home/dev/oss/httpx-retry", "py", "httpx-retry", ("main", "fix/backoff-jitter")),
    _Project("/home/dev/work/edge-worker", "ts", "edge-worker", ("main", "chore/deps")),
    _Project("/Users/alex/code/notes-app", "ts", "notes-app", ("main", "")),
)
PROJECT_WEIGHTS = (8, 5, 4, 3, 3, 2, 2, 1)
"""A few projects get most of the work, as on a real machine."""


@dataclass(frozen=True, slots=True)
class _Plan:
    agent: str
    budget: int
    start_ms: int
    project: _Project
    branch: str
    spawns: int
    """How many sub-agents the session may spawn."""


def _plan(rng: random.Random, spec: Preset, scale: float, base_ms: int) -> list[_Plan]:
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
            _Plan(
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


# ---------------------------------------------------------------------------------------------
# Ids, times, output


_B62 = string.digits + string.ascii_letters


def _uuid4(rng: random.Random) -> str:
    n = rng.getrandbits(128) & ~(0xF000 << 64) | (0x4000 << 64)
    n = n & ~(0xC000 << 48) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid7(rng: random.Random, ms: int) -> str:
    """A version-7 UUID (time-ordered), as Codex names its threads."""
    h = (
        f"{ms & (2**48 - 1):012x}7{rng.getrandbits(12):03x}{8 | rng.getrandbits(2):x}"
        + (f"{rng.getrandbits(62):016x}"[1:])
    )
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(_B62, k=n))


def _iso(ms: int) -> str:
    secs, rest = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{rest:03d}Z"


class _Clock:
    """A session's time: strictly increasing, so no two lines share a timestamp."""

    def __init__(self, rng: random.Random, ms: int) -> None:
        self.rng = rng
        self.ms = ms

    def tick(self, lo_ms: int, hi_ms: int) -> str:
        self.ms += max(1, int(lo_ms + self.rng.random() * (hi_ms - lo_ms)))
        return _iso(self.ms)


class _Spent(Exception):
    """A session's line budget is used up; it ends where it is."""


class _Sink:
    """One log file being written, with its line budget."""

    def __init__(self, path: Path, budget: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fh = path.open("wb", buffering=1 << 20)
        self.left = budget
        self.lines = 0
        self.size = 0

    def put(self, obj: dict[str, Any]) -> None:
        if self.left <= 0:
            raise _Spent
        data = orjson.dumps(obj)
        self.fh.write(data)
        self.fh.write(b"\n")
        self.left -= 1
        self.lines += 1
        self.size += len(data) + 1

    def close(self, last_ms: int) -> None:
        self.fh.close()
        # The agents' files are last modified when their last line was written.
        os.utime(self.path, ns=(last_ms * 1_000_000, last_ms * 1_000_000))


@dataclass(slots=True)
class _World:
    """What every session writer shares."""

    rng: random.Random
    vocab: _Vocab
    root: Path
    stats: CorpusStats


def _encode_cwd(cwd: str) -> str:
    """Claude Code's folder name for a working directory: every non-alphanumeric becomes `-`."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


# ---------------------------------------------------------------------------------------------
# Vocabulary: plausible coding-session text, pooled once per corpus so each line is cheap

# fmt: off
PY_FILES = (
    "store/pages.py", "store/ingest.py", "store/append.py", "store/models.py", "store/db.py",
    "api/routes/orders.py", "api/deps.py", "app/services/billing.py", "app/cli.py",
    "core/config.py", "core/retry.py", "pipeline/features.py", "pipeline/train.py",
    "tests/test_pages.py", "tests/test_ingest.py", "tests/test_billing.py", "tests/conftest.py",
)
TS_FILES = (
    "src/components/Table.tsx", "src/components/Sidebar.tsx", "src/hooks/useSession.ts",
    "src/api/client.ts", "src/routes/orders.ts", "src/lib/format.ts", "src/index.ts",
    "src/worker.ts", "tests/format.test.ts", "tests/client.test.ts",
)
PY_FUNCS = (
    "parse_line", "load_config", "fetch_page", "messages_after", "apply_migration",
    "retry_with_backoff", "compute_totals", "render_row", "normalize_path", "upsert_session",
    "build_index", "validate_order", "refund_payment", "read_chunk", "open_store", "flush",
)
TS_FUNCS = (
    "fetchOrders", "useSession", "formatCurrency", "renderRow", "parseQuery", "createClient",
    "handleRequest", "debounce", "toggleTheme", "loadNotes", "retryFetch", "groupByDay",
)
CLASSES = ("SessionStore", "OrderService", "RetryPolicy", "PageCursor", "IngestWorker",
           "BillingClient", "FeatureTable", "NoteEditor")
FLAGS = ("dry-run", "limit", "json", "since", "verbose", "no-cache", "workers", "format")
LIBS = ("pydantic", "sqlalchemy", "httpx", "react-query", "vite", "pytest", "fastapi", "zod")
ERRORS = (
    "AssertionError: assert 199 == 200",
    "KeyError: 'session_id'",
    "TypeError: 'NoneType' object is not subscriptable",
    "sqlite3.IntegrityError: UNIQUE constraint failed: message.session_id, message.seq",
    "ModuleNotFoundError: No module named 'orjson'",
    "ValueError: invalid literal for int() with base 10: ''",
    "TimeoutError: request took longer than 30s",
    "TS2345: Argument of type 'string | undefined' is not assignable to type 'string'",
    "RuntimeError: Event loop is closed",
)
PROMPTS = (
    "Fix the failing test in {file}",
    "{test} fails with `{err}`. Can you look into it?",
    "Add a `--{flag}` option to the CLI and wire it through to `{func}`",
    "Why does `{func}` return None when the input is empty?",
    "Refactor `{func}` in {file} so it doesn't load the whole file into memory",
    "Write tests for `{func}`; cover the empty case and the error path",
    "Can you explain what {file} does? I haven't touched it in months.",
    "Run the test suite and fix whatever is broken",
    "CI is red on this branch: `{err}`. Please fix.",
    "Rename `{cls}` to something clearer and update all call sites",
    "Make `{func}` async and update the callers",
    "Profile `{func}`; it got a lot slower after the last change",
    "Review the diff on this branch and point out anything risky",
    "Update the README with the new `--{flag}` option",
    "Bump {lib} to the latest version and fix the deprecation warnings",
    "Add type hints to {file} so mypy --strict passes",
    "There's a race in `{func}` when two workers write at once. Can you find it?",
    "Commit this with a good message",
    "yes, go ahead",
    "ok, now do the same for {file}",
    "Hmm, that didn't work. Same error: `{err}`",
    "Please keep the public API of `{cls}` unchanged",
    "Split {file} into smaller modules, it's getting too long",
    "Add logging around the retry loop in `{func}`",
    "What's the complexity of `{func}`? Can we do better than O(n^2)?",
)
INTERIM = (
    "Let me look at the failing test first.",
    "I'll check how `{func}` is called.",
    "Now let me run the tests.",
    "Let me read {file} to understand the current behaviour.",
    "Let me search for other callers of `{func}`.",
    "The tests pass. Let me also run the type checker.",
    "I'll make the change in {file}.",
    "Let me check the git history of {file}.",
)
THOUGHTS = (
    "The user wants me to look at `{func}`. I should read {file} to see how it is implemented.",
    "The error is `{err}`, which suggests the value is missing before it reaches `{func}`.",
    "I need to check whether the tests cover the empty case; {test} might be the only one.",
    "If I change the signature of `{func}`, every caller in {file} has to change too.",
    "The simplest fix is to guard the early return, but that hides the real problem.",
    "Running the whole suite takes a while; I'll run {test} first and the rest afterwards.",
    "`{cls}` is used in three places. Renaming it is mechanical, but the imports need care.",
)
SENTENCES = (
    "The test fails because `{func}` compares against the wrong key.",
    "I updated `{func}` in `{file}` so it handles the empty case explicitly.",
    "All {n} tests pass now, and mypy is clean.",
    "The root cause was an off-by-one in the cursor: the last row of each page was read twice.",
    "`{cls}` now owns the connection, so callers no longer need to close it.",
    "I kept the public API unchanged; only internal helpers moved.",
    "The slowdown came from building a query per row instead of one prepared statement.",
    "This was a real bug, not a flaky test: it only shows up with more than one worker.",
    "I didn't touch `{file}`; it wasn't involved.",
    "You may want to bump {lib} separately, since it changes the lock file a lot.",
)
CHANGES = (
    "handle the empty input before touching the database",
    "stream the file instead of reading it whole",
    "use a keyset cursor instead of OFFSET",
    "add a regression test for `{err}`",
    "move the retry loop into `{func}`",
    "close the connection in a `finally` block",
    "return early when nothing changed",
    "log the failing id with its context",
    "replace the bare `except` with the two errors that can really happen",
    "type the return value as `{cls} | None`",
)
TITLES = (
    "Fix pagination off-by-one in {func}", "Refactor {cls} connection handling",
    "Add --{flag} option to CLI", "Debug flaky {test}", "Speed up {func}",
    "Type hints for {file}", "Upgrade {lib}", "Review branch changes",
)
PY_CODE = (
    "def {func}(self, value: str | None = None) -> list[str]:",
    '    """Return the rows after the cursor, oldest first."""',
    "    if not value:", "        return []",
    "    rows = self.conn.execute(SQL, (value,)).fetchall()",
    "    for row in rows:", "        result.append(self._decode(row))", "    return result",
    "class {cls}:", "    def __init__(self, path: Path) -> None:", "        self.path = path",
    "        self._cache: dict[str, int] = {{}}", "    @property", "    def closed(self) -> bool:",
    "try:", "    payload = orjson.loads(raw)", "except orjson.JSONDecodeError:",
    "    log.warning(\"bad line %s in %s\", number, path)", "    continue",
    "with db.atomic(\"IMMEDIATE\"):", "    count = query.execute()",
    "for attempt in range(retries + 1):", "    delay = min(cap, base * 2 ** attempt)",
    "import logging", "from pathlib import Path", "from dataclasses import dataclass", "",
    "@dataclass(frozen=True, slots=True)", "    total += item.amount * item.quantity",
    "assert {func}(\"\") == []", "    raise ValueError(f\"unknown sort {{sort!r}}\")",
)
TS_CODE = (
    "export function {func}(items: Item[], limit = 50): Item[] {{",
    "  if (items.length === 0) return [];", "  const seen = new Set<string>();",
    "  for (const item of items) {{", "    if (seen.has(item.id)) continue;", "  }}", "}}",
    "import {{ useEffect, useState }} from \"react\";", "export const {cls} = () => {{",
    "  const [rows, setRows] = useState<Row[]>([]);", "  useEffect(() => {{",
    "    {func}().then(setRows).catch(console.error);", "  }}, []);",
    "  return <Table rows={{rows}} onSelect={{setSelected}} />;", "",
    "const res = await fetch(`${{base}}/orders?limit=${{limit}}`);",
    "if (!res.ok) throw new Error(`HTTP ${{res.status}}`);",
    "  return res.json() as Promise<Order[]>;",
    "type Order = {{ id: string; total: number; createdAt: string }};",
    "expect({func}([])).toEqual([]);",
)
# fmt: on


class _Pick:
    """A `format_map` mapping that draws each placeholder from its pool when it is used."""

    def __init__(self, vocab: _Vocab, lang: str) -> None:
        self.vocab = vocab
        self.lang = lang

    def __getitem__(self, key: str) -> str:
        return self.vocab.word(key, self.lang)


class _Vocab:
    """Pools of text drawn once from the corpus's generator; each use is a few cheap choices."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pools: dict[tuple[str, str], Sequence[str]] = {}
        for lang, files, funcs in (("py", PY_FILES, PY_FUNCS), ("ts", TS_FILES, TS_FUNCS)):
            tests = [f for f in files if "test" in f]
            self.pools.update(
                {
                    ("file", lang): files,
                    ("func", lang): funcs,
                    ("test", lang): tests,
                    ("cls", lang): CLASSES,
                    ("flag", lang): FLAGS,
                    ("lib", lang): LIBS,
                    ("err", lang): ERRORS,
                    ("n", lang): [str(n) for n in range(12, 400, 7)],
                }
            )
        self.sources = {lang: self._sources(lang) for lang in ("py", "ts")}
        self.big = [self._big_output() for _ in range(6)]

    def word(self, key: str, lang: str) -> str:
        return self.rng.choice(self.pools[key, lang])

    def fill(self, template: str, lang: str) -> str:
        return template.format_map(_Pick(self, lang))

    def pick(self, templates: Sequence[str], lang: str) -> str:
        return self.fill(self.rng.choice(templates), lang)

    def _sources(self, lang: str) -> list[list[str]]:
        """Synthetic source files (lines) that Read and cat show, some of them long."""
        code = PY_CODE if lang == "py" else TS_CODE
        files = []
        for i in range(24):
            n = self.rng.randint(600, 2400) if i < 3 else int(self.rng.lognormvariate(4.0, 0.8))
            files.append([self.fill(self.rng.choice(code), lang) for _ in range(max(8, n))])
        return files

    def _big_output(self) -> str:
        """A 20-100 KB tool output: a long build or test log."""
        target = self.rng.randint(20_000, 100_000)
        lines: list[str] = []
        size = 0
        while size < target:
            line = (
                f"tests/test_{self.rng.choice(PY_FUNCS)}.py::test_case_{len(lines)} "
                f"PASSED [{min(99, len(lines) // 20):3d}%]"
            )
            lines.append(line)
            size += len(line) + 1
        return "\n".join(lines)

    # -- prose --

    def prompt(self, lang: str) -> str:
        text = self.pick(PROMPTS, lang)
        if self.rng.random() < 0.12:
            text += f"\n\n```\n{self.traceback(lang)}\n```"
        return text

    def interim(self, lang: str) -> str:
        return self.pick(INTERIM, lang)

    def thinking(self, lang: str) -> str:
        return " ".join(self.pick(THOUGHTS, lang) for _ in range(self.rng.randint(1, 4)))

    def title(self, lang: str) -> str:
        return self.pick(TITLES, lang)

    def answer(self, lang: str) -> str:
        """A Markdown reply: prose, often a list of changes, sometimes a code block."""
        rng = self.rng
        out = [" ".join(self.pick(SENTENCES, lang) for _ in range(rng.randint(1, 3)))]
        if rng.random() < 0.7:
            if rng.random() < 0.4:
                out.append(rng.choice(("## Summary", "### What changed", "**Changes:**")))
            out.append(
                "\n".join(
                    f"- `{self.word('file', lang)}`: {self.pick(CHANGES, lang)}"
                    for _ in range(rng.randint(2, 5))
                )
            )
        if rng.random() < 0.35:
            fence = "python" if lang == "py" else "ts"
            out.append(f"```{fence}\n{self.code(lang, rng.randint(3, 14))}\n```")
        if rng.random() < 0.5:
            out.append(self.pick(SENTENCES, lang))
        return "\n\n".join(out)

    def code(self, lang: str, n: int) -> str:
        lines = self.rng.choice(self.sources[lang])
        start = self.rng.randrange(max(1, len(lines) - n))
        return "\n".join(lines[start : start + n])

    def traceback(self, lang: str) -> str:
        file, func = self.word("file", lang), self.word("func", lang)
        return (
            f'Traceback (most recent call last):\n  File "{file}", line '
            f"{self.rng.randint(10, 400)}, in {func}\n    {self.code(lang, 1)}\n"
            f"{self.word('err', lang)}"
        )

    # -- tool actions --

    def action(self, lang: str, cwd: str, branch: str) -> _Action:
        """One tool use with its output, in a mix close to real sessions."""
        roll = self.rng.random()
        if roll < 0.38:
            return self._bash(lang, cwd, branch)
        if roll < 0.68:
            return self._read(lang, cwd)
        if roll < 0.84:
            return self._edit(lang, cwd)
        if roll < 0.94:
            return self._grep(lang, cwd)
        return self._glob(lang, cwd)

    def _bash(self, lang: str, cwd: str, branch: str) -> _Action:
        kind = self.rng.choice(BASH_KINDS)
        command, description, output, failed = kind(self, lang, cwd, branch)
        if self.rng.random() < 0.004:
            output = self.rng.choice(self.big)
        result = {"stdout": output, "stderr": "", "interrupted": False, "isImage": False}
        return _Action(
            "Bash",
            {"command": command, "description": description},
            output,
            result,
            command,
            output,
            failed,
        )

    def _read(self, lang: str, cwd: str) -> _Action:
        rel = self.word("file", lang)
        path = f"{cwd}/{rel}"
        lines = self.rng.choice(self.sources[lang])
        whole = self.rng.random() < 0.01
        count = len(lines) if whole else min(len(lines), int(self.rng.lognormvariate(2.9, 0.7)))
        start = 0 if whole else self.rng.randrange(max(1, len(lines) - count + 1))
        chunk = lines[start : start + count]
        numbered = "\n".join(f"{start + i + 1:>6}\u2192{line}" for i, line in enumerate(chunk))
        plain = "\n".join(chunk)
        result = {
            "type": "text",
            "file": {
                "filePath": path,
                "content": plain,
                "numLines": len(chunk),
                "startLine": start + 1,
                "totalLines": len(lines),
            },
        }
        tool_input: dict[str, Any] = {"file_path": path}
        if not whole and start:
            tool_input.update(offset=start + 1, limit=count)
        shell = f"sed -n '{start + 1},{start + count}p' {rel}"
        return _Action("Read", tool_input, numbered, result, shell, plain)

    def _edit(self, lang: str, cwd: str) -> _Action:
        rel = self.word("file", lang)
        old = self.code(lang, self.rng.randint(1, 5))
        new = self.code(lang, self.rng.randint(1, 7))
        path = f"{cwd}/{rel}"
        result = {
            "filePath": path,
            "oldString": old,
            "newString": new,
            "structuredPatch": [
                {
                    "oldStart": self.rng.randint(1, 300),
                    "oldLines": 1,
                    "newStart": 1,
                    "newLines": 1,
                    "lines": [f"-{old}", f"+{new}"],
                }
            ],
            "userModified": False,
            "replaceAll": False,
        }
        patch = (
            f"*** Begin Patch\n*** Update File: {rel}\n@@\n"
            + "\n".join(f"-{ln}" for ln in old.split("\n"))
            + "\n"
            + "\n".join(f"+{ln}" for ln in new.split("\n"))
            + "\n*** End Patch"
        )
        output = f"The file {path} has been updated successfully."
        return _Action(
            "Edit",
            {"file_path": path, "old_string": old, "new_string": new},
            output,
            result,
            patch,
            f"Success. Updated the following files:\nM {rel}\n",
            patch=True,
        )

    def _grep(self, lang: str, cwd: str) -> _Action:
        func = self.word("func", lang)
        hits = sorted({self.word("file", lang) for _ in range(self.rng.randint(0, 6))})
        output = f"Found {len(hits)} files\n" + "\n".join(f"{cwd}/{h}" for h in hits)
        result = {
            "mode": "files_with_matches",
            "filenames": [f"{cwd}/{h}" for h in hits],
            "numFiles": len(hits),
        }
        return _Action(
            "Grep",
            {"pattern": func, "path": cwd, "output_mode": "files_with_matches"},
            output,
            result,
            f"rg -l {func}",
            "\n".join(hits),
        )

    def _glob(self, lang: str, cwd: str) -> _Action:
        pattern = "**/*.py" if lang == "py" else "src/**/*.ts*"
        hits = [f"{cwd}/{f}" for f in self.pools["file", lang] if self.rng.random() < 0.6]
        result = {
            "filenames": hits,
            "durationMs": self.rng.randint(3, 90),
            "numFiles": len(hits),
            "truncated": False,
        }
        return _Action(
            "Glob",
            {"pattern": pattern},
            "\n".join(hits),
            result,
            f"rg --files -g '{pattern}'",
            "\n".join(hits),
        )


@dataclass(frozen=True, slots=True)
class _Action:
    """One tool use: how Claude Code writes it, and the same action as Codex runs it."""

    tool: str
    input: dict[str, Any]
    output: str
    """Claude's tool_result text."""
    result: dict[str, Any]
    """Claude's `toolUseResult`."""
    shell: str
    """Codex: the shell command (or the apply_patch body when `patch`)."""
    shell_output: str
    failed: bool = False
    patch: bool = False


BashResult = tuple[str, str, str, bool]
"""(command, description, output, failed)"""


def _bash_pytest(v: _Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    rng = v.rng
    tests = v.pools["test", lang]
    count = rng.randint(12, 480)
    failed = rng.random() < 0.3
    rows = [
        f"{t} {'.' * rng.randint(3, 40)}{'F' if failed and i == 0 else ''}"
        f"{'.' * rng.randint(0, 9)}  [{min(100, (i + 1) * 100 // len(tests)):3d}%]"
        for i, t in enumerate(tests)
    ]
    head = (
        "============================= test session starts ==============================\n"
        f"platform linux -- Python 3.11.9, pytest-8.3.2, pluggy-1.5.0\nrootdir: {cwd}\n"
        f"configfile: pyproject.toml\ncollected {count} items\n\n"
    )
    if failed:
        tail = (
            f"\n\n{'=' * 35} FAILURES {'=' * 35}\n"
            f"{v.traceback(lang)}\n=========================== short test summary info "
            f"============================\nFAILED {tests[0]}::test_{v.word('func', lang)} - "
            f"{v.word('err', lang)}\n======================== 1 failed, {count - 1} passed in "
            f"{rng.uniform(0.4, 40):.2f}s ========================"
        )
    else:
        tail = f"\n\n======================== {count} passed in {rng.uniform(0.4, 40):.2f}s ======"
    command = "npm test" if lang == "ts" else f"pytest -q {rng.choice(tests)}"
    return command, "Run the tests", head + "\n".join(rows) + tail, failed


def _bash_git_status(v: _Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    files = sorted({v.word("file", lang) for _ in range(v.rng.randint(1, 5))})
    output = (
        f"On branch {branch or 'main'}\nChanges not staged for commit:\n"
        '  (use "git add <file>..." to update what will be committed)\n'
        + "\n".join(f"\tmodified:   {f}" for f in files)
        + '\n\nno changes added to commit (use "git add" and/or "git commit -a")'
    )
    return "git status", "Show working tree status", output, False


def _bash_git_diff(v: _Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    file = v.word("file", lang)
    body = "\n".join(v.rng.choice("+- ") + line for line in v.code(lang, 24).split("\n"))
    output = (
        f"diff --git a/{file} b/{file}\nindex {v.rng.getrandbits(28):07x}.."
        f"{v.rng.getrandbits(28):07x} 100644\n--- a/{file}\n+++ b/{file}\n"
        f"@@ -{v.rng.randint(1, 300)},12 +{v.rng.randint(1, 300)},14 @@\n{body}"
    )
    return f"git diff {file}", "Show the changes", output, False


def _bash_git_log(v: _Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    output = "\n".join(f"{v.rng.getrandbits(28):07x} {v.title(lang)}" for _ in range(10))
    return "git log --oneline -10", "Recent commits", output, False


def _bash_lint(v: _Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    file = v.word("file", lang)
    if lang == "ts":
        clean = v.rng.random() < 0.6
        out = "" if clean else f"{file}(12,7): error {v.word('err', lang)}\nFound 1 error."
        return "npx tsc --noEmit", "Type-check", out, not clean
    if v.rng.random() < 0.6:
        return (
            "ruff check . && mypy --strict store",
            "Lint and type-check",
            ("All checks passed!\nSuccess: no issues found in 14 source files"),
            False,
        )
    return (
        "mypy --strict store",
        "Type-check",
        (
            f"{file}:{v.rng.randint(5, 300)}: error: Incompatible return value type (got "
            '"str | None", expected "str")  [return-value]\nFound 1 error in 1 file '
            "(checked 14 source files)"
        ),
        True,
    )


def _bash_ls(v: _Vocab, lang: str, cwd: str, branch: str) -> BashResult:
    rows = [
        f"-rw-r--r--  1 dev dev {v.rng.randint(200, 40_000):6d} Mar  {v.rng.randint(1, 28):2d} "
        f"{v.rng.randint(0, 23):02d}:{v.rng.randint(0, 59):02d} {f}"
        for f in v.pools["file", lang]
        if v.rng.random() < 0.5
    ]
    return f"ls -la {cwd}", "List files", f"total {len(rows) * 8}\n" + "\n".join(rows), False


BASH_KINDS: tuple[Callable[[_Vocab, str, str, str], BashResult], ...] = (
    _bash_pytest,
    _bash_pytest,
    _bash_git_status,
    _bash_git_diff,
    _bash_git_log,
    _bash_lint,
    _bash_ls,
)


# ---------------------------------------------------------------------------------------------
# Claude Code transcripts

CLAUDE_VERSIONS = ("1.0.51", "2.0.65", "2.1.17", "2.1.42")
CLAUDE_MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-opus-4-6")
SUBAGENT_MODEL = "claude-haiku-4-5-20251001"
SLUG_WORDS = (
    "zippy",
    "wondering",
    "wadler",
    "shimmying",
    "sparking",
    "wall",
    "wiggly",
    "hugging",
    "lynx",
    "quiet",
    "orbit",
    "maple",
)
COMPACT_EVERY = 4_000
"""Lines between auto-compactions in very long sessions."""
ROUND_MAX = 8
"""Most lines one tool round writes (thinking, text, three calls, three results)."""


class _Claude:
    """Writes one Claude Code transcript (a session, or a sub-agent's sidechain)."""

    def __init__(
        self,
        world: _World,
        plan: _Plan,
        sink: _Sink,
        clock: _Clock,
        session_id: str,
        *,
        agent_id: str | None = None,
        model: str | None = None,
        version: str | None = None,
    ) -> None:
        rng = world.rng
        self.world, self.rng, self.vocab = world, rng, world.vocab
        self.plan, self.sink, self.clock = plan, sink, clock
        self.lang = plan.project.lang
        self.session_id = session_id
        self.agent_id = agent_id
        self.version = version or rng.choice(CLAUDE_VERSIONS)
        self.model = model or rng.choice(CLAUDE_MODELS)
        self.env: dict[str, Any] = {
            "isSidechain": agent_id is not None,
            "userType": "external",
            "cwd": plan.project.cwd,
            "sessionId": session_id,
            "version": self.version,
            "gitBranch": plan.branch,
        }
        if agent_id is not None:
            self.env["agentId"] = agent_id
        self.parent: str | None = None
        self.spawns = plan.spawns if agent_id is None else 0
        self.context = rng.randint(12_000, 30_000)

    @classmethod
    def top_level(cls, world: _World, plan: _Plan) -> None:
        sid = _uuid4(world.rng)
        folder = world.root / "claude" / "projects" / _encode_cwd(plan.project.cwd)
        sink = _Sink(folder / f"{sid}.jsonl", plan.budget)
        writer = cls(world, plan, sink, _Clock(world.rng, plan.start_ms), sid)
        writer.run_session()
        sink.close(writer.clock.ms)
        world.stats.add_file(sid, sink.lines, sink.size, subagent=False)

    # -- whole transcripts --

    def run_session(self) -> None:
        try:
            self._preamble()
            next_compact = COMPACT_EVERY
            while self.sink.left > 1:  # a turn needs a prompt and an answer
                self._turn()
                if self.sink.lines >= next_compact and self.sink.left > 10:
                    self._compact()
                    next_compact += COMPACT_EVERY
        except _Spent:
            pass

    def run_agent(self, prompt: str) -> None:
        """A sub-agent: one prompt from the parent, tool rounds, and a final report."""
        try:
            self._user({"role": "user", "content": prompt})
            while self.sink.left > ROUND_MAX + 2:
                self._round()
            self._final()
        except _Spent:
            pass

    def _preamble(self) -> None:
        if self.rng.random() < 0.2:
            # Summaries of earlier chains pile up at the top of a later session.
            for _ in range(self.rng.randint(1, 4)):
                self.sink.put(
                    {
                        "type": "summary",
                        "summary": self.vocab.title(self.lang),
                        "leafUuid": _uuid4(self.rng),
                    }
                )
        if self.version.startswith("2.1") and self.rng.random() < 0.5:
            self._line(
                "progress",
                {
                    "data": {
                        "type": "hook_progress",
                        "hookEvent": "SessionStart",
                        "hookName": "SessionStart:startup",
                        "command": "scripts/session-start.sh",
                    },
                    "parentToolUseID": _uuid4(self.rng),
                    "toolUseID": _uuid4(self.rng),
                },
                5,
                50,
            )

    # -- lines --

    def _line(
        self,
        kind: str,
        body: dict[str, Any],
        lo_ms: int,
        hi_ms: int,
        extra: dict[str, Any] | None = None,
        uid: str | None = None,
    ) -> str:
        """Write one conversation line (the envelope in Claude Code's key order)."""
        uid = uid or _uuid4(self.rng)
        obj = {
            "parentUuid": self.parent,
            **self.env,
            "type": kind,
            **body,
            "uuid": uid,
            "timestamp": self.clock.tick(lo_ms, hi_ms),
        }
        if extra:
            obj.update(extra)
        self.sink.put(obj)
        self.parent = uid
        return uid

    def _user(
        self,
        message: dict[str, Any],
        extra: dict[str, Any] | None = None,
        lo_ms: int = 20_000,
        hi_ms: int = 400_000,
        uid: str | None = None,
    ) -> str:
        return self._line("user", {"message": message}, lo_ms, hi_ms, extra, uid)

    def _assistant(self, mid: str, rid: str, block: dict[str, Any], *, last: bool = False) -> None:
        out = self.rng.randint(80, 1500) if last else self.rng.randint(1, 40)
        usage = {
            "input_tokens": self.rng.randint(1, 9),
            "cache_creation_input_tokens": self.rng.randint(0, 4000),
            "cache_read_input_tokens": self.context,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 0,
                "ephemeral_1h_input_tokens": self.rng.randint(0, 4000),
            },
            "output_tokens": out,
            "service_tier": "standard",
        }
        message = {
            "model": self.model,
            "id": mid,
            "type": "message",
            "role": "assistant",
            "content": [block],
            "stop_reason": "end_turn" if last else None,
            "stop_sequence": None,
            "usage": usage,
        }
        body = {"message": message, "requestId": rid}
        uid = _uuid4(self.rng)
        obj = {
            "parentUuid": self.parent,
            **self.env,
            **body,
            "type": "assistant",
            "uuid": uid,
            "timestamp": self.clock.tick(300, 9_000),
        }
        self.sink.put(obj)
        self.parent = uid

    # -- turns --

    def _turn(self) -> None:
        """A prompt, tool rounds while the budget allows, and a Markdown answer."""
        prompt_id = _uuid4(self.rng)
        if not self.version.startswith("1.") and self.sink.left > 3:
            self.sink.put(
                {
                    "type": "file-history-snapshot",
                    "messageId": prompt_id,
                    "snapshot": {
                        "messageId": prompt_id,
                        "trackedFileBackups": {},
                        "timestamp": _iso(self.clock.ms + 1),
                    },
                    "isSnapshotUpdate": False,
                }
            )
        extra = {"permissionMode": "default"} if not self.version.startswith("1.") else None
        self._user({"role": "user", "content": self.vocab.prompt(self.lang)}, extra, uid=prompt_id)
        for _ in range(min(14, int(self.rng.expovariate(1 / 3.0)))):
            if self.sink.left <= ROUND_MAX + 3:
                break
            self._round()
        self._final()
        if self.rng.random() < 0.25 and self.version >= "2.1":
            self._line(
                "system",
                {
                    "subtype": "turn_duration",
                    "durationMs": self.rng.randint(2_000, 600_000),
                    "isMeta": False,
                },
                5,
                200,
            )
        if "slug" not in self.env and self.version >= "2.0.65":
            self.env["slug"] = "-".join(self.rng.sample(SLUG_WORDS, 3))

    def _round(self) -> None:
        """One API message: maybe thinking and text, then tool calls, then their results."""
        mid, rid = f"msg_01{_token(self.rng, 22)}", f"req_011C{_token(self.rng, 20)}"
        self.context += self.rng.randint(200, 3000)
        if self.rng.random() < 0.3:
            self._assistant(
                mid,
                rid,
                {
                    "type": "thinking",
                    "thinking": self.vocab.thinking(self.lang),
                    "signature": self._signature(),
                },
            )
        if self.rng.random() < 0.5:
            self._assistant(mid, rid, {"type": "text", "text": self.vocab.interim(self.lang)})
        if self.spawns and self.rng.random() < 0.2 and self.sink.left > 40:
            self._task(mid, rid)
            return
        calls = []
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            action = self.vocab.action(self.lang, self.plan.project.cwd, self.plan.branch)
            tool_id = f"toolu_01{_token(self.rng, 22)}"
            self._assistant(
                mid,
                rid,
                {"type": "tool_use", "id": tool_id, "name": action.tool, "input": action.input},
            )
            calls.append((tool_id, action))
        for tool_id, action in calls:
            block = {
                "tool_use_id": tool_id,
                "type": "tool_result",
                "content": action.output,
                "is_error": action.failed,
            }
            self._user(
                {"role": "user", "content": [block]}, {"toolUseResult": action.result}, 50, 20_000
            )

    def _final(self) -> None:
        mid, rid = f"msg_01{_token(self.rng, 22)}", f"req_011C{_token(self.rng, 20)}"
        if self.rng.random() < 0.2 and self.sink.left > 1:
            self._assistant(
                mid,
                rid,
                {
                    "type": "thinking",
                    "thinking": self.vocab.thinking(self.lang),
                    "signature": self._signature(),
                },
            )
        self._assistant(mid, rid, {"type": "text", "text": self.vocab.answer(self.lang)}, last=True)

    def _signature(self) -> str:
        return base64.b64encode(self.rng.randbytes(self.rng.randint(180, 480))).decode()

    def _compact(self) -> None:
        """Auto-compaction: a boundary with a null parent, then the summary as a user line."""
        before = self.parent
        self.parent = None
        self._line(
            "system",
            {
                "subtype": "compact_boundary",
                "content": "Conversation compacted",
                "isMeta": False,
                "level": "info",
                "logicalParentUuid": before,
                "compactMetadata": {"trigger": "auto", "preTokens": self.context},
            },
            1_000,
            30_000,
        )
        summary = (
            "This session is being continued from a previous conversation that ran out "
            "of context. The conversation is summarized below:\n" + self.vocab.answer(self.lang)
        )
        self._user(
            {"role": "user", "content": summary},
            {"isCompactSummary": True, "isVisibleInTranscriptOnly": True},
            10,
            500,
        )
        self.context = self.rng.randint(12_000, 30_000)

    # -- sub-agents --

    def _task(self, mid: str, rid: str) -> None:
        """A Task call: the sub-agent's own file is written, then its report comes back."""
        self.spawns -= 1
        budget = min(self.sink.left // 3, max(16, int(self.rng.lognormvariate(3.6, 0.7))))
        tool_id = f"toolu_01{_token(self.rng, 22)}"
        prompt = f"{self.vocab.prompt(self.lang)}. Report what you find; do not edit files."
        task_input = {
            "description": self.vocab.title(self.lang),
            "prompt": prompt,
            "subagent_type": "Explore",
        }
        self._assistant(
            mid, rid, {"type": "tool_use", "id": tool_id, "name": "Task", "input": task_input}
        )
        started = self.clock.ms
        agent_id = "a" + f"{self.rng.getrandbits(64):016x}"
        report = self._spawn(agent_id, prompt, budget)
        content = [
            {"type": "text", "text": report},
            {
                "type": "text",
                "text": (
                    f"agentId: {agent_id} (for resuming to continue this agent's work if needed)"
                ),
            },
        ]
        result = {
            "status": "completed",
            "prompt": prompt,
            "agentId": agent_id,
            "content": content[:1],
            "totalDurationMs": self.clock.ms - started,
            "totalTokens": self.rng.randint(5_000, 90_000),
            "totalToolUseCount": budget // 3,
        }
        block = {"tool_use_id": tool_id, "type": "tool_result", "content": content}
        self._user({"role": "user", "content": [block]}, {"toolUseResult": result}, 100, 3_000)

    def _spawn(self, agent_id: str, prompt: str, budget: int) -> str:
        """Write the sub-agent's file from this session's budget; returns its final report."""
        folder = self.sink.path.with_suffix("") / "subagents"
        sink = _Sink(folder / f"agent-{agent_id}.jsonl", budget)
        self.sink.left -= budget
        child = _Claude(
            self.world,
            self.plan,
            sink,
            _Clock(self.rng, self.clock.ms),
            self.session_id,
            agent_id=agent_id,
            model=SUBAGENT_MODEL,
            version=self.version,
        )
        child.run_agent(prompt)
        self.sink.left += sink.left  # lines the child did not use go back to the parent
        sink.close(child.clock.ms)
        self.clock.ms = child.clock.ms
        key = f"{self.session_id}#agent-{agent_id}"
        self.world.stats.add_file(key, sink.lines, sink.size, subagent=True)
        return self.vocab.answer(self.lang)


# ---------------------------------------------------------------------------------------------
# Codex CLI rollouts

CODEX_VERSIONS = ("0.47.0", "0.63.0", "0.77.0", "0.98.0")
CODEX_MODELS = ("gpt-5-codex", "gpt-5.1-codex-max", "gpt-5.2-codex")
CODEX_ROUND_MAX = 6
"""Most lines one Codex round writes (a spawn: call, event, output, wait, event, output)."""


class _Codex:
    """Writes one Codex rollout file (a thread, or a spawned sub-agent thread)."""

    def __init__(
        self,
        world: _World,
        plan: _Plan,
        sink: _Sink,
        clock: _Clock,
        thread_id: str,
        *,
        parent_meta: dict[str, Any] | None = None,
    ) -> None:
        rng = world.rng
        self.world, self.rng, self.vocab = world, rng, world.vocab
        self.plan, self.sink, self.clock = plan, sink, clock
        self.lang, self.cwd = plan.project.lang, plan.project.cwd
        self.thread_id = thread_id
        self.version = rng.choice(CODEX_VERSIONS)
        self.model = rng.choice(CODEX_MODELS)
        self.parent_meta = parent_meta
        self.spawns = plan.spawns if parent_meta is None else 0
        self.totals = {
            "input_tokens": 0,
            "cached_input_tokens": 0,
            "output_tokens": 0,
            "reasoning_output_tokens": 0,
            "total_tokens": 0,
        }
        self.meta: dict[str, Any] = {}

    @classmethod
    def top_level(cls, world: _World, plan: _Plan) -> None:
        tid = _uuid7(world.rng, plan.start_ms)
        sink = _Sink(_rollout_path(world.root, plan.start_ms, tid), plan.budget)
        writer = cls(world, plan, sink, _Clock(world.rng, plan.start_ms), tid)
        writer.run()
        sink.close(writer.clock.ms)
        world.stats.add_file(tid, sink.lines, sink.size, subagent=False)

    def run(self, first_prompt: str | None = None) -> None:
        try:
            self._session_meta()
            if self.parent_meta is not None:
                # A spawned thread's file repeats the parent's session_meta after its own.
                self._put("session_meta", self.parent_meta)
            self._context_messages()
            prompt = first_prompt
            while self.sink.left > 2:
                self._turn(prompt or self.vocab.prompt(self.lang))
                prompt = None
        except _Spent:
            pass

    # -- lines --

    def _put(self, kind: str, payload: dict[str, Any], lo_ms: int = 5, hi_ms: int = 400) -> None:
        self.sink.put(
            {"timestamp": self.clock.tick(lo_ms, hi_ms), "type": kind, "payload": payload}
        )

    def _item(self, payload: dict[str, Any], lo_ms: int = 5, hi_ms: int = 400) -> None:
        self._put("response_item", payload, lo_ms, hi_ms)

    def _event(self, payload: dict[str, Any], lo_ms: int = 1, hi_ms: int = 60) -> None:
        self._put("event_msg", payload, lo_ms, hi_ms)

    def _message(self, role: str, text: str, lo_ms: int = 5, hi_ms: int = 400) -> None:
        kind = "output_text" if role == "assistant" else "input_text"
        self._item(
            {"type": "message", "role": role, "content": [{"type": kind, "text": text}]},
            lo_ms,
            hi_ms,
        )

    # -- session start --

    def _session_meta(self) -> None:
        source: Any = "cli"
        if self.parent_meta is not None:
            source = {
                "subagent": {
                    "thread_spawn": {
                        "parent_thread_id": self.parent_meta["id"],
                        "depth": 1,
                        "agent_role": "explorer",
                    }
                }
            }
        self.meta = {
            "id": self.thread_id,
            "timestamp": _iso(self.clock.ms),
            "cwd": self.cwd,
            "originator": "codex_cli_rs",
            "cli_version": self.version,
            "instructions": None,
            "source": source,
            "model_provider": "openai",
            "git": {
                "commit_hash": f"{self.rng.getrandbits(160):040x}",
                "branch": self.plan.branch or "main",
                "repository_url": f"git@github.com:acme/{self.plan.project.repo}.git",
            },
        }
        self._put("session_meta", self.meta, 1, 20)

    def _context_messages(self) -> None:
        if self.rng.random() < 0.5:
            self._message(
                "user",
                f"# AGENTS.md instructions for {self.cwd}\n\n<INSTRUCTIONS>\n"
                "- Run the tests before you say you are done.\n- Keep functions short."
                "\n- Never commit secrets.\n</INSTRUCTIONS>",
                1,
                5,
            )
        self._message(
            "user",
            f"<environment_context>\n  <cwd>{self.cwd}</cwd>\n"
            "  <approval_policy>on-request</approval_policy>\n"
            "  <sandbox_mode>workspace-write</sandbox_mode>\n"
            "  <network_access>restricted</network_access>\n  <shell>bash</shell>\n"
            "</environment_context>",
            1,
            5,
        )

    # -- turns --

    def _turn(self, prompt: str) -> None:
        turn_id = _uuid7(self.rng, self.clock.ms)
        self._message("user", prompt, 20_000, 400_000)
        self._event({"type": "user_message", "message": prompt, "images": []})
        self._put(
            "turn_context",
            {
                "turn_id": turn_id,
                "cwd": self.cwd,
                "approval_policy": "on-request",
                "sandbox_policy": {"type": "workspace-write", "network_access": False},
                "model": self.model,
                "effort": "medium",
                "summary": "auto",
            },
        )
        self._event({"type": "task_started", "turn_id": turn_id, "model_context_window": 258_400})
        for _ in range(min(14, int(self.rng.expovariate(1 / 3.0)))):
            if self.sink.left <= CODEX_ROUND_MAX + 4:
                break
            self._round()
        answer = self.vocab.answer(self.lang)
        self._event({"type": "agent_message", "message": answer}, 300, 9_000)
        self._message("assistant", answer, 1, 20)
        self._token_count()
        self._event({"type": "task_complete", "turn_id": turn_id, "last_agent_message": answer})

    def _round(self) -> None:
        if self.rng.random() < 0.6:
            self._reasoning()
        if self.spawns and self.rng.random() < 0.2 and self.sink.left > 40:
            self._spawn()
            return
        action = self.vocab.action(self.lang, self.cwd, self.plan.branch)
        call_id = f"call_{_token(self.rng, 24)}"
        if action.patch:
            self._item(
                {
                    "type": "custom_tool_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": "apply_patch",
                    "input": action.shell,
                },
                300,
                9_000,
            )
            self._token_count()
            self._item(
                {
                    "type": "custom_tool_call_output",
                    "call_id": call_id,
                    "output": self._output(action.shell_output, False),
                },
                20,
                2_000,
            )
            return
        self._call(
            call_id,
            "shell",
            {"command": ["bash", "-lc", action.shell], "workdir": self.cwd, "timeout_ms": 120_000},
        )
        self._token_count()
        self._item(
            {
                "type": "function_call_output",
                "call_id": call_id,
                "output": self._output(action.shell_output, action.failed),
            },
            20,
            20_000,
        )

    def _call(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        self._item(
            {
                "type": "function_call",
                "name": name,
                "arguments": orjson.dumps(arguments).decode(),
                "call_id": call_id,
            },
            300,
            9_000,
        )

    def _output(self, text: str, failed: bool) -> str:
        """A tool output as this CLI version wrote it: JSON in a string (old) or plain text."""
        code = 1 if failed else 0
        seconds = round(self.rng.uniform(0.0, 4.0), 1)
        if self.version < "0.6":
            return orjson.dumps(
                {"output": text, "metadata": {"exit_code": code, "duration_seconds": seconds}}
            ).decode()
        return f"Exit code: {code}\nWall time: {seconds} seconds\nOutput:\n{text}"

    def _reasoning(self) -> None:
        summary = self.vocab.thinking(self.lang)
        self._event({"type": "agent_reasoning", "text": summary}, 300, 9_000)
        secret = base64.urlsafe_b64encode(self.rng.randbytes(self.rng.randint(300, 1100)))
        self._item(
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": summary}],
                "content": None,
                "encrypted_content": "gAAAAAB" + secret.decode(),
            },
            1,
            20,
        )

    def _token_count(self) -> None:
        last = {
            "input_tokens": self.rng.randint(2_000, 40_000),
            "cached_input_tokens": self.rng.randint(0, 30_000),
            "output_tokens": self.rng.randint(20, 900),
            "reasoning_output_tokens": 64,
        }
        last["total_tokens"] = last["input_tokens"] + last["output_tokens"]
        for key, value in last.items():
            self.totals[key] += value
        self._event(
            {
                "type": "token_count",
                "info": {
                    "total_token_usage": dict(self.totals),
                    "last_token_usage": last,
                    "model_context_window": 258_400,
                },
                "rate_limits": {
                    "primary": {
                        "used_percent": round(self.rng.uniform(0, 90), 1),
                        "window_minutes": 300,
                    },
                    "secondary": {
                        "used_percent": round(self.rng.uniform(0, 60), 1),
                        "window_minutes": 10_080,
                    },
                },
            }
        )

    # -- sub-agents --

    def _spawn(self) -> None:
        """spawn_agent, the child's own rollout, then wait_agent with the child's answer."""
        self.spawns -= 1
        budget = min(self.sink.left // 3, max(16, int(self.rng.lognormvariate(3.6, 0.7))))
        prompt = f"{self.vocab.prompt(self.lang)}. Report back; do not edit files."
        spawn_id, wait_id = f"call_{_token(self.rng, 24)}", f"call_{_token(self.rng, 24)}"
        self._call(spawn_id, "spawn_agent", {"agent_type": "explorer", "message": prompt})
        child_id = _uuid7(self.rng, self.clock.ms)
        self._event(
            {
                "type": "collab_agent_spawn_end",
                "call_id": spawn_id,
                "new_thread_id": child_id,
                "new_agent_role": "explorer",
            }
        )
        self._item(
            {
                "type": "function_call_output",
                "call_id": spawn_id,
                "output": orjson.dumps({"agent_id": child_id}).decode(),
            },
            5,
            50,
        )
        self._child(child_id, prompt, budget)
        self._call(wait_id, "wait_agent", {"targets": [child_id]})
        self._event(
            {
                "type": "collab_waiting_end",
                "call_id": wait_id,
                "agent_statuses": [{"thread_id": child_id, "agent_role": "explorer"}],
            }
        )
        self._item(
            {
                "type": "function_call_output",
                "call_id": wait_id,
                "output": self.vocab.answer(self.lang),
            },
            5,
            50,
        )

    def _child(self, child_id: str, prompt: str, budget: int) -> None:
        sink = _Sink(_rollout_path(self.world.root, self.clock.ms, child_id), budget)
        self.sink.left -= budget
        child = _Codex(
            self.world,
            self.plan,
            sink,
            _Clock(self.rng, self.clock.ms),
            child_id,
            parent_meta=self.meta,
        )
        child.run(first_prompt=prompt)
        self.sink.left += sink.left
        sink.close(child.clock.ms)
        self.clock.ms = child.clock.ms
        self.world.stats.add_file(child_id, sink.lines, sink.size, subagent=True)


def _rollout_path(root: Path, start_ms: int, thread_id: str) -> Path:
    """`sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<id>.jsonl` (UTC here, for determinism;
    Codex itself uses local time in the name)."""
    t = time.gmtime(start_ms // 1000)
    day = time.strftime("%Y/%m/%d", t)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", t)
    return root / "codex" / "sessions" / day / f"rollout-{stamp}-{thread_id}.jsonl"
