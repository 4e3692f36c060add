"""The procedural arithmetic task: deterministic, correct answers, a working difficulty knob."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from workbench.errors import WorkbenchError
from workbench.tasks import get_task
from workbench.tasks.arithmetic import arithmetic, make_problem


def _recompute(question: str) -> int:
    """Solve a generated problem independently from its English text."""
    sentences = re.split(r"(?<=[.?])\s+", question)
    value = int(re.search(r"has (\d+) ", sentences[0]).group(1))  # type: ignore[union-attr]
    for s in sentences[1:-1]:
        nums = [int(n) for n in re.findall(r"\d+", s)]
        if "in each of them" in s:
            value += nums[0] * nums[1]
        elif " gives " in s:
            value -= nums[0]
        elif "more" in s:
            value += nums[0]
        elif "doubles" in s:
            value *= 2
        elif "triples" in s:
            value *= 3
        elif "equal piles" in s:
            assert value % nums[0] == 0
            value //= nums[0]
        else:
            raise AssertionError(f"unknown sentence {s!r}")
    return value


@pytest.mark.parametrize("digits", [1, 2, 3])
@pytest.mark.parametrize("steps", [1, 3, 6])
def test_answers_match_the_text(digits: int, steps: int) -> None:
    for p in arithmetic(digits=digits, steps=steps, size=40, seed=7).load():
        assert int(p.answer) == _recompute(p.question) >= 0
        assert len(p.meta["ops"]) == steps == p.meta["steps"]
        assert p.meta["digits"] == digits and p.meta["difficulty"] == digits + steps - 1


def test_deterministic_across_calls_and_processes() -> None:
    first = arithmetic(seed=3).load(10)
    assert first == arithmetic(seed=3).load(10)
    code = ("from workbench.tasks.arithmetic import make_problem;"
            "print(repr(make_problem(3, 2, 3, 5)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONHASHSEED": "123"}).stdout.strip()
    assert out == repr(make_problem(3, 2, 3, 5))
    # An item depends only on (seed, digits, steps, index), not on the task size.
    assert arithmetic(seed=3, size=50).load(10) == first


def test_seed_changes_the_items() -> None:
    a = [p.question for p in arithmetic(seed=0).load(20)]
    b = [p.question for p in arithmetic(seed=1).load(20)]
    assert sum(x != y for x, y in zip(a, b, strict=True)) >= 18


def test_difficulty_knob_changes_size_and_length() -> None:
    easy = arithmetic(digits=1, steps=1, size=60).load()
    hard = arithmetic(digits=3, steps=6, size=60).load()
    mean = lambda ps, f: sum(f(p) for p in ps) / len(ps)  # noqa: E731
    assert mean(hard, lambda p: int(p.answer)) > 20 * mean(easy, lambda p: int(p.answer))
    assert mean(hard, lambda p: len(p.question)) > 2 * mean(easy, lambda p: len(p.question))
    assert max(len(m) for p in easy for m in re.findall(r"\d+", p.question)) == 1


def test_ranges_cycle_through_every_combination() -> None:
    task = get_task("arithmetic", digits="1-2", steps=(2, 4), size=12)
    combos = [(p.meta["digits"], p.meta["steps"]) for p in task.load()]
    assert combos[:6] == [(1, 2), (2, 2), (1, 3), (2, 3), (1, 4), (2, 4)]
    assert combos[6:] == combos[:6]
    assert task.name == "arithmetic:digits=1-2,steps=2-4,size=12"
    assert get_task(task.name).load() == task.load()  # the stored name rebuilds the task


def test_default_task_and_grading() -> None:
    task = get_task("arithmetic")
    assert task.name == "arithmetic" and task.size() == 200 and task.kind == "math"
    p = task.load(1)[0]
    assert task.grade(p, task.extract(f"Step by step ... The answer is {int(p.answer):,}."))
    assert not task.grade(p, task.extract("The answer is 1."))
    assert not task.grade(p, None)
    assert task.same("1,000", "1000.0")
    assert "The answer is N" in task.answer_instruction()
    assert len({q.id for q in task.load()}) == 200


@pytest.mark.parametrize("options", [{"digits": 0}, {"steps": 9}, {"digits": "two"},
                                     {"steps": "4-2"}, {"size": 0}, {"seed": "x"}])
def test_bad_options_are_clear_errors(options: dict[str, object]) -> None:
    with pytest.raises(WorkbenchError, match="arithmetic"):
        get_task("arithmetic", **options)
