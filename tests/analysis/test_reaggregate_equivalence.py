r"""Re-aggregation groups answers exactly as the live vote does, on every task type.

A real SC@5 run (scripted backend, real DuckDB file) whose paths spell one answer several
ways (``\frac{1}{2}``, ``0.5``, ``\dfrac12``; ``1/2`` and ``0.5``; ``Paris``/``PARIS``;
re-formatted copies of one program) and a rival answer twice in one spelling: grouped by
exact string the rival wins, grouped by the task's equivalence the spelled-out answer
wins. maj@N from the stored paths must equal the live SC@N verdict per item, through the
stored keys and through the read-time fallback for rows written before migration 4; so
must adaptive replay voting all N paths, the vote margins, and the Explorer's recompute.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from widgets.recompute import expected_accuracy, outcomes
from workbench.analysis import from_store, item_curves, simulate_adaptive, vote_margins
from workbench.analysis.adaptive import decided
from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec, run
from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.tasks import get_task
from workbench.tasks.base import Problem
from workbench.tasks.formats import CodeFormat, MathFormat, NumericFormat, ProblemSetTask

N = 5
MATH = {  # gold -> five paths: an answer spelled 3 ways, a rival twice
    r"\frac{1}{2}": [r"\boxed{\frac{1}{2}}", r"\boxed{0.5}", r"\boxed{\dfrac12}",
                     r"\boxed{\frac{1}{3}}", r"\boxed{\frac{1}{3}}"],
    "2": [r"\boxed{3}", r"\boxed{3.0}", r"\boxed{\frac{6}{2}}", r"\boxed{2}", r"\boxed{2}"],
    "(-6, 10)": ["The answer is $(-6,10)$.", r"\boxed{(-6, 10)}", r"\boxed{\left(-6, 10\right)}",
                 r"\boxed{[1, 4]}", r"\boxed{[1, 4]}"],
    r"2\sqrt{5}": [r"Thus $r = 2\sqrt{5}$.", r"\boxed{\sqrt{20}}", r"\boxed{2 \sqrt{5}}",
                   r"\boxed{5}", r"\boxed{5}"],
}
NUMERIC = {
    "0.5": ["The answer is 1/2.", "The answer is 0.5.", "The answer is 2/4.",
            "The answer is 0.25.", "The answer is 0.25."],
    "7.5": ["The answer is 7 1/2.", "The answer is 7.5.", "The answer is 15/2.",
            "The answer is 8.", "The answer is 8."],
    "9": ["The answer is 10.", "The answer is 10.0.", "The answer is 20/2.",
          "The answer is 9.", "The answer is 9."],
}
TEXT = {
    "Paris": ["The answer is Paris.", "The answer is paris.", "The answer is PARIS.",
              "The answer is Lyon.", "The answer is Lyon."],
    "1/2": [r"The answer is $\frac{1}{2}$.", "The answer is 0.5.", r"The answer is $\dfrac12$.",
            "The answer is 1/3.", "The answer is 1/3."],
    "Rome": ["The answer is Lyon.", "The answer is lyon.", "The answer is LYON.",
             "The answer is Rome.", "The answer is Rome."],
}
ADD = "```python\ndef add(a, b):\n{body}\n```"
CODE = {
    "add": [ADD.format(body="    return a + b"), ADD.format(body="    # sum\n    return a+b"),
            ADD.format(body="    return (a + b)"), ADD.format(body="    return a - b"),
            ADD.format(body="    return a - b")],
    "add, wrongly": [ADD.format(body="    return a - b"), ADD.format(body="    return a-b"),
                     ADD.format(body="    return (a - b)  # oops"),
                     ADD.format(body="    return a + b"), ADD.format(body="    return a + b")],
}


def _problems(golds: dict[str, list[str]], code: bool = False) -> list[Problem]:
    out = []
    for i, gold in enumerate(golds):
        meta = ({"prompt": "def add(a, b):\n    \"\"\"Add.\"\"\"\n", "entry_point": "add",
                 "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"}
                if code else {})
        out.append(Problem(id=f"q{i}", index=i, question=f"ITEM{i} solve it", answer=gold,
                           meta=meta))
    return out


def _script(golds: dict[str, list[str]]) -> Callable[[GenRequest, int], str]:
    texts = list(golds.values())

    def script(req: GenRequest, choice: int) -> str:
        prompt = " ".join(m["content"] for m in req.messages)
        item = int(prompt.split("ITEM", 1)[1].split()[0])
        return texts[item][(req.sample_index + choice) % N]
    return script


def _task(kind: str, tmp_path: Path) -> tuple[ProblemSetTask, dict[str, list[str]]]:
    """A task of each answer format, named so that a read-time lookup finds its format."""
    if kind == "math":
        return ProblemSetTask("math500", "math", "", "", MathFormat(),
                              lambda: _problems(MATH)), MATH
    if kind == "numeric":
        return ProblemSetTask("gsm8k", "math", "", "", NumericFormat(),
                              lambda: _problems(NUMERIC)), NUMERIC
    if kind == "code":
        return ProblemSetTask("humaneval", "code", "", "", CodeFormat(),
                              lambda: _problems(CODE, code=True)), CODE
    path = tmp_path / "user.jsonl"
    path.write_text("".join(json.dumps({"question": f"ITEM{i} solve it", "answer": gold}) + "\n"
                            for i, gold in enumerate(TEXT)))
    return get_task(str(path)), TEXT


def _maj_at_n(store: Store, run_id: str) -> dict[str, float]:
    frames = from_store(store, [run_id])
    curves = item_curves(frames.paths, ks=[N])
    return dict(zip(curves["sample_id"], curves["maj"], strict=True))


@pytest.mark.parametrize("kind", ["math", "numeric", "text", "code"])
async def test_maj_at_n_from_the_store_equals_the_live_vote(kind: str, tmp_path: Path) -> None:
    task, golds = _task(kind, tmp_path)
    with Store.open(tmp_path / "t.duckdb") as store:
        spec = RunSpec(task=task.name, technique="sc", n=N, limit=len(golds), concurrency=2)
        result = await run(spec, ScriptedBackend(_script(golds)), [Recorder(store)], task=task)
        live = dict(zip(*store.samples(result.run_id).select("sample_id", "correct")
                        .to_dict(as_series=False).values(), strict=True))
        assert len(live) == len(golds)
        assert any(live.values()) and not all(live.values())  # equivalence decides both ways
        stored = _maj_at_n(store, result.run_id)
        assert stored == {s: float(ok) for s, ok in live.items()}

        paths = from_store(store, [result.run_id]).paths
        assert paths["answer_rule"].drop_nulls().len() == paths.height
        exact = item_curves(paths.drop("answer_key"), ks=[N])  # grouping by exact string
        assert dict(zip(exact["sample_id"], exact["maj"], strict=True)) != stored

        adaptive = simulate_adaptive(paths, decided())
        assert adaptive["accuracy_full"][0] == pytest.approx(np.mean(list(live.values())))
        assert adaptive["accuracy"][0] == pytest.approx(np.mean(list(live.values())))
        margins = vote_margins(paths)
        assert dict(zip(margins["sample_id"], margins["majority_correct"], strict=True)) == live

        rows = store.query("SELECT * FROM paths WHERE run_id = ? ORDER BY sample_id, idx",
                           [result.run_id])
        per_item = [outcomes(list(g.iter_rows(named=True)))
                    for _, g in rows.group_by("sample_id", maintain_order=True)]
        assert expected_accuracy(per_item, N) == pytest.approx(np.mean(list(live.values())))

        store.con.execute("UPDATE paths SET answer_key = NULL WHERE run_id = ?",
                          [result.run_id])  # rows as written before migration 4
        assert _maj_at_n(store, result.run_id) == stored
        rows = store.query("SELECT * FROM paths WHERE run_id = ? ORDER BY sample_id, idx",
                           [result.run_id])
        per_item = [outcomes(list(g.iter_rows(named=True)))
                    for _, g in rows.group_by("sample_id", maintain_order=True)]
        assert expected_accuracy(per_item, N, task.same) == pytest.approx(
            np.mean(list(live.values())))


def test_hand_built_frames_without_keys_group_by_exact_string() -> None:
    paths = pl.DataFrame({"run_id": "r", "sample_id": "s", "idx": [0, 1, 2],
                          "answer": ["0.5", "1/2", "1/3"], "correct": [True, True, False]})
    curves = item_curves(paths, ks=[3])
    assert curves["maj"][0] == pytest.approx(2 / 3)  # three distinct strings: a 3-way tie
