r"""Pull the final answer out of free model text, recording which rule found it.

Why rules with names: a researcher auditing a score needs to know whether an answer came
from the format the prompt asked for (``\boxed{}``, "The answer is N") or from a fallback
(the last sentence), and a regrade needs to know which grader produced a stored answer.
:func:`extract_answer` therefore returns an :class:`Extraction` (answer, rule, span), and
:data:`GRADER_VERSION` names the rule set. Per answer format the rules are tried in
order, each reading only the final answer segment (see :mod:`workbench.grading.segments`):

* numeric: ``boxed`` > ``answer_phrase`` / ``hashes`` > ``final_sentence`` / ``last_number``
  (:mod:`workbench.grading.numeric`);
* latex: ``boxed`` > ``answer_phrase`` > ``final_math`` (the last math of the final
  sentence); never "the last number", which destroys ``2\sqrt{5}`` or ``(-6, 10)``;
* mc (multiple choice): ``boxed`` > ``answer_phrase`` > ``final_choice``;
* code: ``code_block`` > ``raw_text``.

An output that names two answers abstains (rule ``ambiguous``), one whose only candidate is
negated abstains (``negated``); nothing found is ``none``. None is never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.grading.numbers import normalise_number, numbers_equal, to_fraction
from workbench.grading.numeric import extract_numeric_rules
from workbench.grading.segments import (
    ANSWER_PHRASE_RE,
    answer_clause,
    boxes,
    final_segment,
    masked,
    math_spans,
    sentences,
)

GRADER_VERSION = "extract-2"
"""Version of the extraction rules; stored with every run (``runs.grader_version``).
Bump it whenever a rule changes what is extracted, so regrades can tell grades apart."""

FORMATS = ("numeric", "latex", "mc", "code")
_ALIASES = {"math": "latex", "tex": "latex", "number": "numeric", "multiple_choice": "mc",
            "choice": "mc", "python": "code"}
FALLBACK_RULES = frozenset({"final_sentence", "last_number", "final_math", "final_choice",
                            "raw_text"})
"""Rules that read an answer the prompt did not ask for (an audit lists these)."""

_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
Span = tuple[int, int]


@dataclass(frozen=True)
class Extraction:
    """An extracted answer (None: abstained), the rule that decided, and where in the text
    (``text[span[0]:span[1]]`` is the box, clause, math or sentence it was read from)."""

    answer: str | None
    rule: str
    span: Span | None = None


def answer_format_name(answer_format: str) -> str:
    """Canonical format name ("math" -> "latex"); raises ValueError for unknown ones."""
    name = _ALIASES.get(answer_format.strip().lower(), answer_format.strip().lower())
    if name not in FORMATS:
        raise ValueError(f"unknown answer format {answer_format!r}; use one of {FORMATS}")
    return name


def extract_answer(text: str, answer_format: str) -> Extraction:
    """The final answer of ``text`` for ``answer_format`` (numeric, latex, mc, code)."""
    fmt = answer_format_name(answer_format)
    if not text or not text.strip():
        return Extraction(None, "none", None)
    if fmt == "numeric":
        return Extraction(*extract_numeric_rules(text))
    if fmt == "latex":
        return _latex(text)
    if fmt == "mc":
        return _choice(text)
    return _code(text)


# ---- LaTeX -------------------------------------------------------------------------
_NAME_LHS_RE = re.compile(r"^\s*(?:[A-Za-z](?:_\{?\w+\}?)?|[A-Za-z]\([^()]*\)|(?:\\[A-Za-z]+\s*)+"
                           r"|m?\s*(?:\\[A-Za-z]+\s*)*[A-Z]{1,4})\s*$")


def _simple_lhs(lhs: str) -> bool:
    """Whether the left side of "=" only names the answer (``r``, ``f(2)``, ``\\sqrt{20}``,
    ``\\frac{a}{b}``) rather than being part of it (``x^2 + y^2 = 25``)."""
    if _NAME_LHS_RE.match(lhs):
        return True
    bare = re.sub(r"\\[A-Za-z]+", " ", lhs)
    if re.search(r"[<>]", bare):
        return False
    letters = re.findall(r"[A-Za-z]", bare)
    return not letters or (len(letters) <= 2 and not re.search(r"[+-]", bare))


_OR_RE = re.compile(r"\bor\b|\\text\{\s*or\s*\}|\\quad\s*\\text\{or\}", re.IGNORECASE)


def _top_level_eqs(content: str) -> list[int]:
    """Indexes of "=" outside braces/brackets that are not part of <=, >=, !=."""
    depth, found = 0, []
    for i, ch in enumerate(content):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch == "=" and depth == 0 and content[i - 1 : i] not in ("<", ">", "!", "\\"):
            found.append(i)
    return found


def _rhs(content: str) -> str:
    r"""``r = 2\sqrt{5}`` -> ``2\sqrt{5}`` when the left side only names the answer."""
    content = content.strip().rstrip(".,;").strip()
    eqs = _top_level_eqs(content)
    if not eqs or not content[eqs[-1] + 1 :].strip():
        return content
    if len(eqs) > 1 or _simple_lhs(content[: eqs[0]]):
        return content[eqs[-1] + 1 :].strip()
    return content


def _latex_clause(clause: str) -> tuple[str | None, str]:
    """The answer a LaTeX clause states: its last math span, else the clause itself."""
    spans = math_spans(clause)
    bare = masked(clause)
    if _OR_RE.search(bare) or any(_OR_RE.search(c) for c, _, _ in spans):
        return None, "ambiguous"
    if re.search(r"\bnot\b|n't\b", bare):  # "not $4$; it is $6$", "$\frac12$, not $\frac13$"
        parts = [m for m in re.finditer(r"[^;,]+", bare.replace(" but ", ";"))
                 if re.search(r"[\dM]", m.group(0))]
        keep = [m for m in parts if not re.search(r"\bnot\b|n't\b", m.group(0))]
        if not keep:
            return None, "negated"
        clause = clause[keep[-1].start() : keep[-1].end()]
        clause = re.sub(r"^\s*(?:it\s+is|it's|rather)\s+", "", clause)
        spans = math_spans(clause)
    if spans:
        return _rhs(spans[-1][0]) or None, "ok"
    text = re.sub(r"\*+|^[\s:]+|[\s.;,]+$", "", clause).strip().strip("$").strip()
    return (_rhs(text) or None), "ok" if text else "none"


def _same_math(a: str, b: str) -> bool:
    """Two spellings of one answer ("15\\frac{39}{40}, or \\frac{639}{40}") are not a hedge."""
    from workbench.grading.math import math_same  # sympy only when two boxes compete

    return a.strip() == b.strip() or math_same(a, b)


def _latex(text: str) -> Extraction:
    segment = final_segment(text)
    mask = masked(segment)
    if found := boxes(segment):
        content, start, end = found[-1]
        if _OR_RE.search(content):
            return Extraction(None, "ambiguous", (start, end))
        if len(found) > 1 and _OR_RE.search(segment[found[-2][2] : start]) and not _same_math(
                found[-2][0], content):
            return Extraction(None, "ambiguous", (found[-2][1], end))
        if content:
            return Extraction(content, "boxed", (start, end))
    for m in reversed([m for m in ANSWER_PHRASE_RE.finditer(segment) if mask[m.start()] != "M"]):
        start, end = answer_clause(segment, m.end(), mask)
        answer, status = _latex_clause(segment[start:end])
        if status != "none":
            return Extraction(answer, "answer_phrase" if answer else status, (start, end))
    return _final_math(segment)


def _final_math(segment: str) -> Extraction:
    """The last math of the final sentence that says anything (math or digits), or None."""
    for start, end in reversed(sentences(segment)):
        sentence = segment[start:end]
        spans = math_spans(sentence)
        if not spans and not re.search(r"\d", sentence):
            continue  # "Hope this helps!"
        if not spans:
            return Extraction(None, "none", (start, end))
        if re.search(r"\d", masked(sentence)[spans[-1][2] :]):
            return Extraction(None, "none", (start, end))  # "the value of $k$ is 7": no math
        answer, status = _latex_clause(sentence)
        return Extraction(answer, "final_math" if answer else status, (start, end))
    return Extraction(None, "none", None)


# ---- multiple choice ---------------------------------------------------------------
_LETTER_RE = re.compile(r"(?<![A-Za-z])\(?([A-F])\)?(?![A-Za-z'])")
_STRICT_LETTER_RE = re.compile(r"\(([A-F])\)|\b(?:option|choice)\s+\(?([A-F])\b|^\s*([A-F])\)",
                               re.IGNORECASE | re.MULTILINE)


def _letters(clause: str, strict: bool) -> tuple[str | None, str]:
    clause = re.split(r"\b(?:since|because|as|due\s+to|whereas)\b", clause, maxsplit=1)[0]
    rx = _STRICT_LETTER_RE if strict else _LETTER_RE
    found = [next(g for g in m.groups() if g).upper() for m in rx.finditer(clause)]
    if not found:
        return None, "none"
    if len(set(found)) > 1:
        return None, "ambiguous"
    return found[0], "ok"


def _choice(text: str) -> Extraction:
    segment = final_segment(text)
    mask = masked(segment)
    if found := boxes(segment):
        content, start, end = found[-1]
        letter, status = _letters(re.sub(r"\\text\{([^{}]*)\}", r"\1", content), False)
        if status != "none":
            return Extraction(letter, "boxed" if letter else status, (start, end))
    for m in reversed(list(ANSWER_PHRASE_RE.finditer(segment))):
        start, end = answer_clause(segment, m.end(), mask)
        letter, status = _letters(segment[start:end], False)
        if status != "none":
            return Extraction(letter, "answer_phrase" if letter else status, (start, end))
    for start, end in reversed(sentences(segment)):
        letter, status = _letters(segment[start:end], True)
        if status != "none":
            return Extraction(letter, "final_choice" if letter else status, (start, end))
    return Extraction(None, "none", None)


# ---- code --------------------------------------------------------------------------
def _code(text: str) -> Extraction:
    """The ```python block that defines something (first such), else the first block, else
    the raw text (later blocks are usually example usage or invented "output")."""
    blocks = [(m.group(1).lower(), m.group(2), m.span(2)) for m in _FENCE_RE.finditer(text)]
    if not blocks:
        body = text.strip("\n")
        return Extraction(body or None, "raw_text" if body else "none", (0, len(text)))
    pythonish = [b for b in blocks if b[0] in ("python", "py", "python3", "")]
    candidates = pythonish or blocks
    for _, body, span in candidates:
        if re.search(r"^\s*(?:def|class|import|from)\s", body, re.MULTILINE):
            return Extraction(body.rstrip() or None, "code_block", span)
    _, body, span = candidates[0]
    return Extraction(body.rstrip() or None, "code_block" if body.strip() else "none", span)


# ---- the older entry points (kept: tasks, tests and notebooks call them) -----------
def boxed_all(text: str) -> list[str]:
    r"""Every ``\boxed{...}`` / ``\fbox{...}`` content in order; nested braces respected."""
    return [content for content, _, _ in boxes(text)]


def last_boxed(text: str) -> str | None:
    r"""The last ``\boxed{}`` content (the convention for a final answer), or None."""
    found = boxes(text)
    return found[-1][0] if found else None


def extract_numeric(text: str) -> str | None:
    """The final numeric answer in model text, normalised, or None (see module doc)."""
    return extract_answer(text, "numeric").answer


def extract_latex_answer(text: str) -> str | None:
    """The final answer of a MATH-style solution as raw LaTeX, or None (see module doc)."""
    return extract_answer(text, "latex").answer


def extract_code(text: str) -> str | None:
    """Python source from a model reply: the ```python block, else the raw text."""
    return extract_answer(text, "code").answer


__all__ = ["FALLBACK_RULES", "FORMATS", "GRADER_VERSION", "Extraction", "answer_format_name",
           "boxed_all", "extract_answer", "extract_code", "extract_latex_answer",
           "extract_numeric", "last_boxed", "normalise_number", "numbers_equal",
           "to_fraction"]
