"""User data from JSONL, CSV and polars frames, and the errors a user will actually hit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from workbench.errors import WorkbenchError
from workbench.tasks import get_task, task_from_frame


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_jsonl_with_ids_numbers_and_extra_columns(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "mine.jsonl", [
        {"id": "a", "question": "2+2?", "answer": 4, "topic": "sums"},
        {"id": "b", "question": "Half of 3?", "answer": "1.5"},
    ])
    task = get_task(str(path))
    assert task.name == str(path) and task.size() == 2
    a, b = task.load()
    assert (a.id, a.answer, a.meta) == ("a", "4", {"topic": "sums"})
    assert task.grade(b, task.extract("The answer is 1.50.")) and task.grade(a, "4.0")
    assert "The answer is N" in task.answer_instruction()
    assert get_task(task.name).load() == task.load()


def test_csv_with_text_answers_uses_math_verify_and_text(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text('question,answer\n"Capital of France, in one word?",Paris\n'
                    "Simplify 2/4,\\frac{1}{2}\n", encoding="utf-8")
    task = get_task(str(path))
    capital, half = task.load()
    assert (capital.id, half.id) == ("0", "1")  # no id column: the row number
    assert task.grade(capital, task.extract("The answer is **paris**."))
    assert task.grade(half, task.extract("so \\boxed{0.5}"))
    assert not task.grade(half, "0.4")
    assert "boxed" in task.answer_instruction()


def test_frame() -> None:
    df = pl.DataFrame({"question": ["1+1?", "3*3?"], "answer": [2, 9], "id": ["x", "y"]})
    task = task_from_frame(df, name="tiny")
    assert task.name == "tiny" and [p.id for p in task.load()] == ["x", "y"]
    assert task.grade(task.load()[1], "9")


@pytest.mark.parametrize(("content", "message"), [
    ('{"question": "q"}\n', "lacks column\\(s\\) answer"),
    ('{"prompt": "q", "target": "1"}\n', "question, answer; found prompt, target"),
    ("", "is empty"),
    ("\n  \n", "is empty"),
    ('{"question": "q", "answer": "1"}\nnot json\n', "line 2: not valid JSON"),
    ('["q", "1"]\n', "line 1: expected a JSON object"),
    ('{"id": 1, "question": "q", "answer": "1"}\n{"id": 1, "question": "r", "answer": "2"}\n',
     "id '1' is already used"),
    ('{"question": "q", "answer": ""}\n', "empty answer"),
])
def test_jsonl_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WorkbenchError, match=message):
        get_task(str(path))


@pytest.mark.parametrize(("content", "message"), [
    ("question,solution\nq,1\n", "lacks column\\(s\\) answer"),
    ("question,answer\n", "has no problems"),
    ("id,question,answer\n1,q,1\n1,r,2\n", "already used"),
    ("question,answer\nq,1,extra\n", "more values than header"),
])
def test_csv_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WorkbenchError, match=message):
        get_task(str(path))


def test_csv_errors_name_the_line_where_the_bad_row_starts(tmp_path: Path) -> None:
    """The line a user must look at: where the offending row starts, after rows whose
    quoted values span several lines, and for a 50 MB value (a runaway quote)."""
    multi = 'question,answer\n"two\nline question",1\n"three\nline\nquestion",2\n'
    cases = {
        "after multi-line rows": (multi + "q,3,extra\n", "line 7: more values"),
        "50 MB value": ('question,answer\nq,1\nr,2\n"' + "x" * 50_000_000 + '",5\ns,6\n',
                        "line 4: malformed CSV"),
        "quote never closed": ('question,answer\nq,1\n"r,2\ns,3\n', "line 3: "),
    }
    for case, (content, message) in cases.items():
        path = tmp_path / "bad.csv"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(WorkbenchError, match=message) as err:
            get_task(str(path)).load()
        assert "bad.csv" in str(err.value), case
    path = tmp_path / "ok.csv"
    path.write_text(multi + 'q,""\n', encoding="utf-8")
    with pytest.raises(WorkbenchError, match="line 7"):  # an empty answer, by its row's line
        get_task(str(path)).load()


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("question,answer\nCaf\u00e9?,1\n".encode("latin-1"))
    with pytest.raises(WorkbenchError, match="not UTF-8.*re-save it as UTF-8"):
        get_task(str(path))


def test_missing_directory_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="does not exist"):
        get_task(str(tmp_path / "nope.jsonl"))
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(WorkbenchError, match="is a directory"):
        get_task(str(folder))
    locked = _jsonl(tmp_path / "locked.jsonl", [{"question": "q", "answer": "1"}])
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything; a read error still has to be clear
        locked.chmod(0o644)
        locked.unlink()
        locked.symlink_to(locked)  # a symlink loop: ELOOP on open
    with pytest.raises(WorkbenchError, match="cannot read task file"):
        get_task(str(locked))


def test_frame_errors() -> None:
    with pytest.raises(WorkbenchError, match="lacks column\\(s\\) question"):
        task_from_frame(pl.DataFrame({"q": ["x"], "answer": ["1"]}))
    with pytest.raises(WorkbenchError, match="no rows"):
        task_from_frame(pl.DataFrame({"question": [], "answer": []}))
    with pytest.raises(WorkbenchError, match="polars DataFrame"):
        task_from_frame({"question": ["x"]})  # type: ignore[arg-type]
    with pytest.raises(WorkbenchError, match="already used"):
        task_from_frame(pl.DataFrame({"id": [1, 1], "question": ["a", "b"],
                                      "answer": ["1", "2"]}))


def test_options_and_suffix_errors(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "ok.jsonl", [{"question": "q", "answer": "1"}])
    with pytest.raises(WorkbenchError, match="take no options"):
        get_task(str(path), digits=2)
    with pytest.raises(WorkbenchError, match="unknown task"):
        get_task(str(tmp_path / "data.txt"))
