"""Human overrides: append-only, a verdict on an answer, and used by every analysis."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_kit import ITEMS, make_run

from workbench.analysis import curves, from_store, run_summary
from workbench.analysis.frames import item_tallies
from workbench.errors import WorkbenchError
from workbench.review import override, overrides, regrade_run
from workbench.store.store import Store
from workbench.summary import summarise


def _sample(store: Store, item: str) -> tuple[object, ...]:
    return store.query("SELECT sample_id, answer, correct, grade_source FROM graded_samples "
                       "WHERE item_id = ?", [item]).row(0)


def test_override_of_a_sample_reaches_every_analysis(db: Path, task_path: Path) -> None:
    with Store.open(db) as store:
        run_id = make_run(store, task_path, old_grader=False)  # current grader: 3 of 4
        assert run_summary(from_store(store))["accuracy"][0] == 0.75
        row = override(store, run_id, "q3", True, "19 is what the question meant", "ada")
        assert (row["old_correct"], row["new_correct"], row["who"]) == (False, True, "ada")
        assert row["answer"] == "19" and row["path_id"] is None
        assert (row["n_paths"], row["n_samples"]) == (1, 1)  # the CoT path has the same answer
        assert _sample(store, "q3")[2:] == (True, "override")
        frames = from_store(store)
        assert run_summary(frames)["accuracy"][0] == 1.0
        assert curves(frames.paths)["maj"][0] == 1.0
        assert summarise(store, [run_id])["accuracy"][0] == 1.0
        assert set(frames.samples["grade_source"]) == {"stored", "override"}


def test_overrides_are_append_only_and_the_latest_wins(db: Path, task_path: Path) -> None:
    with Store.open(db) as store:
        run_id = make_run(store, task_path, old_grader=False)
        sample_id = _sample(store, "q0")[0]
        override(store, run_id, str(sample_id), False, "gold is wrong", "bob")
        assert _sample(store, "q0")[2] is False
        second = override(store, run_id, "q0", True, "gold was right after all", "ada")
        assert second["old_correct"] is False
        assert _sample(store, "q0")[2] is True
        log = overrides(store, run_id)
        assert log["who"].to_list() == ["bob", "ada"] and log.height == 2


def test_a_path_verdict_covers_every_path_with_that_answer(db: Path, task_path: Path) -> None:
    question, _, _ = ITEMS[0]
    texts = {question: ["so The answer is 6.", "The answer is 6", "The answer is 5."]}
    with Store.open(db) as store:
        run_id = make_run(store, task_path, technique="sc", n=3, texts=texts, old_grader=False)
        sid, answer, correct, _ = _sample(store, "q0")
        assert (answer, correct) == ("6", False)  # the vote picked 6; gold is 5
        tally = item_tallies(from_store(store).paths).filter(sample_id=sid)
        assert tally["n_correct"][0] == 1
        path_id = store.query("SELECT path_id FROM paths WHERE sample_id = ? AND answer = '6' "
                              "ORDER BY idx LIMIT 1", [sid])["path_id"][0]
        row = override(store, run_id, path_id, True, "6 is also accepted", "ada")
        assert (row["n_paths"], row["n_samples"]) == (2, 1)
        tally = item_tallies(from_store(store).paths).filter(sample_id=sid)
        assert tally["n_correct"][0] == 3
        assert _sample(store, "q0")[2] is True
        others = store.query("SELECT count(*) AS n FROM graded_paths WHERE override_id IS NOT "
                             "NULL AND sample_id <> ?", [sid])["n"][0]
        assert others == 0


def test_a_regrade_that_changes_the_answer_leaves_the_verdict_behind(db: Path,
                                                                     task_path: Path) -> None:
    with Store.open(db) as store:
        run_id = make_run(store, task_path)  # old grader: q1 answered "4"
        override(store, run_id, "q1", True, "reviewer: 4 was a typo for 14", "ada")
        assert _sample(store, "q1")[2:] == (True, "override")
        regrade_run(store, run_id)  # the current grader reads 14: the verdict was about "4"
        assert _sample(store, "q1")[1:] == ("14", True, "regrade")
        override(store, run_id, "q2", False, "eggs, not boxes", "ada")
        regrade_run(store, run_id)  # same answer "12" again: the verdict still applies
        assert _sample(store, "q2")[1:] == ("12", False, "override")


@pytest.mark.parametrize(("item", "why", "message"), [
    ("q0", "", "Say why"),
    ("q0", "   ", "Say why"),
    ("zzz", "x", "no path, sample or item called 'zzz'"),
])
def test_bad_overrides_are_refused_and_nothing_is_written(db: Path, task_path: Path, item: str,
                                                          why: str, message: str) -> None:
    with Store.open(db) as store:
        run_id = make_run(store, task_path, old_grader=False)
        with pytest.raises(WorkbenchError, match=message):
            override(store, run_id, item, True, why)
        with pytest.raises(WorkbenchError, match="No run 'nope'"):
            override(store, "nope", "q0", True, "x")
        with pytest.raises(WorkbenchError, match="True or False"):
            override(store, run_id, "q0", 1, "x")  # type: ignore[arg-type]
        assert overrides(store).height == 0


def test_the_widgets_read_the_effective_grade(db: Path, task_path: Path) -> None:
    from widgets.scaling import stored_points

    with Store.open(db) as store:
        run_id = make_run(store, task_path, old_grader=False)
        assert stored_points(store, str(task_path), None)["accuracy"][0] == 0.75
        override(store, run_id, "q3", True, "accept 19", "ada")
        assert stored_points(store, str(task_path), None)["accuracy"][0] == 1.0
        sids = store.query("SELECT sample_id FROM samples")["sample_id"].to_list()
        assert store.vote_paths(run_id, sids)["correct"].all()
