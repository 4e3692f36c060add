r"""Canonical answer keys: equivalent answers of one item get one key.

Why: self-consistency votes with the task's equivalence (``\frac{1}{2}``, ``0.5`` and
``\dfrac12`` are one answer), so maj@k, curves and adaptive replay from stored paths must
group answers the same way or they score a different vote than the one that ran. A key
is computed once per answer and stored (``paths.answer_key``):

* :func:`answer_key` is the per-answer canonical form: the exact value for numbers
  (``n:7/2``), math-verify's parse made canonical for LaTeX (floats as rationals,
  evaluated, expanded: ``m:2*sqrt(5)``), the letter for multiple choice, the AST for code.
* :class:`ItemKeys` then merges keys within one item exactly as the live vote groups
  answers (``techniques.voting.group_answers``): an answer whose canonical key is new but
  that the task's ``same`` finds equal to an earlier answer takes that answer's key. So
  grouping by stored key equals grouping by the live vote, even where math-verify's
  equivalence is wider than any canonical form.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

from workbench.grading.extract import answer_format_name
from workbench.grading.numbers import canonical, numbers_in, plain_numbers

MAX_KEY_CHARS = 120
"""Longer canonical forms are stored as a hash (same answer, same hash)."""

_MAX_EXPAND_CHARS = 200
_MAX_EXPONENT = 16


def _short(prefix: str, body: str) -> str:
    if len(body) <= MAX_KEY_CHARS:
        return f"{prefix}:{body}"
    return f"{prefix}#:{hashlib.sha256(body.encode('utf-8', 'replace')).hexdigest()[:32]}"


def _text_key(answer: str) -> str:
    """Whitespace-, case- and wrapper-insensitive text (the last resort)."""
    text = re.sub(r"\\(?:text|mathrm|textbf|mbox)\s*\{([^{}]*)\}", r"\1", answer)
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    text = re.sub(r"\\(?:left|right|displaystyle|!|,|;)", "", text)
    return re.sub(r"\s+", "", text).strip(".$").lower()


def numeric_key(answer: str) -> str:
    """``n:<exact value>`` when ``answer`` is one number, else the text key."""
    found = numbers_in(plain_numbers(answer))
    if len(found) == 1 or (found and len({v for v, _, _ in found}) == 1):
        return "n:" + canonical(found[0][0])
    return _short("s", _text_key(answer))


def _sympy_canonical(expr: Any) -> str:
    import sympy

    if isinstance(expr, sympy.Eq) and isinstance(expr.lhs, sympy.Symbol):
        expr = expr.rhs
    if isinstance(expr, sympy.Basic):
        floats = expr.atoms(sympy.Float)
        if floats:
            expr = expr.xreplace({f: sympy.Rational(str(f)) for f in floats})
        if _cheap(expr):
            expr = expr.doit()
            if len(str(expr)) <= _MAX_EXPAND_CHARS and isinstance(expr, sympy.Expr):
                expr = sympy.expand(expr)
    return str(expr)


def _cheap(expr: Any) -> bool:
    """Whether evaluating and expanding ``expr`` is safe: model output is untrusted, and
    ``(a+b+c)^{500}`` or ``10^{9}!`` would run for minutes (the key then stays unexpanded)."""
    import sympy

    risky = (sympy.Sum, sympy.Product, sympy.Integral, sympy.factorial, sympy.binomial,
             sympy.gamma)
    if any(expr.atoms(kind) for kind in risky):
        return False
    return all(not (p.exp.is_Number and abs(p.exp) > _MAX_EXPONENT)
               for p in expr.atoms(sympy.Pow))


def latex_key(answer: str) -> str:
    """``m:<canonical sympy form>`` from math-verify's parse, else the text key."""
    from workbench.grading.math import _LOCK, parse_answer

    parsed = parse_answer(answer)
    if parsed:
        with _LOCK:
            try:
                return _short("m", _sympy_canonical(parsed[0]))
            except Exception:  # sympy raises on exotic objects; the text key still works
                pass
    return _short("s", _text_key(answer))


def code_key(code: str) -> str:
    """The program's AST (formatting and comments ignored), hashed."""
    try:
        body = ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        body = "\n".join(line.rstrip() for line in code.strip().splitlines())
    return "c#:" + hashlib.sha256(body.encode("utf-8", "replace")).hexdigest()[:32]


def answer_key(answer: str | None, answer_format: str) -> str | None:
    """The canonical key of one extracted answer (None for no answer)."""
    if answer is None:
        return None
    fmt = answer_format_name(answer_format)
    if fmt == "numeric":
        return numeric_key(answer)
    if fmt == "latex":
        return latex_key(answer)
    if fmt == "mc":
        return "l:" + answer.strip().upper()
    return code_key(answer)


Same = Callable[[str, str], bool]


class ItemKeys:
    """Keys for the answers of one item, merged by ``same`` as the live vote groups them."""

    def __init__(self, key_fn: Callable[[str], str], same: Same | None = None) -> None:
        self._key_fn, self._same = key_fn, same
        self._groups: list[tuple[str, str]] = []  # (representative answer, key), first-seen

    def key(self, answer: str | None) -> str | None:
        """The key of ``answer``; an answer ``same`` as an earlier one takes its key."""
        if answer is None:
            return None
        own = self._key_fn(answer)
        for rep, key in self._groups:
            if key == own or rep == answer:
                return key
        if self._same is not None:
            for rep, key in self._groups:
                if self._same(rep, answer):
                    return key
        self._groups.append((answer, own))
        return own


def item_keys(answers: Sequence[str | None], key_fn: Callable[[str], str],
              same: Same | None = None) -> list[str | None]:
    """Keys for one item's answers in order (the read-time fallback for old rows)."""
    keys = ItemKeys(key_fn, same)
    return [keys.key(a) for a in answers]
