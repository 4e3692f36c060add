r"""The numeric answer rules, in order: ``\boxed{}``, an answer phrase, the final sentence.

Why these rules abstain so readily: a wrong answer credited (a false positive) is worse
for a researcher than an answer missed, because it inflates exactly the figures the
workbench exists to compare. So a clause that names two answers ("either 12 or 14",
"between 12 and 14") abstains, a negated number ("not 12") is never the answer, and an
explicit answer phrase that ends up naming nothing stops the search instead of letting a
weaker rule pick some other number out of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from workbench.grading.numbers import canonical, numbers_in, plain_numbers
from workbench.grading.segments import (
    ANSWER_PHRASE_RE,
    answer_clause,
    boxes,
    final_segment,
    masked,
    sentence_end,
    sentences,
)

_N = r"-?\d[\d./]*"
_NEG_RE = re.compile(
    rf"(?:\bnot|n't|\bnever|\brather\s+than|\binstead\s+of|\bno\s+longer)\s+(?:be\s+|equal\s+"
    rf"(?:to\s+)?|exactly\s+|just\s+|the\s+)?[$€£]?\s*({_N})%?", re.IGNORECASE)
_ALT_RE = re.compile(
    rf"({_N})\s*%?\s*(?:[a-zA-Z]+\s+)?,?\s*(?:\bor\b|\band/or\b|\s/\s)\s*(?:maybe\s+|perhaps\s+"
    rf"|possibly\s+|even\s+|else\s+)?[$€£]?\s*({_N})", re.IGNORECASE)
_RANGE_RE = re.compile(rf"\b(?:between|from)\s+[$€£]?\s*({_N})\s*%?\s*[a-zA-Z]*\s+(?:and|to)\s+"
                       rf"[$€£]?\s*({_N})", re.IGNORECASE)
_AND_PAIR_RE = re.compile(rf"^\s*[$€£]?\s*({_N})\s*[a-zA-Z]*\s*(?:,|\band\b|&|\bto\b)\s*[$€£]?\s*({_N})"
                          rf"\s*[a-zA-Z]*\s*[.!]?\s*$", re.IGNORECASE)
_COMMA_DECIMAL_RE = re.compile(r"(?<![\d,])\d+,\d{1,2}(?![\d,])")
_HEDGE_RE = re.compile(r"\b(?:either|(?:could|might|may)\s+(?:also\s+|well\s+)?be|maybe|perhaps|"
                       r"possibly|alternatively|not\s+sure|unsure)\b", re.IGNORECASE)
_PAREN_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


@dataclass(frozen=True)
class Reading:
    """What one clause says: a value (or None) and why ("ok", "none", "ambiguous", "negated")."""

    value: Fraction | None
    status: str
    token: str = ""

    def text(self) -> str | None:
        """The stored answer: "a/b" when written as a fraction, else :func:`canonical`."""
        if self.value is None:
            return None
        if "/" in self.token and self.value.denominator != 1:
            return f"{self.value.numerator}/{self.value.denominator}"
        return canonical(self.value)


def _distinct(a: str, b: str) -> bool:
    fa, fb = numbers_in(a), numbers_in(b)
    return bool(fa and fb) and fa[0][0] != fb[0][0]


def _ambiguous(plain: str) -> bool:
    """Whether the clause offers two different answers."""
    for rx in (_ALT_RE, _RANGE_RE):
        if any(_distinct(m.group(1), m.group(2)) for m in rx.finditer(plain)):
            return True
    pair = _AND_PAIR_RE.match(plain)
    if pair and _distinct(pair.group(1), pair.group(2)):
        return True
    if _HEDGE_RE.search(plain):  # "17, but it could also be 18"
        return len({v for v, _, _ in numbers_in(plain)}) > 1
    return False


def read_number(clause: str, *, last: bool = False) -> Reading:
    """The one number a clause states, reading it as a careful human would.

    ``last`` picks the last remaining number (the final-sentence fallback) instead of the
    first (right after an answer phrase: "18 dollars, since 3 x 6 = 18" -> 18).
    """
    plain = plain_numbers(clause).replace("*", " ").replace("\\", " ")
    if not numbers_in(plain):
        return Reading(None, "none")
    if _COMMA_DECIMAL_RE.search(plain):  # "3,5": a European 3.5 or the list "3, 5"
        return Reading(None, "ambiguous")
    if _ambiguous(plain):
        return Reading(None, "ambiguous")
    plain = _NEG_RE.sub(" ", plain)
    if not numbers_in(plain):
        return Reading(None, "negated")
    if "=" in plain and numbers_in(tail := plain.rsplit("=", 1)[1]):
        plain = tail
    outside = plain
    while (stripped := _PAREN_RE.sub(" ", outside)) != outside:
        outside = stripped
    if numbers_in(outside):
        plain = outside
    found = numbers_in(plain)
    value, start, end = found[-1] if last else found[0]
    return Reading(value, "ok", plain[start:end])


Result = tuple[str | None, str, tuple[int, int] | None]


def _boxed(segment: str, mask: str) -> Result | None:
    found = boxes(segment)
    if not found:
        return None
    content, start, end = found[-1]
    reading = read_number(content)
    if reading.status == "none":
        return None
    if len(found) > 1:
        prev = found[-2]
        between = segment[prev[2] : start]
        if re.search(r"\bor\b", between) and read_number(prev[0]).value != reading.value:
            return None, "ambiguous", (prev[1], end)
    if reading.value is None:
        return None, reading.status, (start, end)
    return reading.text(), "boxed", (start, end)


def _phrase(segment: str, mask: str) -> Result | None:
    matches = [m for m in ANSWER_PHRASE_RE.finditer(segment) if mask[m.start()] != "M"]
    for m in reversed(matches):
        start, end = answer_clause(segment, m.end(), mask)
        reading = read_number(segment[start:end])
        rule = "hashes" if m.group(0).startswith("#") else "answer_phrase"
        if reading.status == "none":
            continue  # "the answer is below:" names nothing; an earlier phrase may
        if reading.value is None:
            return None, reading.status, (m.start(), end)
        return reading.text(), rule, (start, end)
    return None


def _final_sentence(segment: str, mask: str) -> Result | None:
    for start, end in reversed(sentences(segment)):
        reading = read_number(segment[start:end], last=True)
        if reading.status == "none":
            continue
        if reading.value is None:
            return None, reading.status, (start, end)
        single = len(numbers_in(plain_numbers(segment[start:end]))) == 1
        return reading.text(), "final_sentence" if single else "last_number", (start, end)
    return None


NUMERIC_RULES = (("boxed", _boxed), ("answer_phrase", _phrase), ("final_sentence",
                                                                  _final_sentence))
"""Ordered: the first rule that finds something (an answer or a reason to abstain) wins."""


def extract_numeric_rules(text: str) -> Result:
    """(answer, rule, span) for a numeric task; span indexes ``text``."""
    segment = final_segment(text)
    mask = masked(segment)
    for _, rule in NUMERIC_RULES:
        found = rule(segment, mask)
        if found is not None:
            return found
    return None, "none", None


__all__ = ["NUMERIC_RULES", "Reading", "extract_numeric_rules", "read_number",
           "sentence_end"]
