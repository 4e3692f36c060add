"""A no-model demo backend: plausible streamed reasoning for any task with known answers.

Why: the notebook UI must be explorable (and testable in a browser) without the 500 MB
local model or an API key. This scripted backend looks the question up among the task's
problems, writes 30-200 words of "reasoning" (so budgets of 64-128 tokens often get
truncated and budget forcing shows), and ends with the right answer with probability
``p_correct``, else a near miss. The verifier catches every wrong answer and doubts 15% of
the right ones; scorer prompts get a score. Everything is seeded by the request's seed and
choice index, so reruns stream the same text.
"""

from __future__ import annotations

import random
import re

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.tasks.base import Task

FILLER = ("First I read the problem carefully. Then I track the amount after each step. "
          "I add what is bought or found and subtract what is given away. When the amount "
          "doubles or triples I multiply. I check each step once more before I commit to "
          "the result.").split()
_ANSWER = re.compile(r"answer is\s*(-?[\d.,]+)", re.I)


def _near_miss(gold: str, rng: random.Random) -> str:
    try:
        value = int(gold)
    except ValueError:
        return gold + "?"
    return str(value + rng.choice((-10, -2, -1, 1, 2, 10)))


class DemoScript:
    """``script(request, choice)`` for :class:`ScriptedBackend` (see module docstring)."""

    def __init__(self, task: Task, p_correct: float = 0.6) -> None:
        self.answers = {p.question: p.answer for p in task.load(None, 0)}
        self.p_correct = p_correct

    def _gold(self, text: str) -> str | None:
        for question, answer in self.answers.items():
            if question in text:
                return answer
        return None

    def __call__(self, req: GenRequest, choice: int) -> str:
        text = "\n".join(m["content"] for m in req.messages)
        last = req.messages[-1]["content"]
        gold = self._gold(text) or "0"
        rng = random.Random(f"{req.seed}:{choice}:{gold}:{len(req.messages)}")
        refining = "Previous solution" in last
        if "VERDICT" in last and not refining:
            claimed = _ANSWER.findall(last)
            right = bool(claimed) and claimed[-1].strip(".,") == gold
            # Wrong answers are always caught; right ones are doubted 15% of the time, so
            # both wrong→right and (rarer) right→wrong flips show up.
            verdict = "CORRECT" if right and rng.random() < 0.85 else "INCORRECT"
            return f"I checked every step of the solution. VERDICT: {verdict}"
        if "SCORE" in last and not refining:
            claimed = _ANSWER.findall(last)
            right = bool(claimed) and claimed[-1].strip(".,") == gold
            return f"Checked briefly. SCORE: {rng.randint(6, 10) if right else rng.randint(0, 5)}"
        p = self.p_correct + (0.2 if refining else 0.0)
        answer = gold if rng.random() < p else _near_miss(gold, rng)
        if "run out of reasoning budget" in last:
            return f"The answer is {answer}."
        words = [FILLER[i % len(FILLER)] for i in range(rng.randint(30, 200))]
        return " ".join(words) + f" So the result is {answer}. The answer is {answer}."


def demo_backend(task: Task, delay_s: float = 0.02, p_correct: float = 0.6
                 ) -> ScriptedBackend:
    """A ScriptedBackend streaming one word every ``delay_s`` seconds per path."""
    return ScriptedBackend(DemoScript(task, p_correct), delay_s=delay_s)
