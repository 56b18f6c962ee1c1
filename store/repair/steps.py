"""Every job step kind, by the name a job row stores: the runner looks a job's step up here.

The names are part of the store: a job written by an earlier convo (and left paused) is resumed by
the step its name says, so a name is never changed or reused.
"""

from __future__ import annotations

from collections.abc import Callable

from store.repair import fixes, renumber, reread, searchindex
from store.repair.job_types import Step

STEPS: dict[str, Callable[[], Step]] = {
    "reindex": fixes.Reindex,
    "drop_index": fixes.DropIndex,
    "create_index": fixes.CreateIndex,
    "dedupe": fixes.Dedupe,
    "delete_parts": fixes.DeleteParts,
    "clear_refs": fixes.ClearRefs,
    "adopt": fixes.Adopt,
    "mark_gone": fixes.MarkGone,
    "ingest": fixes.Ingest,
    "renumber": renumber.Renumber,
    "recount": renumber.Recount,
    "reread": reread.Reread,
    "search_index": searchindex.SearchIndex,
    "verify": fixes.Verify,
}
"""Step kinds by job name."""
