"""Answer formats: how a task asks for, extracts, grades and compares answers.

Why separate from the problems: the same format serves several tasks (GSM8K, the
procedural arithmetic task and numeric user data all grade numbers), and a task is then
just "problems + format" (:class:`ProblemSetTask`). Every method is safe to call from any
thread and never raises for odd model text: no answer is ``None``, a wrong one ``False``.
"""

from __future__ import annotations

import ast
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from workbench.errors import WorkbenchError
from workbench.grading.code import DEFAULT_LIMITS, SandboxLimits, SandboxResult, check_humaneval
from workbench.grading.extract import Extraction, extract_answer, normalise_number, numbers_equal
from workbench.grading.keys import answer_key
from workbench.grading.math import math_equal, math_same
from workbench.tasks.base import Problem

NUMERIC_INSTRUCTION = 'End your reply with: "The answer is N." where N is just the number.'
MATH_INSTRUCTION = "Put the final answer in \\boxed{}."
CODE_INSTRUCTION = (
    "Give the complete function, including its def line, in one ```python code block."
)


class AnswerFormat(Protocol):
    """The answer-handling half of a :class:`~workbench.tasks.base.Task`."""

    def instruction(self) -> str: ...

    def extract(self, text: str) -> str | None: ...

    def grade(self, problem: Problem, answer: str | None) -> bool: ...

    def same(self, a: str, b: str) -> bool: ...


class _Rules:
    """Extraction by the named rules of :func:`extract_answer` for ``answer_format``, and
    the canonical key of an answer (``workbench.grading.keys``)."""

    answer_format: str = "numeric"

    def extract_answer(self, text: str) -> Extraction:
        return extract_answer(text, self.answer_format)

    def extract(self, text: str) -> str | None:
        return self.extract_answer(text).answer

    def key(self, answer: str) -> str:
        return answer_key(answer, self.answer_format) or ""


class NumericFormat(_Rules):
    """A single number (GSM8K, arithmetic): "1,000" == "1000" == "1000.0" == "$1000"."""

    answer_format = "numeric"

    def instruction(self) -> str:
        return NUMERIC_INSTRUCTION

    def grade(self, problem: Problem, answer: str | None) -> bool:
        return answer is not None and numbers_equal(problem.answer, answer)

    def same(self, a: str, b: str) -> bool:
        return numbers_equal(a, b)


class MathFormat(_Rules):
    r"""LaTeX answers in ``\boxed{}`` (MATH-500), compared with math-verify."""

    answer_format = "latex"

    def instruction(self) -> str:
        return MATH_INSTRUCTION

    def grade(self, problem: Problem, answer: str | None) -> bool:
        return answer is not None and math_equal(problem.answer, answer)

    def same(self, a: str, b: str) -> bool:
        return a.strip() == b.strip() or math_same(a, b)


def _plain(text: str) -> str:
    """Case- and space-insensitive text with LaTeX text wrappers and end punctuation gone."""
    text = re.sub(r"\\(?:text|mathrm|textbf)\{([^{}]*)\}", r"\1", text)
    return re.sub(r"\s+", " ", text).strip().strip(".").strip().lower()


@dataclass
class AutoFormat(_Rules):
    """For user data: numeric when every gold answer is a number, else LaTeX/text.

    Text answers match case-insensitively or through math-verify, so "Paris" == "paris"
    and "1/2" == "\\frac{1}{2}" both hold.
    """

    numeric: bool

    def __post_init__(self) -> None:
        self.answer_format = "numeric" if self.numeric else "latex"

    def instruction(self) -> str:
        return NUMERIC_INSTRUCTION if self.numeric else MATH_INSTRUCTION

    def grade(self, problem: Problem, answer: str | None) -> bool:
        if answer is None:
            return False
        if self.numeric:
            return numbers_equal(problem.answer, answer)
        return _plain(problem.answer) == _plain(answer) or math_equal(problem.answer, answer)

    def same(self, a: str, b: str) -> bool:
        if self.numeric:
            return numbers_equal(a, b)
        return _plain(a) == _plain(b) or math_same(a, b)

    @staticmethod
    def for_answers(answers: list[str]) -> AutoFormat:
        """Numeric only if every gold answer parses as one number and nothing else."""
        def is_number(s: str) -> bool:
            return re.fullmatch(r"\s*-?[\d,]*\.?\d+\s*", s) is not None and (
                normalise_number(s) is not None)
        return AutoFormat(numeric=bool(answers) and all(is_number(a) for a in answers))


def _code_key(code: str) -> str:
    """Code with formatting and comments removed, so re-indented copies vote together."""
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        return "\n".join(line.rstrip() for line in code.strip().splitlines())


@dataclass
class CodeFormat(_Rules):
    """HumanEval-style: a function run against unit tests in the sandbox.

    Results are cached per (item, code): self-consistency and best-of-N grade the same
    program many times, and each sandbox run costs ~0.1-0.3 s.
    """

    limits: SandboxLimits = DEFAULT_LIMITS
    cache_size: int = 4096
    _cache: OrderedDict[tuple[str, str], SandboxResult] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    answer_format = "code"

    def instruction(self) -> str:
        return CODE_INSTRUCTION

    def run(self, problem: Problem, answer: str) -> SandboxResult:
        """The full sandbox result (reason, stderr tail) for one candidate."""
        key = (problem.id, answer)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        meta = problem.meta
        for needed in ("prompt", "test", "entry_point"):
            if needed not in meta:
                raise WorkbenchError(
                    f"code item {problem.id!r} has no {needed!r} in its meta; a code task "
                    "needs prompt, test and entry_point for every item.")
        result = check_humaneval(meta["prompt"], answer, meta["test"], meta["entry_point"],
                                 self.limits)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return result

    def grade(self, problem: Problem, answer: str | None) -> bool:
        return answer is not None and self.run(problem, answer).passed

    def same(self, a: str, b: str) -> bool:
        return _code_key(a) == _code_key(b)


@dataclass
class ProblemSetTask:
    """A task made of a (lazily loaded) problem list and an answer format.

    Implements the :class:`workbench.tasks.base.Task` protocol.
    """

    name: str
    kind: str
    licence: str
    description: str
    format: AnswerFormat
    loader: Callable[[], list[Problem]]
    _problems: list[Problem] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def problems(self) -> list[Problem]:
        """All problems, loaded on first use (bundled files take ~10-50 ms to read)."""
        with self._lock:
            if self._problems is None:
                self._problems = self.loader()
            return self._problems

    def size(self) -> int:
        return len(self.problems())

    def load(self, limit: int | None = None, offset: int = 0) -> list[Problem]:
        if offset < 0 or (limit is not None and limit < 0):
            raise WorkbenchError(f"limit and offset must be >= 0 (got {limit}, {offset}).")
        items = self.problems()[offset:]
        return items if limit is None else items[:limit]

    def answer_instruction(self) -> str:
        return self.format.instruction()

    def extract(self, text: str) -> str | None:
        return self.format.extract(text)

    def extract_answer(self, text: str) -> Extraction:
        """The answer with the rule that found it (formats without rules: rule "task")."""
        full = getattr(self.format, "extract_answer", None)
        if full is not None:
            return full(text)  # type: ignore[no-any-return]
        return Extraction(self.format.extract(text), "task", None)

    def answer_key(self, answer: str) -> str:
        """Canonical key of an extracted answer (see ``workbench.grading.keys``)."""
        key = getattr(self.format, "key", None)
        return key(answer) if key is not None else "s:" + answer.strip()

    def grade(self, problem: Problem, answer: str | None) -> bool:
        return self.format.grade(problem, answer)

    def same(self, a: str, b: str) -> bool:
        return self.format.same(a, b)
