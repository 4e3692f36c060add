"""Mathematical answer equivalence through math-verify, safe from any thread.

Why a wrapper: math-verify bounds its own time with ``signal.alarm``, which raises
ValueError outside the main thread (and notebooks, executors and the async runner all grade
from other threads). Here the main thread keeps math-verify's own timeouts; any other
thread runs with ``parsing_timeout=None, timeout_seconds=None`` and the time is bounded
instead by refusing oversized inputs (the only inputs seen to make sympy crawl). A lock
serialises calls because latex2sympy's ANTLR parser and sympy's caches are not documented
as thread-safe; a parse+compare takes ~1 ms, so the lock costs nothing measurable.
Parses and verdicts are cached, since self-consistency grades the same strings many times.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from typing import Any

MAX_ANSWER_CHARS = 1000
"""Answers longer than this are not parsed (treated as wrong): a final answer is short, and
long pathological LaTeX is what makes sympy take minutes."""

MAIN_THREAD_TIMEOUT_S = 5
_LOCK = threading.RLock()
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


class _DropTimeoutWarning(logging.Filter):
    """math-verify warns once that timeouts are off; that is deliberate here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_DropTimeoutWarning())


def _math_verify() -> Any:
    """math-verify, imported on first use: it pulls sympy (~1 s), which `workbench tasks`
    and numeric-only runs never need."""
    import math_verify

    return math_verify


def _timeout() -> int | None:
    """math-verify's signal-based timeout only works on the main thread."""
    return MAIN_THREAD_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def _as_latex(answer: str) -> str:
    r"""Wrap a bare answer so math-verify reads it as the final answer.

    Text that already holds ``\boxed{}`` or ``$`` delimiters is left alone; a bare answer
    ("\frac{14}{3}", "p - q", "18") is boxed, the strongest signal math-verify knows.
    """
    stripped = answer.strip()
    delimited = _UNESCAPED_DOLLAR.search(stripped) or "\\(" in stripped or "\\[" in stripped
    if "\\boxed" in stripped or delimited:
        return stripped
    return "\\boxed{" + stripped + "}"


@lru_cache(maxsize=8192)
def parse_answer(answer: str) -> tuple[Any, ...]:
    """The math-verify parse of one answer (cached; empty tuple if unparseable)."""
    if not answer or len(answer) > MAX_ANSWER_CHARS:
        return ()
    with _LOCK:
        try:
            return tuple(_math_verify().parse(_as_latex(answer), parsing_timeout=_timeout()))
        except Exception:  # math-verify raises on exotic input; unparseable is not an error
            return ()


@lru_cache(maxsize=16384)
def math_equal(gold: str, pred: str | None) -> bool:
    """Whether ``pred`` is mathematically equivalent to ``gold`` (math-verify; order matters:
    gold first, as math-verify's comparison is asymmetric)."""
    if pred is None or not pred.strip():
        return False
    if gold.strip() == pred.strip():
        return True
    g, p = parse_answer(gold), parse_answer(pred)
    if not g or not p:
        return False
    with _LOCK:
        try:
            return bool(_math_verify().verify(list(g), list(p), timeout_seconds=_timeout()))
        except Exception:
            return False


def math_same(a: str, b: str) -> bool:
    """Symmetric equivalence for voting: two paths agree if either direction verifies."""
    return math_equal(a, b) or math_equal(b, a)


def parse_text(text: str) -> tuple[Any, ...]:
    """Parse a whole solution text as math-verify would (for diagnostics and tests)."""
    with _LOCK:
        try:
            return tuple(_math_verify().parse(text, parsing_timeout=_timeout()))
        except Exception:
            return ()
