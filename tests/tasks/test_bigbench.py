"""BIG-bench tasks: read from a task.json (made here), clear error when not installed."""

from __future__ import annotations

import json

import pytest

from workbench.errors import WorkbenchError
from workbench.tasks import bigbench_tasks as bb
from workbench.tasks import get_task, list_tasks


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(bb.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(WorkbenchError, match="pip install bigbench==1.0.0"):
        get_task("bigbench:task=logical_deduction")


def test_json_task_with_targets_and_choices(tmp_path, monkeypatch):
    task_dir = tmp_path / "benchmark_tasks" / "toy"
    task_dir.mkdir(parents=True)
    (task_dir / "task.json").write_text(json.dumps({"examples": [
        {"input": "2 + 2 =", "target": "4"},
        {"input": "Is the sky green?", "target_scores": {"yes": 0, "no": 1}},
        {"input": "no target"}]}))
    monkeypatch.setattr(bb, "tasks_root", lambda: tmp_path / "benchmark_tasks")
    task = get_task("bigbench:task=toy")
    problems = task.load()
    assert [p.answer for p in problems] == ["4", "no"]
    assert "Options:\n- yes\n- no" in problems[1].question
    assert task.grade(problems[1], "No") and not task.grade(problems[0], "5")
    assert any(r["name"].startswith("bigbench") for r in list_tasks())
