"""`convo check`, `convo repair`, `convo rebuild-index` and `convo jobs`: find damage, plan, fix.

`check` exits 0 when healthy, 1 when it finds problems, 2 when the store cannot be opened or
read. `repair` shows the plan, takes an online backup, then runs the plan as jobs (or rebuilds a
store that cannot be read); `--dry-run` changes nothing. `repair` and `rebuild-index` keep the
newest `--keep-backups` backups, removing older ones only once the check after them is healthy;
`jobs` lists the backups kept.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from store import db as store_db
from store.errors import StoreUnusable
from store.repair import backups, checks, deep, jobs, planner, rebuild
from store.repair.findings import Problem, short_sessions
from store.repair.plans import many
from tui.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, Add, CliError, db_path, print_json

PREVIEW_LINES = 8
"""Rows listed per step in the human-readable plan (the JSON has them all)."""


def register(add: Add) -> None:
    """Add the `check`, `repair`, `rebuild-index` and `jobs` subcommands."""
    p = add("check", cmd_check, "diagnose the store: exit 0 healthy, 1 problems, 2 unusable")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-logs", action="store_true", help="do not compare with the log files")
    _deep_option(p)

    p = add("repair", cmd_repair, "show the repair plan and apply it (after a backup)")
    p.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    p.add_argument("--yes", action="store_true", help="apply without asking")
    p.add_argument("--json", action="store_true")
    _deep_option(p)
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        metavar="ROWS",
        help=f"rows per transaction (default: as many as fit in "
        f"{jobs.BATCH_S * 1000:g} ms of write lock)",
    )
    p.add_argument(
        "--pause",
        type=float,
        default=jobs.PAUSE_S * 1000,
        metavar="MS",
        help=f"pause between transactions (default {jobs.PAUSE_S * 1000:g} ms)",
    )
    _keep_option(p)

    p = add(
        "rebuild-index",
        cmd_rebuild,
        "rebuild the store from the logs into a new file and "
        "swap it in (sessions whose logs are gone are kept)",
    )
    p.add_argument(
        "paths", nargs="*", metavar="PATH", type=Path, help="more log files or folders to read"
    )
    _keep_option(p)

    p = add("jobs", cmd_jobs, "recent repair jobs and their progress, and the backups kept")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=20, metavar="N")
    p.add_argument("--backups", action="store_true", help="list only the backups kept")


def _deep_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--deep",
        action="store_true",
        help="also run integrity_check and read back every stored log record (slower)",
    )


def _keep_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keep-backups",
        type=int,
        default=backups.KEEP,
        metavar="N",
        help=f"keep the newest N backups of the store (default {backups.KEEP}); older ones are "
        "removed only once the check after the repair finds the store healthy",
    )


def _path(args: argparse.Namespace) -> Path:
    return (db_path(args) or store_db.default_db_path()).expanduser()


# ------------------------------------------------------------------------------------------
# check


def cmd_check(args: argparse.Namespace) -> int:
    with _steps("checking") as step:
        report = checks.check_path(
            _path(args), logs=not args.no_logs, progress=step, deep=args.deep
        )
    if args.json:
        print_json(report.to_json())
        if report.unusable is not None:
            print(f"convo: error: {report.unusable}", file=sys.stderr)
        return report.exit_code
    if report.unusable is not None:
        raise StoreUnusable(report.unusable)
    _print_report(report)
    return report.exit_code


def _print_report(report: checks.CheckReport) -> None:
    if report.ok:
        print(f"ok: no problems found ({report.elapsed_s:.1f} s)")
    else:
        kinds = many(len(report.problems), "kind of problem", "kinds of problems")
        print(f"{kinds} found ({report.elapsed_s:.1f} s):")
    for p in report.problems:
        print(_problem_line(p))
    if report.notes:
        print("notes (kept on purpose):")
        for n in report.notes:
            print(_problem_line(n))
    if not report.ok:
        deep_only = report.deep is not None and any(
            p.kind == "raw_unreadable" for p in report.problems
        )
        cmd = "convo repair --deep" if deep_only else "convo repair"
        print(f"run `{cmd} --dry-run` to see the plan, `{cmd}` to fix")


def _problem_line(p: Problem) -> str:
    where = f"  sessions {short_sessions(p.sessions)}" if p.sessions else ""
    return f"  {p.kind:<15} {p.count:>7}{where}\n      {p.detail}"


# ------------------------------------------------------------------------------------------
# repair


def cmd_repair(args: argparse.Namespace) -> int:
    if (args.batch is not None and args.batch < 1) or args.pause < 0:
        raise CliError("--batch must be at least 1 and --pause 0 or more", EXIT_USAGE)
    _check_keep(args)
    path = _path(args)
    with _steps("checking") as step:
        report = checks.check_path(path, progress=step, deep=args.deep)
    plan = (
        planner.plan_rebuild(report.unusable)
        if report.unusable
        else deep.extend(planner.plan(report.findings), report.deep)
    )
    if args.json:
        print_json({"check": report.to_json(), "plan": plan.to_json()})
    else:
        _print_plan(plan)
        _print_lost(report.deep)
    if plan.empty or args.dry_run:
        return EXIT_OK
    if not args.yes and not _confirm():
        print("nothing changed", file=sys.stderr)
        return EXIT_ERROR
    if plan.rebuild:
        return _rebuild(path, [], args.keep_backups)
    jobs.ensure_alone()  # before the backup: a refused repair leaves nothing behind
    kept = rebuild.backup()
    print(f"backup: {kept.absolute()}", file=sys.stderr)
    with _bar("repair") as tick:
        results = jobs.apply(
            plan,
            progress=tick,
            batch_rows=args.batch or jobs.BATCH_ROWS,
            pause_s=args.pause / 1000,
            batch_s=None if args.batch else jobs.BATCH_S,
        )
    for st in results:
        line = f"job #{st.id} {st.name}: {st.label}, {st.rows_done}/{st.rows_total} rows"
        print(line + (f" ({st.error})" if st.error else ""), file=sys.stderr)
    return EXIT_OK if _check_after("repair", path, args.keep_backups, args.deep) else EXIT_ERROR


def _check_keep(args: argparse.Namespace) -> None:
    if args.keep_backups < 0:
        raise CliError("--keep-backups must be 0 or more", EXIT_USAGE)


def _check_after(what: str, path: Path, keep: int, deep_check: bool = False) -> bool:
    """The check that ends a repair or rebuild; only a healthy store lets older backups go."""
    after = checks.run(deep=deep_check)
    print(
        f"check after {what}: " + ("ok" if after.ok else ", ".join(p.kind for p in after.problems)),
        file=sys.stderr,
    )
    kept = backups.listing(path)
    backups.secure(kept)
    if not after.ok:
        if len(kept) > keep:
            print(f"older backups kept ({len(kept)}): the store is not healthy", file=sys.stderr)
        return False
    removed = backups.prune(path, keep)
    if removed:
        print(
            f"removed {many(len(removed), 'older backup')} (kept the newest {keep})",
            file=sys.stderr,
        )
    return True


def _confirm() -> bool:
    if not sys.stdin.isatty():
        raise CliError(
            "refusing to change the store without --yes (stdin is not a terminal)", EXIT_USAGE
        )
    answer = input("apply this plan? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _print_plan(plan: planner.Plan) -> None:
    if plan.empty:
        print("nothing to repair")
        return
    print(f"plan ({many(len(plan.steps), 'step')}):")
    for n, step in enumerate(plan.steps, 1):
        print(f"{n:>3}. [{step.action}] {step.summary}")
        for line in _preview(step):
            print(f"       {line}")


LOST_LINES = 50
"""Messages `repair` names that cannot be recovered before it points at the JSON for the rest."""


def _print_lost(found: deep.DeepReport | None) -> None:
    """Each message whose stored record is damaged and whose log is gone: nothing brings it back."""
    lost = found.lost if found is not None else ()
    if not lost:
        return
    print(
        f"{many(len(lost), 'message')} cannot be recovered (the stored log record is damaged "
        "and the log is gone or no longer holds it); their text still shows, but export "
        "--format jsonl skips them:"
    )
    for u in lost[:LOST_LINES]:
        print(f"  session {u.session_id} #{u.seq} (message id {u.id})")
    if len(lost) > LOST_LINES:
        print(f"  ... and {len(lost) - LOST_LINES} more (see `convo check --deep --json`)")


def _preview(step: planner.Step) -> Iterator[str]:
    lines = [f"delete {d.table} #{d.id}: {d.reason}" for d in step.deletes]
    lines += [f"session {c.session_id}: #{c.id} seq {c.old} -> {c.new}" for c in step.renumbers]
    lines += [f"file {f}" for f in step.files]
    yield from lines[:PREVIEW_LINES]
    if len(lines) > PREVIEW_LINES:
        yield f"... and {len(lines) - PREVIEW_LINES} more (see --json)"


# ------------------------------------------------------------------------------------------
# rebuild-index and jobs


def cmd_rebuild(args: argparse.Namespace) -> int:
    _check_keep(args)
    return _rebuild(_path(args), args.paths, args.keep_backups)


def _rebuild(path: Path, roots: list[Path], keep: int) -> int:
    with _bar("rebuild") as tick:
        done = rebuild.rebuild(path, roots=roots, progress=lambda p: tick(p))
    print(
        f"rebuilt {path}: {done.files} log files, {done.messages} messages; "
        f"{done.carried} messages of {done.carried_sessions} sessions carried over from the "
        "old file",
        file=sys.stderr,
    )
    if done.backup is not None:
        print(f"the old file is kept at {done.backup}", file=sys.stderr)
    _check_after("rebuild", path, keep)
    return EXIT_OK


def cmd_jobs(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CliError("--limit must be at least 1", EXIT_USAGE)
    store_db.open_store(db_path(args))
    kept = backups.listing()
    backups.secure(kept)  # an earlier convo left them readable by others
    if args.backups:
        if args.json:
            print_json([b.to_json() for b in kept])
        else:
            _print_backups(kept)
        return EXIT_OK
    rows = jobs.recent(args.limit)
    if args.json:
        print_json([r.to_json() for r in rows])
        return EXIT_OK
    for r in rows:
        eta = f", {r.eta_s:.0f} s left" if r.eta_s is not None else ""
        rate = f", {r.rate} rows/s" if r.rate else ""
        print(
            f"#{r.id} {r.name:<13} {r.label:<9} {r.rows_done}/{r.rows_total}{rate}{eta}"
            + (f"  {r.error}" if r.error else "")
        )
    if not rows:
        print("no jobs")
    _print_backups(kept)
    return EXIT_OK


def _print_backups(kept: list[backups.Backup]) -> None:
    if not kept:
        print("no backups")
        return
    total = backups.human(sum(b.size for b in kept))
    legacy = sum(b.legacy for b in kept)
    older = f"; {legacy} made by an earlier convo" if legacy else ""
    print(f"{many(len(kept), 'backup')} of the store ({total}{older}), newest first:")
    for b in kept:
        when = datetime.fromtimestamp(b.taken_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
        print(f"  {b.path}  {backups.human(b.size)}  {when}")


@contextmanager
def _steps(label: str) -> Iterator[checks.ProgressFn]:
    """A spinner naming the check's current step on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield lambda _name, _done, _total: None
        return
    from rich.console import Console

    with Console(stderr=True).status(label + "…") as status:

        def step(name: str, done: int, total: int) -> None:
            status.update(f"{label}: {name} ({done + 1}/{total})")

        yield step


@contextmanager
def _bar(label: str) -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr when it is a terminal; else a callback that does nothing."""
    if not sys.stderr.isatty():
        yield lambda _status: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn(label + " {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def tick(status: Any) -> None:
            if isinstance(status, jobs.JobStatus):
                bar.update(
                    task,
                    description=status.name,
                    completed=status.rows_done,
                    total=status.rows_total or None,
                )
            else:
                bar.update(
                    task,
                    description=Path(status.path).name,
                    completed=status.done,
                    total=status.total,
                )

        yield tick
