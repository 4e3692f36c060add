"""Answer extraction from model text: the formats small models actually produce."""

from __future__ import annotations

import pytest

from workbench.grading.extract import (
    boxed_all,
    extract_code,
    extract_latex_answer,
    extract_numeric,
    last_boxed,
    normalise_number,
    numbers_equal,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("Tom has 23 + 24 = 47 apples. The answer is 47.", "47"),
    ("The answer is $1,000.", "1000"),
    ("The answer is: **18**", "18"),
    ("So the final answer is 18 dollars.", "18"),
    ("The answer is 5 + 3 = 8.", "8"),
    ("The answer is -12.", "-12"),
    ("The answer is 2.50.", "2.5"),
    ("The answer is \\boxed{42}.", "42"),
    ("Step 1: 3*4=12\n#### 12", "12"),
    ("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\n#### 1,234", "1234"),
    ("We get \\boxed{\\frac{3}{4}}", "3/4"),
    ("Thus the result is $\\boxed{17}$", "17"),
    ("She has 5 apples, then 7, and finally 12 apples", "12"),
    ("The answer is 7.\nNext question: 3 + 4 = 9", "7"),  # first stated answer phrase wins
    ("Answer: 1000.0", "1000"),
    ("The answer is 50%.", "50"),
    ("The answer is .5", "0.5"),
    ("The answer is 6/8.", "3/4"),
])
def test_extract_numeric(text: str, expected: str) -> None:
    assert extract_numeric(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "I am not sure.", "The answer is unknown."])
def test_extract_numeric_none(text: str) -> None:
    assert extract_numeric(text) is None


def test_last_answer_phrase_wins_over_earlier_ones() -> None:
    text = "At first I thought the answer is 10. Wait, recheck.\nThe answer is 12."
    assert extract_numeric(text) == "12"


@pytest.mark.parametrize(("a", "b", "equal"), [
    ("1,000", "1000", True), ("1000", "1000.0", True), ("$1000", "1000", True),
    ("0.5", "1/2", True), ("3/4", "0.75", True), ("-3", "3", False), ("18", "180", False),
    ("abc", "abc", True), ("abc", "abd", False), ("", "", False),
])
def test_numbers_equal(a: str, b: str, equal: bool) -> None:
    assert numbers_equal(a, b) is equal
    assert numbers_equal(b, a) is equal


@pytest.mark.parametrize(("raw", "canon"), [
    ("1,234,567", "1234567"), ("$18.00", "18"), ("\\$32,\\!348", "32348"),
    ("\\text{5 cm}", "5"), ("\\frac{10}{4}", "5/2"), ("-0.250", "-0.25"), ("none", None),
])
def test_normalise_number(raw: str, canon: str | None) -> None:
    assert normalise_number(raw) == canon


def test_boxed_nested_braces() -> None:
    text = r"so $\boxed{\frac{\sqrt{3}}{2}}$ and later \boxed{\left( 3, \frac{\pi}{2} \right)}."
    assert boxed_all(text) == [r"\frac{\sqrt{3}}{2}", r"\left( 3, \frac{\pi}{2} \right)"]
    assert last_boxed(text) == r"\left( 3, \frac{\pi}{2} \right)"


def test_boxed_variants() -> None:
    assert last_boxed(r"\fbox{7}") == "7"
    assert last_boxed(r"the answer is \boxed 5.") == "5."
    assert last_boxed(r"\boxed{unclosed {") is None
    assert last_boxed("no box") is None


@pytest.mark.parametrize(("text", "expected"), [
    (r"Hence $x = \boxed{p - q}$.", "p - q"),
    ("The answer is $\\frac{14}{3}$.", "\\frac{14}{3}"),
    ("The final answer is: 9", "9"),
    ("lots of words and 42 at the end", None),  # LaTeX never falls back to "last number"
    ("", None),
])
def test_extract_latex_answer(text: str, expected: str | None) -> None:
    assert extract_latex_answer(text) == expected


def test_extract_code_prefers_python_block_with_definition() -> None:
    text = ("Here is the code:\n```python\ndef f(x):\n    return x + 1\n```\n"
            "Example:\n```python\nprint(f(1))\n```\nOutput:\n```\n2\n```")
    assert extract_code(text) == "def f(x):\n    return x + 1"


def test_extract_code_untagged_truncated_and_raw() -> None:
    assert extract_code("```\nimport math\nx = 1\n```") == "import math\nx = 1"
    truncated = "```python\ndef g():\n    return 2"  # the model ran out of tokens
    assert extract_code(truncated) == "def g():\n    return 2"
    body = "    return sorted(xs)\n"
    assert extract_code(body) == "    return sorted(xs)"  # indentation kept
    assert extract_code("  \n") is None
