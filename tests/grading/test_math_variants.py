r"""MATH-500 gold answers written the way a model writes them without ``\boxed{}``.

Each gold answer is put into several unboxed phrasings (an answer phrase with and without
``$``, display math, ``\(..\)``, a final sentence with a named left side, 答案) and run
through the task's own extraction and grading (math-verify). Reports k of n accepted; the
extractor that fell back to "the last number" lost well over half of these.
"""

from __future__ import annotations

import pytest

from workbench.tasks import get_task

PHRASINGS = (
    "The answer is {a}.",
    "The answer is ${a}$.",
    "So the final answer is \\({a}\\).",
    "Putting everything together, the final answer is\n$$\n{a}\n$$",
    "Final Answer: ${a}$",
    "Therefore, $x = {a}$.",
    "After simplifying, we get ${a}$.\n\nI hope it is correct.",
    "答案是 ${a}$。",
    "**Final Answer**\n\n${a}$",
    "Thus the answer is ${a}$, which is in simplest form.",
    "The value we want is \\[{a}.\\]",
    "so our answer is {a}",
)
MIN_ACCEPTED = 0.97


def test_unboxed_gold_variants_are_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    task = get_task("math500")
    problems = task.load()
    lost: dict[str, list[str]] = {p: [] for p in PHRASINGS}
    n = k = 0
    for problem in problems:
        for phrasing in PHRASINGS:
            text = phrasing.replace("{a}", problem.answer)
            n += 1
            if task.grade(problem, task.extract(text)):
                k += 1
            else:
                lost[phrasing].append(problem.answer)
    with capsys.disabled():
        print(f"\nMATH-500 gold answers written without \\boxed{{}}: {k} of {n} accepted "
              f"({k / n:.1%}; {len(problems)} answers x {len(PHRASINGS)} phrasings)")
        for phrasing, answers in lost.items():
            print(f"  {len(answers):4d} lost  {phrasing!r}  e.g. {answers[:3]}")
    assert k / n >= MIN_ACCEPTED
