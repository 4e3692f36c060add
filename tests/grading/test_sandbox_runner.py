"""The wire codec between the candidate and checker sandboxes: only built-in data crosses,
and what crosses compares exactly as the original would have in-process."""

from __future__ import annotations

import math
from collections import Counter, OrderedDict, namedtuple
from typing import Any

import pytest

from workbench.grading._sandbox_runner import _exception_for, decode, encode
from workbench.grading.code import DEFAULT_LIMITS, check_program

Point = namedtuple("Point", "x y")
VALUES: list[Any] = [None, True, False, 0, -7, 10 ** 5000, 1.5, -0.0, math.inf, 1e-300,
                     2 + 3j, "", "naïve \ud800 text", b"\x00\xff", (), (1, "a"), [1, [2, [3]]],
                     {1, 2}, frozenset({"x"}), {"a": [1], (1, 2): {3: None}}, range(2, 9, 3)]


@pytest.mark.parametrize("value", VALUES, ids=[f"{i}-{type(v).__name__}" for i, v in enumerate(VALUES)])
def test_round_trip_keeps_value_and_exact_type(value: Any) -> None:
    back = decode(encode(value))
    assert back == value and type(back) is type(value)


def test_nan_round_trips() -> None:
    assert math.isnan(decode(encode(float("nan"))))


def test_subclasses_arrive_as_their_plain_base() -> None:
    class Sly(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    for value, plain in ((Sly(3), 3), (Point(1, 2), (1, 2)), (Counter("aab"), {"a": 2, "b": 1}),
                         (OrderedDict(b=1, a=2), {"b": 1, "a": 2})):
        back = decode(encode(value))
        assert back == plain and type(back) is type(plain)
    assert decode(encode(Sly(3))) != 4  # the doctored __eq__ did not cross


def test_iterators_arrive_as_iterators() -> None:
    back = decode(encode(x * 2 for x in range(3)))
    assert back != [0, 2, 4] and list(back) == [0, 2, 4]  # as a generator would compare


def test_other_objects_are_refused() -> None:
    class Yes:
        def __eq__(self, other: object) -> bool:
            return True

    for value in (Yes(), object(), len, type):
        with pytest.raises(TypeError, match="cannot cross the sandbox boundary"):
            encode(value)


@pytest.mark.parametrize("node", [["x", 1], ["v", 1], ["v", "yes"], ["i", 5], ["s", 5],
                                  ["l", "abc"], ["d", [[["l", []], ["v", None]]]], [], 5,
                                  ["r", "0x1"], ["f", ["s", "1"]]])
def test_decoder_is_strict(node: Any) -> None:
    with pytest.raises((ValueError, TypeError, IndexError, KeyError)):
        decode(node)


def test_exceptions_map_to_builtins_but_never_control_flow() -> None:
    assert type(_exception_for("ValueError", "bad")) is ValueError
    for name in ("StopIteration", "StopAsyncIteration", "SystemExit", "KeyboardInterrupt",
                 "NoSuchError", "__import__"):
        assert type(_exception_for(name, "x")) is RuntimeError


def test_generators_grade_like_the_reference_harness() -> None:
    """A generator answer passes ``tuple(candidate())`` and fails ``candidate() == [...]``,
    exactly as it would if the test ran in the candidate's own process."""
    source = "def f(n):\n    return (i * i for i in range(n))\n"
    as_tuple = "def check(candidate):\n    assert tuple(candidate(3)) == (0, 1, 4)\n"
    as_list = "def check(candidate):\n    assert candidate(3) == [0, 1, 4]\n"
    assert check_program(source, as_tuple, "f", DEFAULT_LIMITS).passed
    assert not check_program(source, as_list, "f", DEFAULT_LIMITS).passed


def test_candidate_exceptions_reach_the_tests() -> None:
    source = "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n"
    tests = ("def check(candidate):\n    try:\n        candidate(-1)\n    except ValueError:\n"
             "        pass\n    else:\n        raise AssertionError('no error')\n"
             "    assert candidate(2) == 2\n")
    assert check_program(source, tests, "f", DEFAULT_LIMITS).passed


def test_a_test_that_swallows_errors_cannot_hide_a_dead_candidate() -> None:
    source = "import os\ndef f(x):\n    os._exit(0)\n"
    tests = "def check(candidate):\n    try:\n        candidate(1)\n    except Exception:\n        pass\n"
    result = check_program(source, tests, "f", DEFAULT_LIMITS)
    assert (result.passed, result.reason, result.error_type) == (False, "crash", "EarlyExit")
