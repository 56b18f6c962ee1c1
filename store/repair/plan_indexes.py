"""The index steps of a repair plan (pure, like `store.repair.planner`, which places them in its
order).

An index whose entries disagree with its table is reindexed, or, when it cannot be rebuilt yet
(a unique index over rows that still share keys, or one that differs from the declared schema),
dropped and replaced by a non-unique stand-in that keeps reads fast; `create_steps` recreates it
as declared once the rows it covers are unique: early for indexes that do not involve `seq`
(ingest's upsert needs them), late for those that do (after renumbering).
"""

from __future__ import annotations

from typing import Any

from store.repair.findings import Findings, IndexSpec
from store.repair.plans import Step, standin


def _late(spec: IndexSpec) -> bool:
    """Indexes on `seq` can only be made unique after renumbering."""
    return "seq" in spec.columns


def _spec_json(spec: IndexSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "table": spec.table,
        "columns": list(spec.columns),
        "unique": spec.unique,
    }


def _blocked(spec: IndexSpec, f: Findings) -> bool:
    """A unique index cannot be rebuilt while its table holds rows with equal keys."""
    if not spec.unique:
        return False
    if spec.name in f.lying_indexes:
        return True  # never REINDEX or write through it: dropped, rows made unique, recreated
    if spec.columns == ("session_id", "stable_id"):
        return bool(f.duplicates)
    if _late(spec):
        return any(i.repeated for i in f.seq_issues) or bool(f.duplicates)
    return False


def index_steps(f: Findings) -> list[Step]:
    mismatched = {m.expected.name: m for m in f.index_mismatches}
    steps = []
    for name in f.drifted_indexes:
        m = mismatched.get(name)
        spec = m.actual if m and m.actual else _declared(f, name) or f.indexes.get(name)
        if m is not None or (spec is not None and _blocked(spec, f)):
            keep = spec if spec is not None else IndexSpec(name, "message", (), False)
            steps.append(
                Step(
                    "drop_index",
                    ("index_drift",),
                    f"drop index {name} ("
                    + (
                        "it says UNIQUE over rows sharing a key: nothing is written through it"
                        if name in f.lying_indexes
                        else "its entries disagree with the table"
                    )
                    + "; it is recreated below) and keep reads fast with a stand-in",
                    {"index": name, "standin": _spec_json(standin(keep))},
                    indexes=(name,),
                )
            )
        else:
            steps.append(
                Step(
                    "reindex", ("index_drift",), f"REINDEX {name}", {"index": name}, indexes=(name,)
                )
            )
    for m in f.index_mismatches:
        if m.actual is None and _late(m.expected):
            steps.append(
                Step(
                    "create_index",
                    ("index_schema",),
                    f"create a non-unique stand-in for the missing {m.expected.name}",
                    {"spec": _spec_json(standin(m.expected)), "drop": []},
                    indexes=(standin(m.expected).name,),
                )
            )
    return steps


def _declared(f: Findings, name: str) -> IndexSpec | None:
    return next((s for s in f.declared if s.name == name), None)


def create_steps(f: Findings, *, late: bool) -> list[Step]:
    steps = []
    drifted = set(f.drifted_indexes)
    for m in f.index_mismatches:
        if _late(m.expected) != late:
            continue
        drop = [m.expected.name, standin(m.expected).name]
        if m.actual is not None and m.actual.name != m.expected.name:
            drop.append(m.actual.name)
        steps.append(
            Step(
                "create_index",
                ("index_schema",),
                f"recreate {m.expected.name} as declared: {m.expected.create_sql()}",
                {"spec": _spec_json(m.expected), "drop": drop},
                indexes=(m.expected.name,),
            )
        )
    for spec in _blocked_drifted(f, drifted, late):
        steps.append(
            Step(
                "create_index",
                ("index_drift",),
                f"recreate {spec.name}",
                {"spec": _spec_json(spec), "drop": [spec.name, standin(spec).name]},
                indexes=(spec.name,),
            )
        )
    return steps


def _blocked_drifted(f: Findings, drifted: set[str], late: bool) -> list[IndexSpec]:
    mismatched = {m.expected.name for m in f.index_mismatches}
    out = []
    for name in sorted(drifted - mismatched):
        spec = _declared(f, name)
        if spec is not None and _blocked(spec, f) and _late(spec) == late:
            out.append(spec)
    return out


def verify_steps(f: Findings) -> list[Step]:
    """After an index that said UNIQUE over equal keys was dropped and recreated: SQLite's own
    `integrity_check` of its tables, which compares every entry with its row."""
    if not f.lying_indexes:
        return []
    tables = sorted({f.indexes[n].table for n in f.lying_indexes if n in f.indexes})
    return [
        Step(
            "verify",
            ("index_drift",),
            f"verify {', '.join(tables)} with PRAGMA integrity_check (a problem left fails the "
            "repair, saying which)",
            {"tables": tables},
            indexes=tuple(sorted(f.lying_indexes)),
        )
    ]
