"""What the review tools need from the extractor: the answer, the rule that found it, where
in the text it was read, the grader version, and a second, independent opinion.

Why a compatibility layer: the rule-recording extractor
(``workbench.grading.extract.extract_answer`` / ``AnswerFormat.extract_answer`` returning
``Extraction(answer, rule, span)``, ``GRADER_VERSION``, ``FALLBACK_RULES``) may be absent
in an older workbench. Then the format's plain ``extract`` is used, the rule is unknown
(``None``), the span is found by searching the text for the answer, and the grader
version is a fingerprint of the grading source, so two different graders never share a
version string.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.grading import extract as _extract

SECOND_OPINION_CHARS = 3000
"""math-verify reads only the last this-many characters (the answer is at the end; the
whole of a long rambling output only costs time)."""

_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?")


@dataclass(frozen=True)
class Found:
    """An answer (None: abstained), the rule that produced it (None: unknown) and its span."""

    answer: str | None
    rule: str | None
    span: tuple[int, int] | None


def was_extracted(path: dict[str, Any]) -> bool:
    """Whether the live run read an answer from this stored path (a ``graded_paths`` row):
    it had one, or it is a forced answer, or it finished normally. A chain cut at its
    budget whose answer was left to a forced follow-up was never read, and is not now."""
    if path.get("stored_answer") is not None or path.get("role") == "forced_answer":
        return True
    return path.get("error") is None and path.get("finish_reason") not in ("length", "error")


def fallback_rules() -> frozenset[str]:
    """Rules that read an answer the prompt did not ask for (empty when unknown)."""
    return frozenset(getattr(_extract, "FALLBACK_RULES", frozenset()))


@lru_cache(maxsize=1)
def grader_version() -> str:
    """``GRADER_VERSION`` of the extractor, else ``legacy-<hash of the grading source>``."""
    version = getattr(_extract, "GRADER_VERSION", None)
    if version:
        return str(version)
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for rel in ("grading/extract.py", "grading/math.py", "tasks/formats.py"):
        path = root / rel
        if path.exists():
            digest.update(path.read_bytes())
    return "legacy-" + digest.hexdigest()[:10]


def locate(text: str, answer: str | None) -> tuple[int, int] | None:
    """Where ``answer`` was most likely read: its last literal occurrence, else the last
    number in the text that denotes the same value ("1,000" for "1000"), else None."""
    if not text or answer is None or not answer.strip():
        return None
    at = text.rfind(answer)
    if at >= 0:
        return at, at + len(answer)
    for m in reversed(list(_NUMBER_RE.finditer(text))):
        if _extract.numbers_equal(m.group(0), answer):
            return m.start(), m.end()
    return None


def extraction(fmt: Any, text: str | None) -> Found:
    """The current grader's reading of ``text`` under answer format ``fmt``."""
    if not text:
        return Found(None, None, None)
    if hasattr(fmt, "extract_answer"):
        e = fmt.extract_answer(text)
        span = tuple(e.span) if getattr(e, "span", None) else locate(text, e.answer)
        return Found(e.answer, e.rule, span)  # type: ignore[arg-type]
    answer = fmt.extract(text)
    return Found(answer, None, locate(text, answer))


def answer_key(fmt: Any, answer: str | None) -> str | None:
    """The format's canonical grouping key for ``answer`` where it has one."""
    if answer is None or not hasattr(fmt, "key"):
        return None
    return str(fmt.key(answer)) or None


def second_opinion(text: str | None) -> tuple[Any, ...]:
    """math-verify's own parse of the raw text (an extractor independent of ours)."""
    from workbench.grading.math import parse_text

    return parse_text(text[-SECOND_OPINION_CHARS:]) if text else ()


def opinion_text(parsed: tuple[Any, ...]) -> str | None:
    """The answer string math-verify read (its second element is the matched text)."""
    if not parsed:
        return None
    return str(parsed[1] if len(parsed) > 1 else parsed[0])


def agrees(answer: str | None, parsed: tuple[Any, ...]) -> bool:
    """Whether our answer and math-verify's reading of the text denote the same thing
    (both abstaining counts as agreement)."""
    theirs = opinion_text(parsed)
    if answer is None or theirs is None:
        return answer is None and theirs is None
    from workbench.grading.math import math_same

    return answer.strip() == theirs.strip() or math_same(answer, theirs)
