"""`workbench audit`, `override` and `regrade` on a real trace file: what they print, what
they store, and a clear error with exit code 2 for every mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from review.review_kit import make_run, write_task
from typer.testing import CliRunner

from workbench.cli.main import app
from workbench.store.store import Store


def cli(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--db", str(db)], env={"COLUMNS": "250"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, " ".join(f"{result.stdout}\n{result.stderr}".split())


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "traces.duckdb"
    with Store.open(db) as store:
        run_id = make_run(store, write_task(tmp_path))
    return db, run_id


def test_audit_regrade_override_round_trip(stored: tuple[Path, str]) -> None:
    db, run_id = stored
    code, out = cli(db, "audit", run_id)
    assert code == 0 and "4 path(s) to review" in out and "extractors_disagree" in out
    code, out = cli(db, "audit", run_id, "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 4 and {"before", "span", "after"} <= set(rows[0])
    code, out = cli(db, "regrade", run_id)
    assert code == 0 and "accuracy_before: 0.0" in out and "accuracy_after: 0.75" in out
    code, out = cli(db, "override", run_id, "q3", "--correct", "--why", "accept 19",
                    "--who", "ada")
    assert code == 0 and "False -> True by ada" in out and "1 sample(s)" in out
    with Store.open(db, read_only=True) as store:
        acc = store.query("SELECT avg(correct::INT) AS a FROM graded_samples")["a"][0]
        log = store.query("SELECT who, why, old_correct, new_correct FROM grade_overrides")
    assert acc == 1.0 and log.row(0) == ("ada", "accept 19", False, True)


@pytest.mark.parametrize(("args", "message"), [
    (("override", "RUN", "q0", "--why", "x"), "--correct or --wrong"),
    (("override", "RUN", "q0", "--wrong"), "Say why"),
    (("override", "RUN", "nothing", "--wrong", "--why", "x"), "no path, sample or item"),
    (("override", "missing-run", "q0", "--wrong", "--why", "x"), "No run 'missing-run'"),
    (("regrade", "missing-run"), "No run 'missing-run'"),
    (("audit", "missing-run"), "No run 'missing-run'"),
    (("audit", "RUN", "--format", "xml"), "--format must be"),
    (("audit", "RUN", "--context", "-1"), "--context must be"),
])
def test_mistakes_exit_2_with_a_clear_message(stored: tuple[Path, str], args: tuple[str, ...],
                                              message: str) -> None:
    db, run_id = stored
    code, out = cli(db, *(run_id if a == "RUN" else a for a in args))
    assert code == 2 and message in out
    with Store.open(db, read_only=True) as store:
        assert store.query("SELECT count(*) AS n FROM grade_overrides")["n"][0] == 0
