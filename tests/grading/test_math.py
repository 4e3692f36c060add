"""math-verify grading on every bundled gold answer, from the main thread and from others."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from math_verify import verify

from workbench.grading.extract import extract_numeric
from workbench.grading.math import (
    MAX_ANSWER_CHARS,
    math_equal,
    math_same,
    parse_answer,
    parse_text,
)
from workbench.tasks import get_task
from workbench.tasks.base import Problem


@pytest.fixture(scope="module")
def math500() -> list[Problem]:
    return get_task("math500").load()


@pytest.fixture(scope="module")
def gsm8k() -> list[Problem]:
    return get_task("gsm8k").load()


def _self_verifies(answer: str) -> bool:
    """math-verify itself (no string shortcut): the gold parses and equals itself."""
    parsed = list(parse_answer(answer))
    return bool(parsed) and verify(parsed, parsed)


def test_math500_gold_verifies_against_itself(math500: list[Problem]) -> None:
    ok = sum(_self_verifies(p.answer) for p in math500)
    print(f"\nMATH-500 gold == gold through math-verify: {ok}/{len(math500)}")
    assert ok == len(math500) == 500


def test_math500_gold_against_reference_solution(math500: list[Problem]) -> None:
    """math-verify reading the whole reference solution (its own extraction) agrees with
    the gold answer; field notes measured 4992/5000 on full MATH."""
    ok = 0
    for p in math500:
        gold = list(parse_answer(p.answer))
        ok += bool(gold) and verify(gold, list(parse_text(p.meta["solution"])))
    print(f"\nMATH-500 gold vs math-verify parse of the reference solution: {ok}/500")
    assert ok >= 495


def test_math500_task_grades_its_own_solutions(math500: list[Problem]) -> None:
    task = get_task("math500")
    ok = sum(task.grade(p, task.extract(p.meta["solution"])) for p in math500)
    assert ok == 500


def test_gsm8k_gold_against_hashes_solution(gsm8k: list[Problem]) -> None:
    task = get_task("gsm8k")
    self_ok = sum(_self_verifies(p.answer) for p in gsm8k)
    extracted_ok = sum(task.grade(p, extract_numeric(p.meta["solution"])) for p in gsm8k)
    mv_ok = sum(math_equal(p.answer, extract_numeric(p.meta["solution"])) for p in gsm8k)
    raw_ok = 0
    for p in gsm8k:
        raw_ok += verify(list(parse_answer(p.answer)), list(parse_text(p.meta["solution"])))
    print(f"\nGSM8K gold == gold via math-verify: {self_ok}/1319; '####' extraction graded "
          f"numerically: {extracted_ok}/1319, via math-verify: {mv_ok}/1319; math-verify "
          f"reading the raw solution text: {raw_ok}/1319")
    assert self_ok == extracted_ok == mv_ok == 1319
    assert raw_ok >= 1300


@pytest.mark.parametrize(("gold", "pred"), [
    ("\\frac{1}{2}", "0.5"), ("\\frac{14}{3}", "14/3"), ("p - q", "-q + p"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)"), ("\\text{(C)}", "C"),
    ("90^\\circ", "90"), ("\\$18.90", "18.90"), ("3\\sqrt{13}", "\\sqrt{117}"),
])
def test_equivalent_forms(gold: str, pred: str) -> None:
    assert math_equal(gold, pred)


@pytest.mark.parametrize(("gold", "pred"), [
    ("\\frac{1}{2}", "0.6"), ("p - q", "q - p"), ("9", "-9"), ("9", None), ("9", "  "),
])
def test_different_answers(gold: str, pred: str | None) -> None:
    assert not math_equal(gold, pred)


def test_same_is_symmetric() -> None:
    assert math_same("0.5", "\\frac{1}{2}") and math_same("\\frac{1}{2}", "0.5")
    assert not math_same("1", "2")


def test_oversized_answer_is_refused_not_parsed() -> None:
    huge = "+".join(["x"] * MAX_ANSWER_CHARS)
    assert parse_answer(huge) == ()
    assert not math_equal("1", huge)


def test_grading_from_threads_matches_main_thread(math500: list[Problem]) -> None:
    """math-verify's signal timeouts raise ValueError off the main thread; ours must not."""
    pairs = [(p.answer, "$" + p.answer + "$") for p in math500[:60]]
    math_equal.cache_clear()
    parse_answer.cache_clear()
    errors: list[BaseException] = []

    def grade(pair: tuple[str, str]) -> bool:
        try:
            assert threading.current_thread() is not threading.main_thread()
            return math_equal(*pair)
        except BaseException as exc:  # collected and reported below
            errors.append(exc)
            raise

    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(grade, pairs))
    assert not errors
    math_equal.cache_clear()
    assert threaded == [math_equal(*pair) for pair in pairs]
    assert sum(threaded) == len(pairs)


def test_parses_are_cached() -> None:
    parse_answer.cache_clear()
    parse_answer("\\frac{7}{9}")
    parse_answer("\\frac{7}{9}")
    assert parse_answer.cache_info().hits == 1
