"""Pull the final answer out of free model text, and normalise numbers for comparison.

Why so many fallbacks: small models rarely follow the answer format exactly. The order of
preference is what the prompt asked for first ("The answer is N"), then the formats models
learned in training (``#### N``, ``\\boxed{N}``), then the last number in the text. Each
function returns None rather than guessing when nothing usable is found, so "no answer"
stays distinguishable from "wrong answer" in the traces.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

# A number as models write it: optional sign, thousands separators, decimals, or a/b.
_NUM = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?|-?\.\d+"
_NUM_RE = re.compile(_NUM)
_ANSWER_IS_RE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|:|=)\s*:?", re.IGNORECASE
)
_HASHES_RE = re.compile(r"####\s*(.+)")
_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_BOX_CMDS = ("\\boxed", "\\fbox")
_LATEX_FRAC_RE = re.compile(r"\\[dt]?frac\{(-?\d+)\}\{(-?\d+)\}")


def _braced(text: str, open_at: int) -> tuple[str, int] | None:
    """The content of the brace group opening at ``open_at`` and the index after it."""
    depth = 0
    for j in range(open_at, len(text)):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : j], j + 1
    return None


def boxed_all(text: str) -> list[str]:
    r"""Every ``\boxed{...}`` / ``\fbox{...}`` content in order; nested braces respected.

    Also accepts the brace-less form ``\boxed 5`` that some models emit.
    """
    found: list[tuple[int, str]] = []
    for cmd in _BOX_CMDS:
        start = 0
        while (at := text.find(cmd, start)) >= 0:
            rest = at + len(cmd)
            start = rest
            if text.startswith("{", rest):
                group = _braced(text, rest)
                if group is not None:
                    found.append((at, group[0].strip()))
                    start = group[1]
            elif m := re.match(r"\s+([^\s$]+)", text[rest:]):
                found.append((at, m.group(1).strip()))
    return [content for _, content in sorted(found)]


def last_boxed(text: str) -> str | None:
    r"""The last ``\boxed{}`` content (the convention for a final answer), or None."""
    boxes = boxed_all(text)
    return boxes[-1] if boxes else None


def normalise_number(raw: str) -> str | None:
    """Canonical text for a number written in ``raw``, or None if it is not one number.

    Strips ``$``, commas, percent signs, units and trailing full stops; "1,000", "1000.0"
    and "$1000" all become "1000"; "0.50" becomes "0.5"; "6/8" and "\\frac{3}{4}" become
    "3/4". Used for both gold and predicted answers so they compare as text.
    """
    text = raw.strip().replace("\\$", "").replace("$", "").replace("\\%", "%")
    text = _LATEX_FRAC_RE.sub(r"\1/\2", text)
    text = re.sub(r"\\(?:text|mathrm|textbf|mathbf)\{([^{}]*)\}", r"\1", text)
    text = text.replace("\\!", "").replace("{,}", ",").replace("\\,", "")
    matches = _NUM_RE.findall(text)
    if not matches:
        return None
    return _canonical(matches[0])


def _canonical(token: str) -> str | None:
    """Canonical form of one matched numeric token."""
    token = token.replace(",", "").replace(" ", "")
    try:
        if "/" in token:
            num, den = token.split("/")
            value = Fraction(Decimal(num)) / Fraction(Decimal(den))
        else:
            value = Fraction(Decimal(token))
    except (InvalidOperation, ZeroDivisionError, ValueError):
        return None
    if value.denominator == 1:
        return str(value.numerator)
    if "/" in token:
        return f"{value.numerator}/{value.denominator}"
    return format(Decimal(token).normalize(), "f")


def to_fraction(text: str) -> Fraction | None:
    """Exact value of a canonical number from :func:`normalise_number` (or None)."""
    canon = normalise_number(text)
    if canon is None:
        return None
    if "/" in canon:
        num, den = canon.split("/")
        return Fraction(int(num), int(den))
    return Fraction(Decimal(canon))


def numbers_equal(a: str, b: str) -> bool:
    """Whether two answers denote the same number ("1,000" == "1000.0" == "$1000")."""
    fa, fb = to_fraction(a), to_fraction(b)
    if fa is None or fb is None:
        return a.strip() == b.strip() and a.strip() != ""
    return fa == fb


def _after_answer_phrase(text: str) -> str | None:
    """The number stated right after the last "The answer is" phrase, if any."""
    matches = list(_ANSWER_IS_RE.finditer(text))
    for m in reversed(matches):
        tail = text[m.end() :]
        segment = re.split(r"\n|(?<=[^\d,])\.(?:\s|$)|\.\s", tail, maxsplit=1)[0]
        segment = segment.replace("*", "")
        boxed = last_boxed(segment)
        if boxed is not None and (num := normalise_number(boxed)) is not None:
            return num
        if "=" in segment:  # "The answer is 5 + 3 = 8" -> 8
            segment = segment.rsplit("=", 1)[1]
        if (num := normalise_number(segment)) is not None:
            return num
    return None


def extract_numeric(text: str) -> str | None:
    """The final numeric answer in model text, normalised, or None.

    Preference: "The answer is N" > "#### N" > last ``\\boxed{}`` > last number in the text.
    """
    if not text or not text.strip():
        return None
    if (num := _after_answer_phrase(text)) is not None:
        return num
    hashes = _HASHES_RE.findall(text)
    if hashes and (num := normalise_number(hashes[-1])) is not None:
        return num
    boxed = last_boxed(text)
    if boxed is not None and (num := normalise_number(boxed)) is not None:
        return num
    cleaned = _LATEX_FRAC_RE.sub(r"\1/\2", text.replace("$", ""))
    numbers = _NUM_RE.findall(cleaned)
    if not numbers:
        return None
    return _canonical(numbers[-1])


def extract_latex_answer(text: str) -> str | None:
    r"""The final answer of a MATH-style solution: last ``\boxed{}``, else "The answer is X".

    Returns the raw LaTeX (not normalised): math-verify does the equivalence checking.
    """
    if not text or not text.strip():
        return None
    boxed = last_boxed(text)
    if boxed:
        return boxed
    matches = list(_ANSWER_IS_RE.finditer(text))
    if matches:
        tail = text[matches[-1].end() :].strip()
        line = tail.split("\n", 1)[0]
        line = re.sub(r"[.\s]+$", "", line).strip("*$ ")
        if line:
            return line
    return extract_numeric(text)


def extract_code(text: str) -> str | None:
    """Python source from a model reply: the ```python block, else the raw text.

    With several fenced blocks, the first python-tagged block that defines something wins
    (later blocks are usually example usage or invented "output").
    """
    if not text or not text.strip():
        return None
    blocks = [(lang.lower(), body) for lang, body in _FENCE_RE.findall(text)]
    if not blocks:
        return text.strip("\n") or None
    pythonish = [b for lang, b in blocks if lang in ("python", "py", "python3", "")]
    candidates = pythonish or [b for _, b in blocks]
    for body in candidates:
        if re.search(r"^\s*(?:def|class|import|from)\s", body, re.MULTILINE):
            return body.rstrip() or None
    return candidates[0].rstrip() or None
