"""Tasks: a set of problems, how to extract an answer from model text, how to grade it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Problem:
    """One task item. ``answer`` is the gold answer as text; ``meta`` holds task-specific
    fields (difficulty, MATH level, HumanEval tests/entry_point, ...)."""

    id: str
    index: int
    question: str
    answer: str
    meta: dict[str, Any] = field(default_factory=dict)


class Task(Protocol):
    """Everything the runner needs to know about a benchmark."""

    name: str
    kind: str  # "math" (numeric / latex answers) or "code"
    licence: str
    description: str

    def size(self) -> int: ...

    def load(self, limit: int | None = None, offset: int = 0) -> list[Problem]: ...

    def answer_instruction(self) -> str:
        """How the model must end its answer, e.g. 'End with: The answer is N.'"""
        ...

    def extract(self, text: str) -> str | None:
        """The final answer in ``text``, normalised, or None if there is none."""
        ...

    def grade(self, problem: Problem, answer: str | None) -> bool:
        """Whether an extracted answer is correct for ``problem``."""
        ...

    def same(self, a: str, b: str) -> bool:
        """Whether two extracted answers are the same (for voting)."""
        ...
