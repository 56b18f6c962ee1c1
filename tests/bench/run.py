"""`make bench`: convo's speed and memory targets, each as a ratio against a baseline measured in
the same run (machines are shared and noisy; ratios hold where absolute numbers move ±30%).

    .venv/bin/python -m tests.bench.run [--preset small|medium|large] [--seed 7]
                                        [--out bench-results/bench.json] [--only NAME,...]
                                        [--repeat N] [--no-ccl] [--keep]

A seeded corpus (`store.demo.corpus`) is generated into a temporary folder, then every metric in
`METRICS` runs in order and adds rows to the report: a table on stdout (metric, value, baseline,
ratio, target, PASS/MISSED) and a JSON file with the machine, preset, seed and time. The exit
status is 0 even when a target is missed: this is a report, not a test.

Metrics today:

1. `ingest`: first ingest through `store.ingest.driver.Ingester` (parsing included) into a fresh
   store,
   messages/s, against raw `sqlite3.executemany` of the same message and part rows (parsed and
   compressed beforehand, seq and ids assigned by Python) into a fresh file with the same schema
   and pragmas, committed in the same chunks. Target >= 0.5.
2. `pages`: `store.pages.messages_after` (200 rows) at the last page of the largest session
   against its first page. Target <= 2x.
3. `reingest`: ingest of the unchanged corpus again, against the first ingest. Target < 2%.
4. `memory`: peak RSS of the first ingest (a child process), and both against claude-code-log's
   cache build on the Claude part of the corpus when its PyPI package installs into a throwaway
   venv (`/tmp/convo-bench-ccl`, or `$CONVO_BENCH_CCL_VENV`). Targets: convo >= 10x its
   lines/s and <= 0.5x its peak RSS. Skipped, with the reason, when it cannot run.

5. `app` (tests/bench/tui_metrics.py): the Textual app, headless, on the first ingest's store:
   first frame with sessions shown vs an empty Textual app's first frame (<= 2x); opening the
   largest session and showing its last page vs the same for a ~20-message session (<= 2x); peak
   RSS while paging through the largest session to its end vs after opening it (< 1.5x).

6. `search_index`, `search_latency`, `search_cli` (tests/bench/search_bench.py): first ingest
   with the full-text index vs with `CONVO_FTS=off` (>= 0.8, alternated runs); the index's size
   (FTS5 shadow tables by `dbstat`) vs the indexed text (<= 0.4); in-process p50/p99 of a rare
   word, the commonest word, a phrase and a filtered query (reported); `convo search` wall time
   for a rare word (<= 1.3x), the commonest word and the same with `--agent` (<= 2x) vs
   `convo sessions --limit 1` on the same store. `questions`: questions written from
   tests/fixtures' prompts find the prompt in the top 5 for >= 90% of them
   (tests/bench/questions.py; also a test). The 1M-message numbers: `--preset large`.
7. `repair` (tests/bench/repair_bench.py): the renumber job under load, `check` vs `quick_check`.
   `deep_check` (tests/bench/deep_bench.py): `check --deep` against `integrity_check` alone on
   the same kind of store with a raw record in every message (reported), and the deep steps
   alone (`integrity_check` + every record decompressed) within 3x `integrity_check`.

Adding a metric (start-up time, transcript paging, repair speed...): write a function that takes
the `Bench` (the corpus, its stats, a work folder, the cached first ingest) and returns a list of
`Result`s, and append it to `METRICS` (or decorate it with `@metric`). Build rows with
`Result.ratio_row(...)` so the PASS/MISSED logic stays in one place. A metric that raises is
reported as an error row; the others still run. Use `Bench.median(fn)` for cheap repeated timings
and `run_measured(cmd)` for anything whose peak memory matters (it runs in a child process).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = Path("bench-results/bench.json")
CCL_VENV = Path(os.environ.get("CONVO_BENCH_CCL_VENV", "/tmp/convo-bench-ccl"))
CCL_TIMEOUT_S = 1800
PAGE_SIZE = 200
PAGE_REPEATS = 40


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Result:
    """One row of the report."""

    metric: str
    value: float | None
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    """True PASS, False MISSED, None: reported only (or skipped)."""
    unit: str = ""
    note: str = ""

    @classmethod
    def ratio_row(
        cls,
        metric: str,
        value: float,
        baseline: float,
        *,
        target_op: str,
        bound: float,
        unit: str = "",
        note: str = "",
    ) -> Result:
        """A row whose ratio value/baseline is checked against `target_op bound`."""
        ratio = value / baseline if baseline else float("inf")
        checks = {">=": ratio >= bound, "<=": ratio <= bound, "<": ratio < bound}
        return cls(
            metric, value, baseline, ratio, f"{target_op} {bound:g}", checks[target_op], unit, note
        )

    @classmethod
    def skipped(cls, metric: str, reason: str) -> Result:
        return cls(metric, None, note=f"skipped: {reason}")

    @property
    def verdict(self) -> str:
        if self.ok is None:
            if self.note.startswith("error"):
                return "ERROR"
            return "SKIPPED" if self.note.startswith("skipped") else "-"
        return "PASS" if self.ok else "MISSED"


# ---------------------------------------------------------------------------------------------
# The run's shared state


@dataclass
class IngestRun:
    """What the ingest child reported about one first ingest (and its re-ingest)."""

    db: Path
    seconds: float
    messages: int
    again_seconds: float
    again_added: int
    maxrss_kb: int
    rss_after_imports_kb: int
    report: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


@dataclass
class Bench:
    """The corpus under test and what metrics share (the first ingest runs once)."""

    preset: str
    seed: int
    work: Path
    repeat: int
    use_ccl: bool
    stats: Any = None
    """`store.demo.common.CorpusStats` of the generated corpus."""
    runs: list[IngestRun] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form details metrics want in the JSON file."""

    @property
    def corpus(self) -> Path:
        return self.work / "corpus"

    def ingested(self) -> IngestRun:
        """The median first ingest (running `repeat` of them on first use)."""
        if not self.runs:
            for i in range(self.repeat):
                self.runs.append(ingest_in_child(self.corpus, self.work / f"convo-{i}.db"))
        return sorted(self.runs, key=lambda r: r.seconds)[len(self.runs) // 2]

    @staticmethod
    def median(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
        """Median wall time of `fn()` in seconds, after `warmup` untimed calls."""
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)


Metric = Callable[[Bench], list[Result]]
METRICS: list[Metric] = []
"""Run in order; later metrics may use what earlier ones cached on the `Bench`."""


def metric(fn: Metric) -> Metric:
    """Register a metric function (appended to `METRICS`)."""
    METRICS.append(fn)
    return fn


# ---------------------------------------------------------------------------------------------
# Child processes


def run_measured(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float | None = None
) -> tuple[float, int, str, int]:
    """Run `cmd`; returns (wall seconds, the child's own peak RSS in KB, stdout, exit status).

    The child is reaped with `wait4`, so its rusage is its own (RUSAGE_CHILDREN would be the
    largest of every child so far). Output goes to files, so a chatty child cannot block.

    Raises:
        subprocess.TimeoutExpired: the child ran past `timeout` (it is killed first).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        status, maxrss = _reap(proc, start, timeout)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        if status != 0:
            text += err.read().decode(errors="replace")
    return seconds, maxrss, text, status


def _reap(proc: subprocess.Popen[bytes], start: float, timeout: float | None) -> tuple[int, int]:
    """Wait for `proc` with `wait4`; returns (exit status, peak RSS KB)."""
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not reap it again
            return proc.returncode, int(usage.ru_maxrss)
        if timeout is not None and time.perf_counter() - start > timeout:
            proc.kill()
            os.wait4(proc.pid, 0)
            proc.returncode = -9
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.05)


def ingest_in_child(corpus: Path, db: Path, env: dict[str, str] | None = None) -> IngestRun:
    """A first ingest and an immediate re-ingest, in a fresh process (clean peak RSS); `env` is
    added to this process's environment (`CONVO_FTS=off`: a store without the search index)."""
    cmd = [sys.executable, "-m", "tests.bench.run", "--ingest-child", str(corpus), str(db)]
    _seconds, maxrss, out, status = run_measured(cmd, env={**os.environ, **(env or {})})
    if status != 0:
        raise RuntimeError(f"ingest child failed ({status}): {out[-500:]}")
    data = json.loads(out.strip().splitlines()[-1])
    return IngestRun(db=db, maxrss_kb=maxrss, **data)


def _ingest_child(corpus: Path, db: Path) -> None:
    """Body of the ingest child: prints one JSON line for `ingest_in_child`."""
    from store import db as store_db
    from store.ingest.driver import Ingester

    store_db.open_store(db)
    rss = _rss_kb()
    start = time.perf_counter()
    report = Ingester().run([corpus])
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    again = Ingester().run([corpus])
    again_seconds = time.perf_counter() - start
    store_db.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "messages": report.messages_added,
                "again_seconds": again_seconds,
                "again_added": again.messages_added,
                "rss_after_imports_kb": rss,
                "report": report.to_json(),
            }
        )
    )


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------------------------
# 1. Ingest throughput vs raw executemany


@metric
def ingest_throughput(b: Bench) -> list[Result]:
    run = b.ingested()
    raw = [raw_insert_rate(b.corpus, b.work / f"raw-{i}.db") for i in range(b.repeat)]
    baseline = statistics.median(raw)
    b.extra["raw_insert_rates"] = raw
    b.extra["ingest_rates"] = [r.rate for r in b.runs]
    return [
        Result.ratio_row(
            "ingest msg/s vs raw executemany",
            run.rate,
            baseline,
            target_op=">=",
            bound=0.5,
            unit="msg/s",
            note=f"{run.messages:,} msgs in {run.seconds:.1f}s",
        )
    ]


@dataclass
class _RawRows:
    """Rows for the raw baseline, with ids and seq assigned in Python."""

    messages: list[tuple[Any, ...]] = field(default_factory=list)
    parts: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[tuple[Any, ...]] = field(default_factory=list)
    sources: list[tuple[Any, ...]] = field(default_factory=list)


class _RawIds:
    def __init__(self) -> None:
        self.message = 0
        self.source = 0
        self.sessions: dict[str, int] = {}
        self.seq: dict[int, int] = {}


def raw_insert_rate(corpus: Path, db: Path) -> float:
    """Messages/s of plain `executemany` of the rows convo would store (insert time only)."""
    from store import db as store_db

    store_db.open_store(db)  # the same schema, created by the app
    store_db.close()
    conn = sqlite3.connect(db, isolation_level=None)
    for name, value in store_db.PRAGMAS.items():
        conn.execute(f"PRAGMA {name} = {value}")
    ids, total, seconds = _RawIds(), 0, 0.0
    for path in sorted(_jsonl_files(corpus)):
        for rows in _raw_chunks(path, ids):
            seconds += _insert_chunk(conn, rows)
            total += len(rows.messages)
    conn.close()
    return total / seconds


def _jsonl_files(corpus: Path) -> Iterator[Path]:
    from store.ingest.locate import discover

    return discover([corpus])


def _raw_chunks(path: Path, ids: _RawIds) -> Iterator[_RawRows]:
    """Parse a file with convo's own parser, a chunk at a time, as the ingester does."""
    from store.ingest.parsers.registry import PARSERS
    from store.ingest.reading import CHUNK_LINES, sniff_agent
    from store.records import ParseState

    with path.open("rb") as fh:
        agent = sniff_agent(fh)
        fh.seek(0)
        if agent is None:
            return
        ids.source += 1
        state = ParseState(str(path))
        lines = [(n, line.rstrip(b"\n")) for n, line in enumerate(fh, 1)]
    for start in range(0, len(lines), CHUNK_LINES):
        records = PARSERS[agent](lines[start : start + CHUNK_LINES], state)
        yield _rows(records, agent, ids, str(path) if start == 0 else None)


def _rows(records: Any, agent: str, ids: _RawIds, source_path: str | None) -> _RawRows:
    from store.append import compress
    from store.records import MessageRecord, SessionInfo

    rows = _RawRows()
    if source_path is not None:
        rows.sources.append((ids.source, source_path, agent))
    for rec in records:
        if isinstance(rec, SessionInfo):
            _raw_session(rec.parent_key, agent, ids, rows, None)
            _raw_session(rec.session_key, agent, ids, rows, rec)
        elif isinstance(rec, MessageRecord):
            sid = _raw_session(rec.session_key, agent, ids, rows, None)
            ids.message += 1
            ids.seq[sid] = seq = ids.seq.get(sid, 0) + 1
            rows.messages.append(
                (
                    ids.message,
                    sid,
                    seq,
                    rec.stable_id,
                    rec.native_id,
                    rec.group_id,
                    rec.role,
                    rec.kind,
                    rec.line_type,
                    rec.timestamp,
                    rec.model,
                    rec.tokens_in,
                    rec.tokens_out,
                    rec.text,
                    rec.hidden,
                    0,
                    ids.source,
                    rec.line,
                    compress(rec.raw),
                )
            )
            single = len(rec.parts) == 1
            rows.parts.extend(
                (
                    ids.message,
                    i,
                    p.type,
                    None if single and p.text == rec.text else p.text,
                    p.tool_name,
                    p.tool_id,
                    p.is_error,
                )
                for i, p in enumerate(rec.parts)
            )
    return rows


def _raw_session(key: str | None, agent: str, ids: _RawIds, rows: _RawRows, info: Any) -> int:
    """The session's id, adding its row on first sight (later facts are not merged: the
    baseline is an upper bound, so it does less work, never more)."""
    from store.records import SessionInfo

    if key is None:
        return 0
    found = ids.sessions.get(key)
    if found is None:
        found = ids.sessions[key] = len(ids.sessions) + 1
        facts: SessionInfo = info if info is not None else SessionInfo(session_key=key)
        parent = ids.sessions.get(facts.parent_key) if facts.parent_key else None
        rows.sessions.append(
            (
                found,
                agent,
                key,
                parent,
                ids.source,
                facts.project,
                facts.title,
                facts.first_prompt,
                facts.git_branch,
                facts.model,
                facts.started_at,
            )
        )
    return found


RAW_MESSAGE_SQL = (
    "INSERT INTO message (id, session_id, seq, stable_id, native_id, group_id, role, kind, "
    "line_type, timestamp, model, tokens_in, tokens_out, text, hidden, stale, source_id, line, "
    "raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
RAW_PART_SQL = (
    "INSERT INTO part (message_id, idx, type, text, tool_name, tool_id, is_error) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
RAW_SESSION_SQL = (
    "INSERT INTO session (id, agent, native_id, parent_id, source_id, project, title, "
    "first_prompt, git_branch, model, started_at, updated_at, message_count) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)"
)
RAW_SOURCE_SQL = (
    'INSERT INTO source (id, path, agent, size, mtime_ns, "offset", head_len, lines, lines_ok, '
    "lines_bad, lines_unknown, lines_dup, state) VALUES (?, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}')"
)


def _insert_chunk(conn: sqlite3.Connection, rows: _RawRows) -> float:
    """One transaction, as the ingester commits one chunk; returns its wall time."""
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(RAW_SOURCE_SQL, rows.sources)
    conn.executemany(RAW_SESSION_SQL, rows.sessions)
    conn.executemany(RAW_MESSAGE_SQL, rows.messages)
    conn.executemany(RAW_PART_SQL, rows.parts)
    conn.execute("COMMIT")
    return time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# 2. Keyset pages: last page of the largest session vs its first


@metric
def keyset_pages(b: Bench) -> list[Result]:
    from store import db as store_db
    from store import pages

    run = b.ingested()
    store_db.open_store(run.db, migrate=False)
    try:
        native, lines = b.stats.largest_session
        session = pages.session(native)
        with store_db.reading() as conn:
            row = conn.execute(
                "SELECT seq FROM message WHERE session_id = ? AND hidden = 0 AND stale = 0 "
                "AND kind NOT IN ('meta', 'event') ORDER BY seq DESC LIMIT 1 OFFSET ?",
                (session.id, PAGE_SIZE),
            ).fetchone()
        last_after = int(row[0]) if row else 0
        first = b.median(lambda: pages.messages_after(session.id, 0, PAGE_SIZE), PAGE_REPEATS)
        last = b.median(
            lambda: pages.messages_after(session.id, last_after, PAGE_SIZE), PAGE_REPEATS
        )
    finally:
        store_db.close()
    return [
        Result.ratio_row(
            "page: last vs first (200 rows)",
            last * 1000,
            first * 1000,
            target_op="<=",
            bound=2.0,
            unit="ms",
            note=f"session of {lines:,} lines",
        )
    ]


# ---------------------------------------------------------------------------------------------
# 3. Re-ingest of the unchanged corpus


@metric
def reingest(b: Bench) -> list[Result]:
    run = b.ingested()
    note = f"added {run.again_added}" + ("" if b.preset == "large" else "; target is for large")
    return [
        Result.ratio_row(
            "re-ingest vs first ingest",
            run.again_seconds,
            run.seconds,
            target_op="<",
            bound=0.02,
            unit="s",
            note=note,
        )
    ]


# ---------------------------------------------------------------------------------------------
# 4. Peak memory, and claude-code-log's cache build


@metric
def memory(b: Bench) -> list[Result]:
    run = b.ingested()
    peak_mb = run.maxrss_kb / 1024
    rows = [
        Result(
            "ingest peak RSS",
            peak_mb,
            unit="MB",
            note=f"{run.rss_after_imports_kb / 1024:.0f} MB after imports",
        )
    ]
    if not b.use_ccl:
        return [*rows, Result.skipped("claude-code-log comparison", "--no-ccl")]
    ccl = _ccl_run(b)
    if isinstance(ccl, str):
        return [*rows, Result.skipped("claude-code-log comparison", ccl)]
    seconds, maxrss_kb, lines = ccl
    b.extra["claude_code_log"] = {"seconds": seconds, "maxrss_kb": maxrss_kb, "lines": lines}
    note = "ccl: Claude part only; convo: whole corpus"
    return [
        *rows,
        Result.ratio_row(
            "throughput vs claude-code-log",
            run.rate,
            lines / seconds,
            target_op=">=",
            bound=10,
            unit="lines/s",
            note=note,
        ),
        Result.ratio_row(
            "peak RSS vs claude-code-log",
            peak_mb,
            maxrss_kb / 1024,
            target_op="<=",
            bound=0.5,
            unit="MB",
            note=note,
        ),
    ]


CCL_SCRIPT = """
import json, sys, time
from pathlib import Path
from claude_code_log.cache import CacheManager, get_library_version
from claude_code_log.converter import ensure_fresh_cache
projects = Path(sys.argv[1])
version = get_library_version()
start = time.perf_counter()
for folder in sorted(p for p in projects.iterdir() if p.is_dir()):
    ensure_fresh_cache(folder, CacheManager(folder, version), silent=True)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def _ccl_run(b: Bench) -> tuple[float, int, int] | str:
    """(cache-build seconds, peak RSS KB, lines) of claude-code-log, or why it could not run."""
    python = _ccl_python()
    if isinstance(python, str):
        return python
    projects = b.corpus / "claude" / "projects"
    env = {**os.environ, "CLAUDE_CODE_LOG_CACHE_PATH": str(b.work / "ccl-cache.db")}
    try:
        _wall, maxrss, out, status = run_measured(
            [str(python), "-c", CCL_SCRIPT, str(projects)], env=env, timeout=CCL_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return f"its cache build ran past {CCL_TIMEOUT_S}s"
    if status != 0:
        return f"it failed (exit {status}): {out.strip()[-200:]}"
    seconds = json.loads(out.strip().splitlines()[-1])["seconds"]
    lines = sum(p.read_bytes().count(b"\n") for p in projects.rglob("*.jsonl"))
    return seconds, maxrss, lines


def _ccl_python() -> Path | str:
    """The throwaway venv's python with claude-code-log installed, or why there is none."""
    python = CCL_VENV / "bin" / "python"
    if python.exists() and _has_ccl(python):
        return python
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(CCL_VENV)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "claude-code-log",
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as err:
        return f"cannot install claude-code-log into {CCL_VENV}: {type(err).__name__}"
    return python if _has_ccl(python) else "claude-code-log installed but does not import"


def _has_ccl(python: Path) -> bool:
    probe = subprocess.run(
        [str(python), "-c", "import claude_code_log.converter"], capture_output=True, timeout=120
    )
    return probe.returncode == 0


# ---------------------------------------------------------------------------------------------
# Report


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), None
            )
        with open("/proc/meminfo") as fh:
            info["mem_total_kb"] = int(fh.readline().split()[1])
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    )
    info["commit"] = commit.stdout.strip() or None
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", "store", "tests/bench"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    info["dirty"] = bool(status.stdout.strip())  # numbers of uncommitted code
    return info


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def print_table(results: Sequence[Result]) -> None:
    header = ("metric", "value", "baseline", "ratio", "target", "result")
    rows = [
        (
            r.metric,
            f"{_fmt(r.value)} {r.unit}".strip(),
            _fmt(r.baseline),
            _fmt(r.ratio),
            r.target or "-",
            r.verdict,
        )
        for r in results
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
    for r in results:
        if r.note:
            print(f"  [{r.metric}] {r.note}")
    missed = [r.metric for r in results if r.ok is False]
    print(f"\nMISSED: {', '.join(missed)}" if missed else "\nAll targets met.")


def write_json(out: Path, b: Bench, results: Sequence[Result], started: float) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "preset": b.preset,
        "seed": b.seed,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": machine(),
        "corpus": asdict(b.stats),
        "results": [asdict(r) | {"verdict": r.verdict} for r in results],
        "ingest_runs": [asdict(r) | {"db": str(r.db)} for r in b.runs],
        "extra": b.extra,
    }
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")


# ---------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tests.bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", default="medium", choices=["demo", "small", "medium", "large"])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--only", default="", help="comma-separated metric function names")
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="first ingests to take the median of (default: 3 at small, else 1)",
    )
    p.add_argument("--no-ccl", action="store_true", help="skip the claude-code-log comparison")
    p.add_argument("--workdir", type=Path, default=None, help="where the corpus and stores go")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--ingest-child", nargs=2, metavar=("CORPUS", "DB"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.ingest_child:
        _ingest_child(Path(args.ingest_child[0]), Path(args.ingest_child[1]))
        return 0
    from store import logs
    from store.demo import corpus

    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="convo-bench-", dir=args.workdir))
    os.environ["CONVO_LOG"] = str(work / "convo.log")  # keep the user's log file clean
    logs.setup(work / "convo.log")
    repeat = args.repeat or (3 if args.preset in ("demo", "small") else 1)
    b = Bench(args.preset, args.seed, work, repeat, not args.no_ccl)
    try:
        t0 = time.perf_counter()
        b.stats = corpus.generate(b.corpus, preset=args.preset, seed=args.seed)
        print(
            f"corpus {args.preset}/seed {args.seed}: {b.stats.messages:,} lines, "
            f"{b.stats.files:,} files, {b.stats.bytes / 1e6:,.0f} MB, largest session "
            f"{b.stats.largest_session[1]:,} lines ({time.perf_counter() - t0:.1f}s)\n"
        )
        results = run_metrics(b, [n for n in args.only.split(",") if n])
        print_table(results)
        write_json(args.out, b, results, started)
        print(f"\nwritten {args.out}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def run_metrics(b: Bench, only: Sequence[str]) -> list[Result]:
    results: list[Result] = []
    for fn in METRICS:
        if only and fn.__name__ not in only:
            continue
        t0 = time.perf_counter()
        try:
            rows = fn(b)
        except Exception as err:  # one broken metric must not hide the others
            rows = [Result(fn.__name__, None, note=f"error: {type(err).__name__}: {err}")]
        print(f"  {fn.__name__}: {time.perf_counter() - t0:.1f}s", flush=True)
        results.extend(rows)
    return results


# ---------------------------------------------------------------------------------------------
# 5. The app: first frame, a long transcript's last page, memory while reading it end to end
#    (measured by tests/bench/tui_metrics.py; headless, on the first ingest's store)


@metric
def app(b: Bench) -> list[Result]:
    from tests.bench import tui_metrics

    run = b.ingested()
    big, lines = b.stats.largest_session
    small = tui_metrics.small_session(run.db)
    shown, empty = tui_metrics.first_frame(run.db)
    big_s, small_s = tui_metrics.last_page(run.db, big, small)
    mem = tui_metrics.scroll_memory(run.db, big)
    b.extra["app_scroll"] = mem
    return [
        Result.ratio_row(
            "app: first frame with sessions vs empty app",
            shown * 1000,
            empty * 1000,
            target_op="<=",
            bound=2.0,
            unit="ms",
            note=f"store of {run.messages:,} msgs",
        ),
        Result.ratio_row(
            "app: open + last page, long vs short session",
            big_s * 1000,
            small_s * 1000,
            target_op="<=",
            bound=2.0,
            unit="ms",
            note=f"{lines:,} lines vs ~20",
        ),
        Result.ratio_row(
            "app: peak RSS paging to the end vs opened",
            mem["peak_kb"] / 1024,
            mem["opened_kb"] / 1024,
            target_op="<",
            bound=1.5,
            unit="MB",
            note=f"{mem['pages']:,} pages in {mem['seconds']:.0f}s",
        ),
    ]


@metric
def search_index(b: Bench) -> list[Result]:
    """What the full-text index costs: ingest with it vs without it, and its size on disk."""
    from tests.bench import search_bench

    on, off = _ingests_with_and_without_index(b)
    rate_on = statistics.median(r.rate for r in on)
    rate_off = statistics.median(r.rate for r in off)
    b.extra["search_ingest_rates"] = {
        "with": [r.rate for r in on],
        "without": [r.rate for r in off],
    }
    rows = [
        Result.ratio_row(
            "search: ingest with the index vs without",
            rate_on,
            rate_off,
            target_op=">=",
            bound=0.8,
            unit="msg/s",
            note=f"median of {len(on)} alternated runs each (CONVO_FTS=off without)",
        )
    ]
    size = search_bench.sizes(on[0].db, off[0].db)
    b.extra["search_sizes"] = size
    used = size.get("index_payload_bytes")
    rows.append(
        Result.ratio_row(
            "search: index size vs indexed text",
            size["index_bytes"] / 1e6,
            size["text_bytes"] / 1e6,
            target_op="<=",
            bound=0.4,
            unit="MB",
            note=f"pages, by {size['how']}"
            + (f" ({used / 1e6:,.1f} MB of them used)" if used else "")
            + f"; store file {size['plain_file_bytes'] / 1e6:,.0f} MB without the index, "
            f"{size['file_bytes'] / 1e6:,.0f} MB with",
        )
    )
    return rows


def _search_queries(b: Bench) -> dict[str, Any]:
    """The rare word, common word and phrase of this corpus (picked once per run)."""
    from tests.bench import search_bench

    if "search_queries" not in b.extra:
        b.extra["search_queries"] = search_bench.pick_queries(b.ingested().db, b.seed)
    picked: dict[str, Any] = b.extra["search_queries"]
    return picked


@metric
def search_latency(b: Bench) -> list[Result]:
    """In-process search p50/p99 (reported, no target)."""
    from tests.bench import search_bench

    picked = _search_queries(b)
    queries = {
        "rare word": (picked["rare"], {}),
        "common word": (picked["common"], {}),
        "phrase": (picked["phrase"], {}),
        "common word, agent codex": (picked["common"], {"agent": "codex"}),
    }
    lat = search_bench.latency(b.ingested().db, queries)
    b.extra["search_latency"] = lat
    return [
        Result(
            f"search in-process p50: {name}",
            m["p50_ms"],
            unit="ms",
            note=f"{m['query']}: p99 {m['p99_ms']:.1f} ms, {m['hits']} hits, {m['ranking']}",
        )
        for name, m in lat.items()
    ]


@metric
def search_cli(b: Bench) -> list[Result]:
    """`convo search` wall time vs `convo sessions --limit 1` (the CLI's floor) on one store."""
    from tests.bench import search_bench

    picked = _search_queries(b)
    convo = [*search_bench.convo_command(), "--db", str(b.ingested().db)]
    common = picked["common"]
    wall = search_bench.cli_times(
        {
            "floor": [*convo, "sessions", "--limit", "1"],
            "rare": [*convo, "search", picked["rare"]],
            "common": [*convo, "search", common],
            "agent": [*convo, "search", common, "--agent", "codex"],
        }
    )
    b.extra["search_cli_s"] = wall
    rare = f"{picked['rare']} (in {picked['rare_doc']:,} msgs)"
    share = f"{common} (in {picked['common_share']:.0%} of {picked['messages']:,} msgs)"
    return [
        Result.ratio_row(
            f"search CLI: {label} vs sessions --limit 1",
            wall[key] * 1000,
            wall["floor"] * 1000,
            target_op="<=",
            bound=bound,
            unit="ms",
            note=note,
        )
        for key, label, bound, note in (
            ("rare", "a rare word", 1.3, rare),
            ("common", "a common word", 2.0, share),
            ("agent", "a common word, --agent", 2.0, f"{common} --agent codex"),
        )
    ]


def _ingests_with_and_without_index(b: Bench) -> tuple[list[IngestRun], list[IngestRun]]:
    """First ingests with the index (the run's own, plus more) and without it, alternated, at
    least two of each: the two rates differ by less than a shared machine's noise."""
    on = [b.ingested()]
    off: list[IngestRun] = []
    want = max(2, b.repeat)
    for i in range(want):
        off.append(ingest_in_child(b.corpus, b.work / f"plain-{i}.db", {"CONVO_FTS": "off"}))
        if len(on) < want:
            on.append(ingest_in_child(b.corpus, b.work / f"indexed-{i}.db"))
    return on, off


@metric
def questions(b: Bench) -> list[Result]:
    """Questions written from the fixtures' prompts find the prompt (tests/bench/questions.py)."""
    from store import db as store_db
    from tests.bench import questions as q

    q.build_store(b.work / "questions.db")
    try:
        with store_db.reading() as conn:
            asked = q.questions(conn, b.seed)
        found, _ranked = q.evaluate(asked)
    finally:
        store_db.close()
    return [
        Result.ratio_row(
            f"search: questions with their prompt in the top {q.TOP}",
            found,
            len(asked),
            target_op=">=",
            bound=q.TARGET,
            unit="questions",
            note="written from tests/fixtures' user prompts (seeded)",
        )
    ]


@metric
def repair(b: Bench) -> list[Result]:
    """Renumbering as a chunked job under load, and `convo check`, on a store of this preset."""
    from tests.bench import repair_bench

    return [Result(**row) for row in repair_bench.run(b.preset, b.work / "repair")]


@metric
def deep_check(b: Bench) -> list[Result]:
    """`convo check --deep` against `integrity_check` alone, on the repair bench's store with a raw
    record in every message (tests/bench/deep_bench.py)."""
    from tests.bench import deep_bench

    return [Result(**row) for row in deep_bench.run(b.preset, b.work / "deep")]


if __name__ == "__main__":
    sys.exit(main())
