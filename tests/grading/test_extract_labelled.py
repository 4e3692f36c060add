"""Extraction against a hand-labelled set: does it agree with a careful human grader?

``data/extraction_labels.jsonl`` holds model-style outputs (numeric, LaTeX/MATH, multiple
choice), each labelled with the answer a careful human reads in it (``expected``; null when
a human would not credit any answer: hedges, two answers, negations, no answer) and the
item's gold answer. The test reports agreement, every disagreement and every false
positive: an output the extractor gets credited for where the human label is not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workbench.grading.extract import FALLBACK_RULES, extract_answer
from workbench.grading.math import math_equal, math_same
from workbench.grading.numbers import numbers_equal

DATA = Path(__file__).parent / "data" / "extraction_labels.jsonl"
MIN_AGREEMENT = 0.97


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def _same(fmt: str, a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if fmt == "numeric":
        return numbers_equal(a, b)
    if fmt == "latex":
        return a.strip() == b.strip() or math_same(a, b)
    return a.strip().upper() == b.strip().upper()


def _credited(fmt: str, gold: str, answer: str | None) -> bool:
    if answer is None:
        return False
    if fmt == "numeric":
        return numbers_equal(gold, answer)
    if fmt == "latex":
        return math_equal(gold, answer)
    return gold.strip().upper() == answer.strip().upper()


def test_labelled_set_is_big_and_varied() -> None:
    rows = _rows()
    assert len(rows) >= 150
    formats = {r["format"] for r in rows}
    assert formats == {"numeric", "latex", "mc"}
    assert sum(r["expected"] is None for r in rows) >= 25  # abstentions are labelled too


def test_agreement_with_a_careful_human(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows()
    disagree, false_pos = [], []
    for r in rows:
        got = extract_answer(r["text"], r["format"])
        if not _same(r["format"], r["expected"], got.answer):
            disagree.append((r, got))
        if _credited(r["format"], r["gold"], got.answer) and not _credited(
                r["format"], r["gold"], r["expected"]):
            false_pos.append((r, got))
    agreement = 1 - len(disagree) / len(rows)
    with capsys.disabled():
        print(f"\nextraction vs hand labels: n={len(rows)}, agree={len(rows) - len(disagree)} "
              f"({agreement:.1%}), disagreements={len(disagree)}, "
              f"false positives={len(false_pos)}")
        for r, got in disagree:
            print(f"  DISAGREE [{r['format']}] {r['text'][:70]!r}: human={r['expected']!r} "
                  f"got={got.answer!r} ({got.rule})")
    assert not false_pos, [(r["text"], g.answer) for r, g in false_pos]
    assert agreement >= MIN_AGREEMENT


def test_every_extraction_names_its_rule_and_span() -> None:
    for r in _rows():
        got = extract_answer(r["text"], r["format"])
        assert got.rule
        if got.answer is not None:
            assert got.span is not None
            start, end = got.span
            assert 0 <= start <= end <= len(r["text"])
            if got.rule not in FALLBACK_RULES:
                assert r["text"][start:end].strip(), r["text"]
