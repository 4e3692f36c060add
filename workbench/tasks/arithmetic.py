"""A procedural task of easy arithmetic word problems with a difficulty knob.

Why procedural: inference-time-compute experiments need a task that a 0.5B model solves
only *partly*, so that more reasoning tokens, more samples or refinement visibly move
accuracy; and they need unlimited, uncontaminated, licence-free items. Two knobs set the
difficulty: ``digits`` (size of the numbers) and ``steps`` (number of operations after the
starting amount). Every item is a pure function of (seed, digits, steps, index): the same
arguments give the same text and answer on every machine and Python version.

Example (digits=2, steps=3): "Tom has 23 apples. He buys 4 bags with 6 apples in each bag.
He gives 17 apples to Mia. Then the number of apples he has doubles. How many apples does
Tom have now?"
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from workbench.errors import WorkbenchError
from workbench.tasks.base import Problem
from workbench.tasks.formats import NumericFormat, ProblemSetTask

NAMES = (("Tom", "he", "his"), ("Anna", "she", "her"), ("Ravi", "he", "his"),
         ("Mei", "she", "her"), ("Lucas", "he", "his"), ("Sofia", "she", "her"),
         ("Omar", "he", "his"), ("Grace", "she", "her"), ("Diego", "he", "his"),
         ("Amara", "she", "her"), ("Kenji", "he", "his"), ("Lena", "she", "her"))
FRIENDS = ("Mia", "Ben", "Zoe", "Sam", "Ivy", "Leo", "Nora", "Max")
ITEMS = ("apples", "marbles", "stickers", "pencils", "cookies", "books", "coins",
         "stamps", "shells", "cards", "eggs", "balloons")
CONTAINERS = ("bags", "boxes", "packs", "jars", "crates", "baskets")
MAX_DIGITS, MAX_STEPS = 5, 8
DEFAULTS = {"digits": 2, "steps": "1-4", "size": 200, "seed": 0}


@dataclass
class _State:
    rng: random.Random
    digits: int
    value: int
    name: str
    he: str
    his: str
    item: str

    def number(self) -> int:
        """A number with ``digits`` digits (2..9 for one digit)."""
        low = 2 if self.digits == 1 else 10 ** (self.digits - 1)
        return self.rng.randint(low, 10**self.digits - 1)


def _add(s: _State) -> str:
    b = s.number()
    s.value += b
    verb = s.rng.choice(("buys", "finds", "is given", "collects"))
    return f"{s.he.capitalize()} {verb} {b} more {s.item}."


def _subtract(s: _State) -> str | None:
    if s.value < 2:
        return None
    b = min(s.number(), s.value - 1) if s.rng.random() < 0.9 else s.value // 2
    b = max(1, b)
    s.value -= b
    friend = s.rng.choice(FRIENDS)
    return f"{s.he.capitalize()} gives {b} {s.item} to {friend}."


def _groups(s: _State) -> str:
    k, m = s.rng.randint(2, 9), s.number()
    s.value += k * m
    box = s.rng.choice(CONTAINERS)
    return f"{s.he.capitalize()} buys {k} {box} with {m} {s.item} in each of them."


def _scale(s: _State) -> str | None:
    if s.value >= 10 ** (s.digits + 1):
        return None
    factor, word = s.rng.choice(((2, "doubles"), (3, "triples")))
    s.value *= factor
    return f"Then the number of {s.item} {s.he} has {word}."


def _share(s: _State) -> str | None:
    divisors = [n for n in range(2, 10) if s.value % n == 0 and s.value // n >= 1]
    if not divisors:
        return None
    n = s.rng.choice(divisors)
    s.value //= n
    return (f"{s.he.capitalize()} splits {s.his} {s.item} into {n} equal piles and keeps "
            f"only one pile.")


OPS: dict[str, Callable[[_State], str | None]] = {
    "add": _add, "subtract": _subtract, "groups": _groups, "scale": _scale, "share": _share,
}
_WEIGHTS = {"add": 3, "subtract": 3, "groups": 2, "scale": 1, "share": 1}


def make_problem(seed: int, digits: int, steps: int, index: int) -> tuple[str, int, list[str]]:
    """(question, answer, operation names) for one item; pure in its four arguments."""
    rng = random.Random(f"arithmetic|{seed}|{digits}|{steps}|{index}")
    name, he, his = rng.choice(NAMES)
    state = _State(rng, digits, 0, name, he, his, rng.choice(ITEMS))
    state.value = state.number()
    sentences = [f"{name} has {state.value} {state.item}."]
    ops: list[str] = []
    names, weights = list(_WEIGHTS), list(_WEIGHTS.values())
    while len(ops) < steps:
        op = rng.choices(names, weights)[0]
        sentence = OPS[op](state)
        if sentence is not None:
            sentences.append(sentence)
            ops.append(op)
    sentences.append(f"How many {state.item} does {name} have now?")
    return " ".join(sentences), state.value, ops


def parse_range(value: int | str | tuple[int, int] | list[int], what: str, top: int
                ) -> list[int]:
    """The values a knob cycles through: 3 -> [3]; "2-4" or (2, 4) -> [2, 3, 4]."""
    try:
        if isinstance(value, (tuple, list)):
            low, high = int(value[0]), int(value[-1])
        elif isinstance(value, str) and "-" in value.strip().lstrip("-"):
            a, b = value.split("-", 1)
            low, high = int(a), int(b)
        else:
            low = high = int(value)
    except (TypeError, ValueError, IndexError):
        raise WorkbenchError(
            f"arithmetic: {what}={value!r} is not a number or a range like '2-4'.") from None
    if not 1 <= low <= high <= top:
        raise WorkbenchError(f"arithmetic: {what} must be within 1..{top} (got {value!r}).")
    return list(range(low, high + 1))


def task_name(digits: object, steps: object, size: int, seed: int) -> str:
    """"arithmetic" for the defaults, else "arithmetic:digits=3,steps=2-4,...", which
    :func:`workbench.tasks.get_task` parses back into the same task."""
    given = {"digits": digits, "steps": steps, "size": size, "seed": seed}
    parts = []
    for key, value in given.items():
        if isinstance(value, (tuple, list)):
            value = f"{value[0]}-{value[-1]}" if value[0] != value[-1] else value[0]
        if str(value) != str(DEFAULTS[key]):
            parts.append(f"{key}={value}")
    return "arithmetic" + (":" + ",".join(parts) if parts else "")


def arithmetic(digits: int | str | tuple[int, int] = 2,
               steps: int | str | tuple[int, int] = "1-4",
               size: int | str = 200, seed: int | str = 0) -> ProblemSetTask:
    """Build the task. ``digits``/``steps`` may be ranges ("2-4"): items then cycle through
    every (digits, steps) combination, which gives an accuracy-vs-difficulty curve.

    The default (2-digit numbers, 1 to 4 steps) spans items a 0.5B model nearly always
    solves with chain of thought to items it mostly fails, so that every inference-time
    technique has room to help, and the difficulty breakdown has four levels."""
    digit_values = parse_range(digits, "digits", MAX_DIGITS)
    step_values = parse_range(steps, "steps", MAX_STEPS)
    try:
        n, seed_value = int(size), int(seed)
    except (TypeError, ValueError):
        raise WorkbenchError(f"arithmetic: size and seed must be integers "
                             f"(got size={size!r}, seed={seed!r}).") from None
    if not 1 <= n <= 100_000:
        raise WorkbenchError(f"arithmetic: size must be within 1..100000 (got {n}).")
    combos = [(d, k) for k in step_values for d in digit_values]

    def load() -> list[Problem]:
        problems = []
        for index in range(n):
            d, k = combos[index % len(combos)]
            question, answer, ops = make_problem(seed_value, d, k, index)
            problems.append(Problem(
                id=f"arith-s{seed_value}-d{d}-k{k}-{index}", index=index, question=question,
                answer=str(answer),
                meta={"digits": d, "steps": k, "difficulty": d + k - 1, "ops": ops}))
        return problems

    span = (f"{digit_values[0]}-{digit_values[-1]}" if len(digit_values) > 1
            else str(digit_values[0]))
    step_span = (f"{step_values[0]}-{step_values[-1]}" if len(step_values) > 1
                 else str(step_values[0]))
    return ProblemSetTask(
        name=task_name(digits, steps, n, seed_value), kind="math", licence="MIT (generated)",
        description=f"Procedural arithmetic word problems ({span}-digit numbers, "
                    f"{step_span} steps, seed {seed_value}); difficulty = digits + steps - 1",
        format=NumericFormat(), loader=load)
