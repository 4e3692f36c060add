"""Paired comparison of two runs: the interval, the exact test, the pairing, the store path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench import analysis as an
from workbench.analysis.compare import paired_paths
from workbench.api import run_experiment_async
from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec
from workbench.store.store import Store


def _samples(correct: list[bool | None], **cols: list) -> pl.DataFrame:
    n = len(correct)
    return pl.DataFrame({"item_id": [f"i{i}" for i in range(n)], "item_index": list(range(n)),
                         "answer": [str(i) for i in range(n)], "correct": correct,
                         "error": [None if c is not None else "boom" for c in correct],
                         "tokens_in": [10] * n, "tokens_out": cols.get("tokens_out", [5] * n),
                         "cost_usd": [0.0] * n, "latency_ms": [1.0] * n,
                         "created_at": list(range(n))})


def test_newcombe_interval_is_symmetric_bounded_and_contains_the_estimate() -> None:
    d, lo, hi = an.newcombe_paired_interval(12, 9, 2, 21)
    assert d == pytest.approx(-7 / 44) and lo < d < hi
    d2, lo2, hi2 = an.newcombe_paired_interval(12, 2, 9, 21)  # A and B swapped
    assert (d2, lo2, hi2) == pytest.approx((-d, -hi, -lo))
    # every item right in both runs: no difference, yet a real interval (not [0, 0])
    d3, lo3, hi3 = an.newcombe_paired_interval(20, 0, 0, 0)
    assert d3 == 0 and -0.2 < lo3 < 0 < hi3 < 0.2
    assert an.newcombe_paired_interval(0, 0, 0, 0)[1:] == (-1.0, 1.0)


def test_mcnemar_exact_is_a_binomial_test_of_the_discordant_pairs() -> None:
    assert an.mcnemar_exact(0, 6) == pytest.approx(2 * 0.5 ** 6)
    assert an.mcnemar_exact(3, 3) == pytest.approx(1.0)
    assert an.mcnemar_exact(0, 0) == 1.0
    assert an.mcnemar_exact(1, 9) == pytest.approx(2 * (1 + 10) / 2 ** 10)


@pytest.mark.parametrize("n", [20, 100])
def test_paired_interval_keeps_its_coverage_near_one(n: int) -> None:
    """Simulated paired runs near the ceiling: the 95% interval covers the truth >= 93%."""
    rng = np.random.default_rng(n)
    for p_a, p_b, copy in ((0.9, 0.97, 0.5), (0.5, 0.6, 0.3), (0.02, 0.08, 0.2)):
        truth = (copy * p_a + (1 - copy) * p_b) - p_a
        covered = 0
        reps = 1500
        for _ in range(reps):
            a = rng.random(n) < p_a
            b = np.where(rng.random(n) < copy, a, rng.random(n) < p_b)
            cells = [int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum())]
            _, lo, hi = an.newcombe_paired_interval(*cells, n - sum(cells))
            covered += lo <= truth <= hi
        assert covered / reps >= 0.93, (n, p_a, p_b, covered / reps)


def test_compare_pairs_items_and_counts_outcomes() -> None:
    a = _samples([True, True, False, False, None, True])
    b = _samples([True, False, True, True, True, True], tokens_out=[50] * 6)
    cmp = an.compare(a, b, run_a="ra", run_b="rb")
    counts = dict(cmp.table.iter_rows())
    assert counts == {"both right": 2, "only A": 1, "only B": 3, "both wrong": 0}
    s = cmp.summary.row(0, named=True)
    assert (s["n_items"], s["accuracy_a"], s["accuracy_b"]) == (6, 3 / 6, 5 / 6)
    assert s["delta_b_minus_a"] == pytest.approx(2 / 6)
    assert s["ci_low"] < s["delta_b_minus_a"] < s["ci_high"]
    tokens = cmp.deltas.filter(pl.col("metric") == "tokens_out per item").row(0, named=True)
    assert tokens["delta_b_minus_a"] == 45 and tokens["ci_low"] == tokens["ci_high"] == 45
    assert cmp.disagreements()["item_id"].to_list() == ["i1", "i2", "i3", "i4"]
    dropped = an.compare(a, b, errors="drop")
    assert dropped.summary["n_items"][0] == 5  # the errored item left the pairing


def test_compare_uses_the_latest_row_per_item_and_reports_unpaired() -> None:
    a = pl.concat([_samples([False, False]), _samples([True]).with_columns(
        pl.lit(99, dtype=pl.Int64).alias("created_at"))])
    b = _samples([True, True, True])
    cmp = an.compare(a, b)
    assert dict(cmp.table.iter_rows())["both right"] == 1  # i0 was re-run and is right now
    assert cmp.unpaired == {"only_in_a": 0, "only_in_b": 1}


def test_diff_text_marks_changed_lines() -> None:
    lines = an.diff_text("a\nb\nc", "a\nB\nc")
    assert "-b" in lines and "+B" in lines


def _task_file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "numbers.jsonl"
    path.write_text("".join(json.dumps({"question": f"What is {7 * i + 3}?",
                                        "answer": str(7 * i + 3)}) + "\n" for i in range(n)))
    return path


def _script(right_every: int):
    def script(req: GenRequest, choice: int) -> str:
        value = int(re.findall(r"What is (\d+)\?", str(req.messages))[-1])
        right = ((value - 3) // 7) % right_every == 0
        return f"Adding it up step by step. The answer is {value if right else value + 1}."
    return script


async def test_compare_two_stored_runs_and_the_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from workbench.cli.main import app

    task, db = _task_file(tmp_path, 12), tmp_path / "t.duckdb"
    ids = []
    with Store.open(db) as store:
        for every in (3, 1):
            spec = RunSpec(task=str(task), technique="cot", limit=12)
            result = await run_experiment_async(spec, store=store,
                                                backend=ScriptedBackend(_script(every)))
            ids.append(result.run_id)
        cmp = an.compare_store(store, *ids)
        assert dict(cmp.table.iter_rows()) == {"both right": 4, "only A": 0, "only B": 8,
                                               "both wrong": 0}
        assert cmp.summary["mcnemar_p"][0] == pytest.approx(2 * 0.5 ** 8)
        paths = paired_paths(store, cmp, cmp.disagreements()["item_id"][0])
        assert paths["A"].height == paths["B"].height == 1
    out = CliRunner().invoke(app, ["compare", *ids, "--db", str(db), "--items", "--limit", "1"],
                             env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "12 paired items: A 33.3%, B 100.0%" in text
    assert "exact McNemar p = 0.00781 on 8 discordant items" in text
    assert "only B" in text
    assert "-Adding it up step by step. The answer is 11." in text
    assert "+Adding it up step by step. The answer is 10." in text
    missing = CliRunner().invoke(app, ["compare", ids[0], "nope", "--db", str(db)])
    assert missing.exit_code == 2 and "No such run: nope" in missing.output
