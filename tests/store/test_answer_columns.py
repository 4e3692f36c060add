"""Migration 4: the extraction rule and answer key per path, the grader version per run.

Old files gain the columns with NULLs (nothing rewritten), new runs fill them, replay
carries them, and analysis computes keys for the old rows at read time.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from workbench.analysis import from_store, item_tallies
from workbench.backends.scripted import ScriptedBackend
from workbench.grading.extract import GRADER_VERSION
from workbench.runner import RunSpec, run
from workbench.store.migrations import MIGRATIONS
from workbench.store.recorder import Recorder
from workbench.store.replay import normalize, replay
from workbench.store.store import Store
from workbench.tasks.base import Problem
from workbench.tasks.formats import MathFormat, ProblemSetTask


def _old_file(path: Path) -> None:
    """A trace file as written before migration 4: one math run, three answers."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE _migrations (version INTEGER, applied_at TIMESTAMP)")
    for version, fn in enumerate(MIGRATIONS[:2], start=1):
        fn(con)
        con.execute("INSERT INTO _migrations VALUES (?, now())", [version])
    con.execute("INSERT INTO runs (run_id, technique, model, task, n_samples) "
                "VALUES ('old', 'sc', 'm', 'math500', 3)")
    for idx, answer in enumerate([r"\frac{1}{2}", "0.5", r"\frac{1}{3}"]):
        con.execute("INSERT INTO paths (run_id, sample_id, path_id, role, idx, answer, correct)"
                    " VALUES ('old', 's0', ?, 'path', ?, ?, ?)",
                    [f"p{idx}", idx, answer, idx < 2])
    con.close()


def test_old_file_gains_null_columns_and_keys_at_read_time(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    _old_file(db)
    with Store.open(db) as store:
        paths = store.paths("old")
        assert paths["answer_rule"].null_count() == 3 and paths["answer_key"].null_count() == 3
        assert store.runs("old")["grader_version"].to_list() == [None]
        tallies = item_tallies(from_store(store).paths)
    assert tallies["counts"].to_list() == [[2, 1]]  # 1/2 and 0.5 vote together
    assert tallies["correct"].to_list() == [[True, False]]


async def test_new_runs_record_rule_key_and_grader_version(tmp_path: Path) -> None:
    task = ProblemSetTask("math500", "math", "", "", MathFormat(), lambda: [
        Problem(id="q0", index=0, question="half?", answer=r"\frac{1}{2}")])
    texts = [r"So \boxed{\frac{1}{2}}.", "The answer is 0.5.", r"Thus $x = \dfrac12$.",
             r"It is $\frac12$ or $\frac13$."]

    def script(req: object, choice: int) -> str:
        return texts[(req.sample_index + choice) % 4]  # type: ignore[attr-defined]

    with Store.open(tmp_path / "new.duckdb") as store:
        result = await run(RunSpec(task="math500", technique="sc", n=4, limit=1),
                           ScriptedBackend(script), [Recorder(store)], task=task)
        assert store.runs(result.run_id)["grader_version"].to_list() == [GRADER_VERSION]
        paths = store.paths(result.run_id).sort("idx")
        assert paths["answer_rule"].to_list() == ["boxed", "answer_phrase", "final_math",
                                                  "ambiguous"]
        keys = paths["answer_key"].to_list()
        assert keys[0] == keys[1] == keys[2] is not None and keys[3] is None
        events = replay(store, result.run_id)
        again = Store.open(":memory:")
        try:
            rec = Recorder(again)
            for e in events:
                rec(e)
            rec.close()
            assert normalize(replay(again, result.run_id)) == normalize(events)
            assert again.paths(result.run_id).sort("idx")["answer_key"].to_list() == keys
        finally:
            again.close()
