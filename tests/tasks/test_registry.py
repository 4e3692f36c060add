"""The task registry and the bundled benchmarks (GSM8K, MATH-500, HumanEval)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.tasks import get_task, known_tasks, list_tasks
from workbench.tasks.bundled import data_dir

SIZES = {"arithmetic": 200, "gsm8k": 1319, "math500": 500, "humaneval": 164}


def test_list_tasks_rows() -> None:
    rows = [r for r in list_tasks() if not r["name"].startswith("bigbench")]
    assert [r["name"] for r in rows] == list(SIZES)
    assert known_tasks() == [*SIZES, "bigbench"]  # BIG-bench: listed, installed on demand
    for row in rows:
        assert set(row) == {"name", "size", "kind", "licence", "description"}
        assert row["size"] == SIZES[row["name"]] and row["description"]
    kinds = {r["name"]: r["kind"] for r in rows}
    assert kinds == {"arithmetic": "math", "gsm8k": "math", "math500": "math",
                     "humaneval": "code"}
    assert all(r["licence"].startswith("MIT") for r in rows)


@pytest.mark.parametrize("name", ["nope", "gsm9k", "", "math"])
def test_unknown_names_list_the_known_ones(name: str) -> None:
    with pytest.raises(WorkbenchError, match="arithmetic, gsm8k, math500, humaneval"):
        get_task(name)


def test_aliases_and_bad_option_syntax() -> None:
    assert get_task("math-500").name == get_task("MATH500").name == "math500"
    with pytest.raises(WorkbenchError, match="key=value"):
        get_task("arithmetic:digits")
    with pytest.raises(WorkbenchError, match="takes no options"):
        get_task("math500", level=3)


def test_every_bundled_folder_has_data_and_licence() -> None:
    root = data_dir()
    for name in ("gsm8k", "math500", "humaneval"):
        licence = (root / name / "LICENSE").read_text()
        assert "MIT" in licence and "Permission is hereby granted" in licence
        assert (root / name / "test.jsonl.gz").stat().st_size < 300_000
    assert "build_data.py" in (root / "README.md").read_text()


def test_gsm8k_items() -> None:
    task = get_task("gsm8k")
    first = task.load(1)[0]
    assert first.id == "gsm8k/0" and first.answer == "18" and "Janet" in first.question
    assert "#### 18" in first.meta["solution"]
    assert all("," not in p.answer for p in task.load())
    assert task.load(2, offset=1317)[-1].index == 1318 and task.load(5, 1319) == []


def test_math500_items_have_uncorrupted_gold_level_and_subject() -> None:
    problems = get_task("math500").load()
    first = problems[0]
    assert first.answer == "\\left( 3, \\frac{\\pi}{2} \\right)"  # shipped field: "\\le(3,..."
    assert first.meta["level"] == 2 and first.meta["subject"] == "Precalculus"
    subjects: dict[str, int] = {}
    for p in problems:
        subjects[p.meta["subject"]] = subjects.get(p.meta["subject"], 0) + 1
        assert 1 <= p.meta["level"] <= 5
        assert not p.answer.startswith("\\le(")
    assert subjects == {"Algebra": 124, "Intermediate Algebra": 97, "Prealgebra": 82,
                        "Number Theory": 62, "Precalculus": 56, "Geometry": 41,
                        "Counting & Probability": 38}


def test_humaneval_items() -> None:
    task = get_task("humaneval")
    p = task.load(1)[0]
    assert p.id == "HumanEval/0" and task.kind == "code"
    assert set(p.meta) == {"prompt", "test", "entry_point"}
    assert p.meta["entry_point"] == "has_close_elements"
    assert "```python" in p.question and "def has_close_elements" in p.question
    assert "```python" in task.answer_instruction()
    reply = f"Here you go:\n```python\n{p.meta['prompt']}{p.answer}```"
    assert task.grade(p, task.extract(reply))
    assert not task.grade(p, task.extract("```python\ndef has_close_elements(a, b):\n"
                                          "    return True\n```"))
    body_a = "    return any(abs(x - y) < threshold for i, x in enumerate(numbers) " \
             "for j, y in enumerate(numbers) if i != j)"
    body_b = "    return any(abs(x-y)<threshold  for i,x in enumerate(numbers)  " \
             "for j,y in enumerate(numbers) if i!=j)  # same"
    assert task.same(body_a.strip(), body_b.strip())
    assert not task.same("return 1", "return 2")


def test_data_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(WorkbenchError, match="bundled data file .* is missing"):
        get_task("gsm8k").load()
    (tmp_path / "gsm8k").mkdir()
    with gzip.open(tmp_path / "gsm8k" / "test.jsonl.gz", "wt") as fh:
        fh.write(json.dumps({"id": "g/0", "question": "q", "answer": "1", "solution": "#### 1"})
                 + "\n")
    assert get_task("gsm8k").size() == 1
