"""The grade every analysis uses: stored grade, then the latest re-grade, then the latest
human override. One place, two views.

Why views in the database: analysis frames, the CLI summary, widgets and a researcher's own
``workbench sql`` must all agree on which grade counts. The views ``graded_paths`` and
``graded_samples`` (migration 6) have every column of ``paths`` / ``samples`` with
``answer`` and ``correct`` replaced by the effective values, plus ``stored_answer``,
``stored_correct``, ``regrade_id``, ``override_id`` and ``grade_source`` (stored | regrade
| override). Nothing is ever updated in place: overrides and re-grades are appended, so
every earlier grading stays queryable (``regrades`` and ``grade_overrides`` tables).

Override semantics (a general rule, not per-technique): a person judges *an answer to an
item*. The verdict therefore covers every path of that sample whose effective answer is
the judged answer, and the sample's final answer when it is that answer, so maj@k, pass@k,
accuracy and the vote all move together. A path or sample with no answer is overridden
alone. A later re-grade that changes a path's answer takes it out of the override's reach
(the verdict was about the old answer); the latest applicable override wins.
"""

from __future__ import annotations

import getpass
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import polars as pl

from workbench.errors import WorkbenchError
from workbench.store.reads import (  # noqa: F401  (re-exported)
    GRADED_PATHS,
    GRADED_SAMPLES,
    HAS_VIEWS_SQL,
    graded_sources,
)

REGRADE_SCHEMA: dict[str, Any] = {
    "regrade_id": pl.String, "run_id": pl.String, "sample_id": pl.String,
    "path_id": pl.String, "grader_version": pl.String, "answer": pl.String,
    "answer_rule": pl.String, "answer_key": pl.String, "correct": pl.Boolean, "method": pl.String,
    "created_at": pl.Datetime("us"),
}
"""Columns of the ``regrades`` table, in order."""


def now_utc() -> datetime:
    """Naive UTC now (the store's TIMESTAMP convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


def default_who() -> str:
    """Who is overriding when ``--who`` is not given: $WORKBENCH_USER, else the login."""
    try:
        return os.environ.get("WORKBENCH_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def _one_run(store: Any, run_id: str) -> None:
    if store.query("SELECT count(*) AS n FROM runs WHERE run_id = ?", [run_id])["n"][0] == 0:
        raise WorkbenchError(f"No run {run_id!r} in {store.path}; list runs with "
                             "`workbench runs`.")


def resolve_target(store: Any, run_id: str, item: str) -> dict[str, Any]:
    """The row a person means by ``item``: a path id, a sample id, or an item id of the run.

    Returns sample_id, path_id (None for a sample), answer and correct as analysis sees
    them now (effective grade). Raises a clear error when nothing or several rows match.
    """
    _one_run(store, run_id)
    path = store.query(f"SELECT sample_id, path_id, answer, correct, role FROM {GRADED_PATHS} "
                       "WHERE run_id = ? AND path_id = ?", [run_id, item])
    if path.height:
        row = path.row(0, named=True)
        if row["correct"] is None:
            raise WorkbenchError(f"Path {item} ({row['role']}) carries no task answer (it "
                                 "was never graded), so it has no grade to override.")
        return row
    sample = store.query(f"SELECT sample_id, NULL AS path_id, answer, correct FROM "
                         f"{GRADED_SAMPLES} WHERE run_id = ? AND (sample_id = ? OR item_id = ?)",
                         [run_id, item, item])
    if sample.height == 1:
        return sample.row(0, named=True)
    if sample.height > 1:
        raise WorkbenchError(f"{item!r} matches {sample.height} samples of run {run_id}; "
                             "give the sample id or path id instead (see `workbench audit`).")
    raise WorkbenchError(f"Run {run_id} has no path, sample or item called {item!r}; "
                         f"`workbench audit {run_id}` lists the path and sample ids.")


def add_override(store: Any, run_id: str, item: str, correct: bool, why: str,
                 who: str | None = None) -> dict[str, Any]:
    """Append a human verdict on ``item`` (path, sample or item id) of ``run_id``.

    ``why`` is required: an override without a reason cannot be reviewed later. Returns
    the stored row plus ``n_paths`` / ``n_samples``: how many rows the verdict now covers.
    """
    if not isinstance(correct, bool):
        raise WorkbenchError(f"correct must be True or False, got {correct!r}.")
    if not why or not why.strip():
        raise WorkbenchError("Say why (--why \"...\"): an override without a reason cannot "
                             "be reviewed later.")
    target = resolve_target(store, run_id, item)
    row = {"override_id": uuid.uuid4().hex[:16], "run_id": run_id,
           "sample_id": target["sample_id"], "path_id": target["path_id"],
           "answer": target["answer"], "old_correct": target["correct"],
           "new_correct": correct, "who": (who or default_who()).strip() or "unknown",
           "at": now_utc(), "why": why.strip()}
    store.query('INSERT INTO grade_overrides BY NAME SELECT * FROM _row',
                frames={"_row": pl.DataFrame([row])})
    covered = store.query(
        f"SELECT (SELECT count(*) FROM {GRADED_PATHS} WHERE override_id = ?) AS n_paths, "
        f"(SELECT count(*) FROM {GRADED_SAMPLES} WHERE override_id = ?) AS n_samples",
        [row["override_id"], row["override_id"]]).row(0, named=True)
    return {**row, **covered}


def overrides(store: Any, run_id: str | None = None) -> pl.DataFrame:
    """Every override ever made (oldest first), for one run or all."""
    where, params = ("WHERE run_id = ?", [run_id]) if run_id else ("", [])
    return store.query(f'SELECT * FROM grade_overrides {where} ORDER BY "at", rowid', params)


def new_regrade_id() -> str:
    """A fresh id for one re-grading pass."""
    return "rg-" + uuid.uuid4().hex[:12]


def write_regrade(store: Any, rows: pl.DataFrame) -> int:
    """Append re-grade rows (columns of :data:`REGRADE_SCHEMA`); returns how many."""
    missing = [c for c in REGRADE_SCHEMA if c not in rows.columns]
    if missing:
        raise WorkbenchError(f"regrade rows lack columns {missing}.")
    if rows.height:
        frame = rows.select(list(REGRADE_SCHEMA)).cast(REGRADE_SCHEMA)  # type: ignore[arg-type]
        store.query("INSERT INTO regrades BY NAME SELECT * FROM _rows", frames={"_rows": frame})
    return rows.height


def regrades(store: Any, run_id: str | None = None) -> pl.DataFrame:
    """Every re-grade row (oldest first): the history of how each path was graded."""
    where, params = ("WHERE run_id = ?", [run_id]) if run_id else ("", [])
    return store.query(f"SELECT * FROM regrades {where} ORDER BY created_at, rowid", params)
