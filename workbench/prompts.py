"""Prompt templates every technique uses, overridable by the user.

Templates are plain ``str.format`` strings. The rendered prompt is stored with every path
and a hash of the template set with every run, so two prompt variants can be compared
like two techniques.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from workbench.errors import WorkbenchError

DEFAULT_SYSTEM = "You are a careful assistant who solves problems accurately."
DEFAULT_REASONING = "Reason step by step in plain words (do not write code)."
CODE_REASONING = "Think through the problem briefly in plain words, then write the code."
DEFAULT_DIRECT = "Give only the final answer, with no explanation."
DEFAULT_FORCE = (
    "You have run out of reasoning budget. Based on your reasoning so far, give your final "
    "answer now. {answer_format}"
)
DEFAULT_VERIFIER = (
    "Check the proposed solution to the problem below. Go through it step by step and point "
    "out any mistake. Finish with exactly one line: 'VERDICT: CORRECT' or 'VERDICT: "
    "INCORRECT'.\n\nProblem:\n{question}\n\nProposed solution:\n{solution}"
)
DEFAULT_SCORER = (
    "Rate how likely the proposed solution to the problem below is correct. Check it "
    "briefly, then finish with exactly one line 'SCORE: N' where N is an integer from 0 "
    "(surely wrong) to 10 (surely correct).\n\nProblem:\n{question}\n\nProposed solution:\n"
    "{solution}"
)
DEFAULT_REFINER = (
    "Here is a problem, your previous solution and a reviewer's feedback. Write an improved "
    "solution that fixes any mistakes the feedback points out. {reasoning} {answer_format}"
    "\n\nProblem:\n{question}\n\nPrevious solution:\n{solution}\n\nFeedback:\n{feedback}"
)
DEFAULT_USER = "{fewshot}{question}\n\n{reasoning} {answer_format}"
DEFAULT_STEP_JUDGE = (
    "Below is a problem and the first steps of a solution in progress (it may not have "
    "reached the answer yet). Judge only the steps shown: are they correct and do they lead "
    "towards the right answer? Check them briefly, then finish with exactly one line "
    "'SCORE: N' where N is an integer from 0 (surely wrong) to 10 (surely correct)."
    "\n\nProblem:\n{question}\n\nSteps so far:\n{steps}"
)
DEFAULT_WAIT = "Wait"
"""think-longer's continuation cue (s1): appended to a chain that stopped too early."""


@dataclass(frozen=True)
class Prompts:
    """The full set of templates for a run. Fields left as default use the built-ins."""

    system: str = DEFAULT_SYSTEM
    reasoning: str = DEFAULT_REASONING
    direct: str = DEFAULT_DIRECT
    user: str = DEFAULT_USER
    force: str = DEFAULT_FORCE
    verifier: str = DEFAULT_VERIFIER
    scorer: str = DEFAULT_SCORER
    refiner: str = DEFAULT_REFINER
    wait: str = DEFAULT_WAIT
    answer_format: str | None = None  # None: the task's own answer instruction
    fewshot: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    step_judge: str = DEFAULT_STEP_JUDGE  # search: a judge rating a partial solution

    def with_overrides(self, **overrides: Any) -> Prompts:
        """A copy with some templates replaced; unknown names are a clear error."""
        known = set(asdict(self))
        bad = sorted(set(overrides) - known)
        if bad:
            raise WorkbenchError(
                f"Unknown prompt template(s) {bad}; known templates: {sorted(known)}.")
        if "fewshot" in overrides:
            overrides["fewshot"] = tuple(tuple(pair) for pair in overrides["fewshot"])
        return replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fewshot"] = [list(p) for p in self.fewshot]
        return d

    def hash(self) -> str:
        """A short stable hash of the template set (what makes two variants comparable).

        Templates added after release 0.1.0 join the hash only when set to something other
        than their default, so adding a template keeps every stored run's hash (and the
        Explorer's reuse of stored runs) as it was."""
        d = self.to_dict()
        d = {k: v for k, v in d.items() if k in _HASHED_0_1 or v != _DEFAULTS.get(k)}
        blob = json.dumps(d, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    def render_fewshot(self) -> str:
        return "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in self.fewshot)


_HASHED_0_1 = frozenset({"system", "reasoning", "direct", "user", "force", "verifier", "scorer",
                         "refiner", "answer_format", "fewshot"})
_DEFAULTS = Prompts().to_dict()


def render(template: str, **values: str) -> str:
    """Fill a template; a missing placeholder is a clear error naming it."""
    try:
        return template.format(**values)
    except KeyError as exc:
        raise WorkbenchError(
            f"Prompt template uses unknown placeholder {exc}; available: {sorted(values)}."
        ) from None
