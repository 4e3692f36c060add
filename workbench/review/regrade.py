"""Re-grade a stored run with the current grader, without calling a model.

Why: extraction rules improve, and every figure rests on them. Re-running the model to
apply a better grader would cost hours and change the samples; the stored text already
holds everything the grader reads. A regrade appends one row per graded path and per
sample to ``regrades`` (old rows and the original grades stay), and the ``graded_*`` views
make every analysis read the latest one (see :mod:`workbench.store.grades`).

Which paths: those the live run graded (``correct`` not null). A path is re-extracted
when the live run extracted it: it had an answer, or it finished normally, or it is a
forced answer; a chain cut at its budget whose answer was left to a forced follow-up stays
without an answer, as it was live.

The sample's final answer is re-derived the way the technique derived it:

* ``revote``: the sample has a majority (or adaptive) vote: re-vote the re-graded answers
  of its voting paths (role ``path``; a path's forced answer replaces it, as live) with the task's own
  equivalence and first-seen tie-break (:func:`workbench.techniques.voting.vote`);
* ``final-path``: no vote: the final answer came from one path, the latest graded path
  whose stored answer was the sample's answer (or the latest graded path when the sample
  had none); its re-graded answer becomes the sample's;
* ``answer-only``: weighted votes (logprob, verifier) and votes over refined chains
  (sc-refine) cannot be replayed exactly, so the stored final answer is kept and only its
  grade is recomputed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench.errors import WorkbenchError
from workbench.review.extraction import answer_key, extraction, grader_version, was_extracted
from workbench.store.grades import new_regrade_id, now_utc, write_regrade
from workbench.tasks.base import Problem

_REVOTABLE = ("majority", "adaptive")
"""Votes replayed by re-voting; ``_load`` marks a vote over refined chains (sc-refine,
which has rounds) as not replayable, so its stored answer is re-graded instead."""


@dataclass(frozen=True)
class RegradeReport:
    """What one regrade did (counts are relative to the grades analysis used before)."""

    regrade_id: str
    run_id: str
    grader_version: str
    previous_grader_version: str | None
    n_paths: int
    n_samples: int
    paths_answer_changed: int
    paths_grade_changed: int
    samples_grade_changed: int
    accuracy_before: float
    accuracy_after: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def answer_format(run: dict[str, Any], samples: pl.DataFrame) -> Any:
    """The run's answer format: its task's, else (task file gone) one inferred from gold."""
    from workbench.tasks import get_task
    from workbench.tasks.formats import AutoFormat

    try:
        return get_task(str(run["task"])).format
    except WorkbenchError:
        return AutoFormat.for_answers([g for g in samples["gold"].to_list() if g is not None])


def _problem(sample: dict[str, Any]) -> Problem:
    meta = sample.get("meta")
    meta_obj = json.loads(meta) if isinstance(meta, str) and meta else {}
    return Problem(id=str(sample.get("item_id") or sample["sample_id"]),
                   index=int(sample.get("item_index") or 0), question=sample.get("question") or "",
                   answer=str(sample.get("gold") or ""),
                   meta=meta_obj if isinstance(meta_obj, dict) else {})


def _grade_paths(fmt: Any, paths: pl.DataFrame, problems: dict[str, Problem]
                 ) -> list[dict[str, Any]]:
    rows = []
    for p in paths.iter_rows(named=True):
        found = extraction(fmt, p["text"]) if was_extracted(p) else None
        answer = found.answer if found else None
        problem = problems.get(p["sample_id"])
        ok = bool(answer is not None and problem is not None and fmt.grade(problem, answer))
        rows.append({"run_id": p["run_id"], "sample_id": p["sample_id"], "path_id": p["path_id"],
                     "answer": answer, "answer_rule": found.rule if found else None,
                     "answer_key": answer_key(fmt, answer), "correct": ok,
                     "method": "extract", "_before": (p["answer"], p["correct"]),
                     "_role": p["role"], "_parent": p["parent_id"], "_stored": p["stored_answer"]})
    return rows


def _final_answer(sample: dict[str, Any], mine: list[dict[str, Any]], vote_method: str | None,
                  fmt: Any) -> tuple[str | None, str]:
    """The sample's re-derived final answer and how it was derived (module docstring)."""
    from workbench.techniques.voting import vote

    if vote_method in _REVOTABLE:
        forced = {r["_parent"]: r for r in mine if r["_role"] == "forced_answer"}
        units = [forced.get(r["path_id"], r) for r in mine if r["_role"] == "path"]
        return vote([u["answer"] for u in units], fmt.same).winner, "revote"
    if vote_method is not None or not mine:
        return sample["stored_answer"], "answer-only"
    same = [r for r in mine if r["_stored"] == sample["stored_answer"]]
    chosen = (same or mine)[-1] if (same or sample["stored_answer"] is None) else None
    if chosen is None:
        return sample["stored_answer"], "answer-only"
    return chosen["answer"], "final-path"


def _load(store: Any, run_id: str) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame,
                                              dict[str, str]]:
    runs = store.runs(run_id)
    if runs.height == 0:
        raise WorkbenchError(f"No run {run_id!r} in {store.path}; list runs with "
                             "`workbench runs`.")
    samples = store.graded_samples(run_id)
    paths = store.graded_paths(run_id, graded_only=True)
    return runs.row(0, named=True), samples, paths, store.vote_methods(run_id)


def _previous_version(store: Any, run_id: str, run: dict[str, Any]) -> str | None:
    last = store.last_grader_version(run_id)
    if last is not None:
        return last
    return run.get("grader_version")  # stored with the run where the schema has it


def regrade_run(store: Any, run_id: str) -> RegradeReport:
    """Re-grade every graded path and sample of ``run_id``; append the rows; report."""
    run, samples, paths, vote_methods = _load(store, run_id)
    fmt = answer_format(run, samples)
    problems = {s["sample_id"]: _problem(s) for s in samples.iter_rows(named=True)}
    path_rows = _grade_paths(fmt, paths, problems)
    by_sample: dict[str, list[dict[str, Any]]] = {}
    for r in path_rows:
        by_sample.setdefault(r["sample_id"], []).append(r)
    sample_rows = []
    for s in samples.iter_rows(named=True):
        answer, method = _final_answer(s, by_sample.get(s["sample_id"], []),
                                       vote_methods.get(s["sample_id"]), fmt)
        problem = problems[s["sample_id"]]
        ok = bool(answer is not None and fmt.grade(problem, answer))
        sample_rows.append({"run_id": run_id, "sample_id": s["sample_id"], "path_id": None,
                            "answer": answer, "answer_rule": None,
                            "answer_key": answer_key(fmt, answer), "correct": ok,
                            "method": method, "_before": (s["answer"], s["correct"])})
    rid, version, now = new_regrade_id(), grader_version(), now_utc()
    out = pl.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")}
                        for r in path_rows + sample_rows],
                       schema={"run_id": pl.String, "sample_id": pl.String,
                               "path_id": pl.String, "answer": pl.String,
                               "answer_rule": pl.String, "answer_key": pl.String,
                               "correct": pl.Boolean, "method": pl.String})
    previous = _previous_version(store, run_id, run)
    write_regrade(store, out.with_columns(regrade_id=pl.lit(rid), grader_version=pl.lit(version),
                                          created_at=pl.lit(now)))
    n = max(len(sample_rows), 1)
    return RegradeReport(
        regrade_id=rid, run_id=run_id, grader_version=version,
        previous_grader_version=previous, n_paths=len(path_rows), n_samples=len(sample_rows),
        paths_answer_changed=sum(r["answer"] != r["_before"][0] for r in path_rows),
        paths_grade_changed=sum(r["correct"] != bool(r["_before"][1]) for r in path_rows),
        samples_grade_changed=sum(r["correct"] != bool(r["_before"][1]) for r in sample_rows),
        accuracy_before=sum(bool(r["_before"][1]) for r in sample_rows) / n,
        accuracy_after=sum(r["correct"] for r in sample_rows) / n)

