"""`regrade_run`: stored paths re-graded with the current grader, no model call, old grades
kept, and every analysis reading the latest grading."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from review_kit import ITEMS, make_run

from workbench.analysis import curves, from_store, run_summary
from workbench.errors import WorkbenchError
from workbench.review import regrade_run, regrades
from workbench.review.extraction import grader_version
from workbench.store.store import Store
from workbench.summary import summarise


def test_regrade_appends_new_grades_and_analysis_uses_them(db: Path, task_path: Path) -> None:
    with Store.open(db) as store:
        run_id = make_run(store, task_path)
        assert run_summary(from_store(store))["accuracy"][0] == 0.0  # the old grader
        before_paths = store.query("SELECT * FROM paths ORDER BY path_id")
        report = regrade_run(store, run_id)
        assert (report.n_paths, report.n_samples) == (4, 4)
        assert report.accuracy_before == 0.0 and report.accuracy_after == 0.75
        assert report.paths_answer_changed == 4 and report.samples_grade_changed == 3
        assert report.grader_version == grader_version()
        # the stored rows are untouched; the new grading is appended
        assert store.query("SELECT * FROM paths ORDER BY path_id").equals(before_paths)
        assert regrades(store, run_id).height == 8
        samples = store.query("SELECT item_id, answer, correct, stored_answer, grade_source, "
                              "regrade_method FROM graded_samples ORDER BY item_index")
        assert samples["answer"].to_list() == ["5", "14", "12", "19"]
        assert samples["stored_answer"].to_list() == ["2", "4", "3", "9"]
        assert samples["correct"].to_list() == [True, True, True, False]
        assert set(samples["grade_source"]) == {"regrade"}
        assert set(samples["regrade_method"]) == {"final-path"}
        frames = from_store(store)
        assert run_summary(frames)["accuracy"][0] == pytest.approx(0.75)
        assert curves(frames.paths)["maj"][0] == pytest.approx(0.75)
        assert summarise(store, [run_id])["accuracy"][0] == pytest.approx(0.75)


def test_the_latest_regrade_wins_and_the_history_stays(db: Path, task_path: Path) -> None:
    with Store.open(db) as store:
        run_id = make_run(store, task_path)
        first = regrade_run(store, run_id)
        second = regrade_run(store, run_id)
        assert second.previous_grader_version == first.grader_version
        assert second.paths_answer_changed == 0 and second.accuracy_before == 0.75
        history = regrades(store, run_id)
        assert history["regrade_id"].unique().len() == 2 and history.height == 16
        ids = store.query("SELECT DISTINCT regrade_id FROM graded_paths")["regrade_id"]
        assert ids.to_list() == [second.regrade_id]


def test_self_consistency_is_revoted_with_the_task_equivalence(db: Path,
                                                               task_path: Path) -> None:
    question, gold, _ = ITEMS[0]
    texts = {question: ["1 way: the answer is 5.", "2 ways: The answer is 5.0",
                        "3 ways: The answer is 6."]}
    with Store.open(db) as store:
        run_id = make_run(store, task_path, technique="sc", n=3, texts=texts)
        first = store.query("SELECT answer, correct FROM samples WHERE item_id = 'q0'")
        assert first.row(0) == ("1", False)  # the old grader voted first numbers
        regrade_run(store, run_id)
        row = store.query("SELECT answer, correct, regrade_method FROM graded_samples "
                          "WHERE item_id = 'q0'").row(0)
        assert row == ("5", True, "revote")  # "5" and "5.0" are one answer
        paths = store.query("SELECT p.answer, p.correct FROM graded_paths p JOIN samples s "
                            "USING (run_id, sample_id) WHERE s.item_id = 'q0' AND role = 'path' "
                            "ORDER BY idx")
        assert paths["answer"].to_list() == ["5", "5", "6"]
        assert paths["correct"].to_list() == [True, True, False]


def test_regrade_of_a_missing_run_is_a_clear_error(db: Path) -> None:
    with Store.open(db) as store, pytest.raises(WorkbenchError, match="No run 'nope'"):
        regrade_run(store, "nope")


def test_a_run_whose_task_file_is_gone_is_regraded_from_its_gold(db: Path,
                                                                  task_path: Path) -> None:
    with Store.open(db) as store:
        run_id = make_run(store, task_path)
        task_path.unlink()
        report = regrade_run(store, run_id)
        assert report.accuracy_after == 0.75
        assert isinstance(regrades(store, run_id), pl.DataFrame)


@pytest.mark.parametrize(("technique", "n"), [
    ("direct", 1), ("cot", 1), ("sc", 4), ("adaptive-sc", 6), ("refine", 1),
    ("best-of-n", 3), ("sc-refine", 2)])
def test_regrading_with_the_live_grader_reproduces_every_stored_grade(
        db: Path, task_path: Path, technique: str, n: int) -> None:
    texts = {q: [t, f"Hmm. The answer is {int(g) + 1}.", t] for q, g, t in ITEMS}
    with Store.open(db) as store:
        run_id = make_run(store, task_path, technique=technique, n=n, texts=texts,
                          old_grader=False)
        report = regrade_run(store, run_id)
        assert report.paths_answer_changed == report.paths_grade_changed == 0
        assert report.samples_grade_changed == 0
        changed = store.query("SELECT count(*) AS n FROM graded_samples WHERE answer IS "
                              "DISTINCT FROM stored_answer")["n"][0]
        assert changed == 0 and report.n_paths >= 4
