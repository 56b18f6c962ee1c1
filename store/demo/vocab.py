"""The demo corpus's vocabulary: word lists and the pools of plausible coding-session text."""

from __future__ import annotations

import random
from collections.abc import Sequence

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

    def __init__(self, vocab: Vocab, lang: str) -> None:
        self.vocab = vocab
        self.lang = lang

    def __getitem__(self, key: str) -> str:
        return self.vocab.word(key, self.lang)


class Vocab:
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
