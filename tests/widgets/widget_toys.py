"""A scripted backend script that answers the toy task (see tests/conftest.py ToyTask).

Deterministic: sampled paths (temperature > 0) are wrong when their choice index is 2 mod
3; greedy CoT (temperature 0, as inside ``refine``) is wrong on purpose so that refinement
has something to fix; the verifier says INCORRECT exactly when the proposed answer is
wrong; the refiner writes a different, correct solution.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from workbench.backends.base import GenRequest

_Q = re.compile(r"What is (\d+)\+(\d+)\?")
_A = re.compile(r"answer is\s*(-?\d+)", re.I)


def toy_script(words: int = 6) -> Callable[[GenRequest, int], str]:
    def script(req: GenRequest, choice: int) -> str:
        text = "\n".join(m["content"] for m in req.messages)
        last = req.messages[-1]["content"]
        a, b = (int(x) for x in _Q.findall(text)[-1])
        gold = a + b
        if "Previous solution" in last:
            return f"Let me redo this carefully. {a} plus {b} makes {gold}. The answer is {gold}."
        if "VERDICT" in last:
            claimed = _A.findall(last.split("Proposed solution:")[-1])
            ok = bool(claimed) and int(claimed[-1]) == gold
            return f"I checked it. VERDICT: {'CORRECT' if ok else 'INCORRECT'}"
        if "SCORE" in last:
            return "Looks fine. SCORE: 7"
        wrong = req.temperature == 0 or choice % 3 == 2
        answer = gold + 1 if wrong else gold
        filler = " ".join(["step"] * words)
        return f"First {a} then add {b}. {filler} So we get {answer}. The answer is {answer}."
    return script
