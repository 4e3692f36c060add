"""The grading audit lists what a person should look at, with the text around the answer,
and its HTML view escapes model text."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from review_kit import ITEMS, make_run

from workbench.review import AuditView, audit, audit_frame, audit_html, regrade_run
from workbench.store.store import Store
from workbench.tasks.formats import NumericFormat


def test_second_extractor_disagreement_is_listed_with_context(db: Path,
                                                              task_path: Path) -> None:
    with Store.open(db) as store:
        run_id = make_run(store, task_path)  # the old grader read the first number
        a = audit(store, run_id)
        assert a.height == 4 and set(a["reasons"]) == {"extractors_disagree"}
        row = a.filter(pl.col("item_id") == "q2").row(0, named=True)
        assert (row["answer"], row["second_answer"], row["gold"]) == ("3", "12", "12")
        assert row["span"] == "3" and row["context"].startswith("There are ⟦3⟧ boxes")
        clean = make_run(store, task_path, old_grader=False)
        left = audit(store, clean)  # both extractors agree; q1 was read by a fallback rule
        assert left["item_id"].to_list() == ["q1"] and left["reasons"].to_list() == [
            "fallback_rule"]
        assert audit(store, clean, include_all=True).height == 4


def test_grade_changes_between_grader_versions_are_listed(db: Path, task_path: Path) -> None:
    with Store.open(db) as store:
        run_id = make_run(store, task_path)
        regrade_run(store, run_id)
        a = audit(store, run_id)
        assert sorted(a["item_id"]) == ["q0", "q1", "q2"]  # q3 was wrong under both graders
        reasons = dict(zip(a["item_id"], a["reasons"], strict=True))
        assert reasons == {"q0": "grade_changed", "q1": "fallback_rule, grade_changed",
                           "q2": "grade_changed"}  # q1 has no "The answer is": last number
        assert set(a["grade_source"]) == {"regrade"}
        q0 = a.filter(pl.col("item_id") == "q0").row(0, named=True)
        assert q0["answer"] == "5" and q0["stored_correct"] is False and q0["correct"] is True


def _paths(text: str, answer: str | None, rule: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    paths = pl.DataFrame([{"run_id": "r", "sample_id": "s", "path_id": "p", "role": "path",
                           "text": text, "answer": answer, "correct": False,
                           "stored_correct": False, "answer_rule": rule,
                           "regrade_id": None, "grade_source": "stored"}])
    samples = pl.DataFrame([{"sample_id": "s", "item_id": "i", "gold": "7"}])
    return paths, samples


def test_fallback_rules_are_listed_where_the_extractor_records_them() -> None:
    paths, samples = _paths("we add and get 8", "8", "last_number")
    a = audit_frame(paths, samples, NumericFormat(), fallbacks={"last_number"})
    assert a["reasons"].to_list() == ["fallback_rule"] and a["rule"][0] == "last_number"
    p2, _ = _paths("The answer is 8.", "8", "answer_phrase")
    assert audit_frame(p2, samples, NumericFormat(), fallbacks={"last_number"}).height == 0


def test_html_view_escapes_model_text_and_marks_the_span() -> None:
    evil = "<script>alert(1)</script> <img src=x onerror=alert(2)> The answer is 8. </td>"
    paths, samples = _paths(evil, "8", "last_number")
    frame = audit_frame(paths, samples, NumericFormat(), fallbacks={"last_number"})
    page = audit_html(frame)
    assert "<script>" not in page and "<img" not in page and "</td> " not in page
    assert "&lt;script&gt;" in page and "<mark>8</mark>" in page
    assert AuditView(frame)._repr_html_() == page
    assert "No graded paths" in audit_html(frame.clear())


def test_the_audit_of_every_sample_question_shows_its_gold() -> None:
    paths, samples = _paths(ITEMS[3][2], "19", None)
    a = audit_frame(paths, samples, NumericFormat(), include_all=True)
    assert a["gold"][0] == "7" and a["reasons"][0] == ""  # no reason: listed only with --all


def test_a_chain_cut_at_its_budget_is_not_compared() -> None:
    """The live run left a cut chain's answer to a forced follow-up: no answer was read, so
    math-verify finding a number in the half-sentence is not a disagreement."""
    paths, samples = _paths("Step 1: 12 apples. Step 2: 5", None, None)
    cut = paths.with_columns(finish_reason=pl.lit("length"), error=pl.lit(None, pl.String),
                             stored_answer=pl.lit(None, pl.String))
    assert audit_frame(cut, samples, NumericFormat()).height == 0
    done = cut.with_columns(finish_reason=pl.lit("stop"))
    a = audit_frame(done, samples, NumericFormat())
    assert a["reasons"].to_list() == ["extractors_disagree"] and a["second_answer"][0] == "5"
