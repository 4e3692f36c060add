"""Numbers as models write them, read the way a careful human reads them.

Why a module of its own: "the answer is 3\\frac{1}{2}" must be 3.5 (not 31/2), "7 1/2" 7.5
(not 7), "10^3" 1000, "5 dollars and 50 cents" 5.5, "−5" minus five, "three" 3, and
"1,234" / "1 234" / "1'234" / "1.234,5" one number each. Every such spelling is rewritten
into plain ASCII numbers first (:func:`plain_numbers`); :func:`numbers_in` then reads the
values with their positions in the rewritten text. Ambiguous spellings ("1.234" could be a
European thousand) keep their most common reading (decimal point).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_DASHES = {"\u2212": "-", "\u2012": "-", "\u2013": "-", "\u2014": " - ", "\ufe63": "-",
           "\uff0d": "-"}
_SPACES = {"\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ", "\u3000": " "}
_VULGAR = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5",
           "⅖": "2/5", "⅗": "3/5", "⅘": "4/5", "⅙": "1/6", "⅚": "5/6", "⅛": "1/8",
           "⅜": "3/8", "⅝": "5/8", "⅞": "7/8"}
_FULLWIDTH = {chr(0xFF10 + d): str(d) for d in range(10)}

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
          "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
          "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
          "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_WORD = "|".join(sorted([*_UNITS, *_SCALES, "dozen"], key=len, reverse=True))
_WORDS_RE = re.compile(
    rf"\b(?:a\s+|half\s+a\s+)?(?:{_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_WORD}))*\b", re.IGNORECASE)

_NUMBER_RE = re.compile(r"(?<![\w.)\]])-?(?:\d+(?:\.\d+)?(?:/\d+)?|\.\d+)(?![\w])"
                        r"|(?<![\w.)\]])-?\d+(?:\.\d+)?(?=%|[a-zA-Z])")
_LATEX_FRAC_RE = re.compile(
    r"(-?)(?:(?<![\d.])(\d+)\s*)?\\[dt]?frac\s*(?:\{\s*(-?\d+)\s*\}|(\d))\s*"
    r"(?:\{\s*(-?\d+)\s*\}|(\d))")


def _words_value(phrase: str) -> int | None:
    """Value of an English number phrase ("twenty-one", "a dozen", "two hundred and five")."""
    words = [w for w in re.split(r"[\s-]+", phrase.lower()) if w and w != "and"]
    if words[:3] == ["half", "a", "dozen"]:
        return 6 if len(words) == 3 else None
    if words and words[0] == "a":
        words = words[1:]
        if words[:1] != ["dozen"] and words[:1] not in (["hundred"], ["thousand"],
                                                        ["million"], ["billion"]):
            return None
        words = ["one", *words]
    total, current = 0, 0
    for w in words:
        if w in _UNITS:
            current += _UNITS[w]
        elif w == "dozen":
            current = (current or 1) * 12
        elif w == "hundred":
            current = (current or 1) * 100
        else:
            total += (current or 1) * _SCALES[w]
            current = 0
    return total + current


def words_to_digits(text: str) -> str:
    """Number words replaced by digits ("three" -> "3", "a dozen" -> "12")."""
    def repl(m: re.Match[str]) -> str:
        value = _words_value(m.group(0))
        return m.group(0) if value is None else str(value)
    return _WORDS_RE.sub(repl, text)


def _frac_repl(m: re.Match[str]) -> str:
    num = m.group(1) or m.group(2)
    den = m.group(3) or m.group(4)
    return f"{num}/{den}"


def _mixed(m: re.Match[str]) -> str:
    whole, num, den = int(m.group(2)), int(m.group(3)), int(m.group(4))
    if den == 0 or num >= den:
        return m.group(0)
    value = Fraction(whole) + Fraction(num, den)
    return f"{m.group(1)}{value.numerator}/{value.denominator}"


def _power(m: re.Match[str]) -> str:
    exp = int(m.group(2))
    if exp > 30:
        return m.group(0)
    return _fmt(Fraction(Decimal(m.group(1))) ** exp)


def _sci(m: re.Match[str]) -> str:
    exp = int(m.group(2))
    if abs(exp) > 30:
        return m.group(0)
    return _fmt(Fraction(Decimal(m.group(1))) * Fraction(10) ** exp)


def _fmt(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    dec = _terminating(value)
    return dec if dec is not None else f"{value.numerator}/{value.denominator}"


def _terminating(value: Fraction) -> str | None:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        return None
    return format((Decimal(value.numerator) / Decimal(value.denominator)).normalize(), "f")


def _latex_frac(m: re.Match[str]) -> str:
    sign, whole = m.group(1), m.group(2)
    num, den = int(m.group(3) or m.group(4)), int(m.group(5) or m.group(6))
    if den == 0:
        return m.group(0)
    value = Fraction(num, den)
    if whole is not None:
        if not 0 <= value < 1:
            return m.group(0)
        value += int(whole)
    return f"{sign}{value.numerator}/{value.denominator}"


def _latex_plain(text: str) -> str:
    text = text.replace("\\$", "$").replace("\\%", "%").replace("\\!", "")
    text = text.replace("{,}", ",").replace("\\,", " ").replace("\\ ", " ").replace("~", " ")
    text = re.sub(r"\\(?:text|mathrm|textbf|mathbf|mbox|textit|operatorname)\s*\{([^{}]*)\}",
                  r" \1 ", text)
    text = re.sub(r"\\(?:left|right|displaystyle)\b", "", text)
    text = re.sub(r"\\(?:times|cdot)", " x ", text)
    text = re.sub(r"(\d)\s*\^\s*\{?\\circ\}?", r"\1", text)
    return _LATEX_FRAC_RE.sub(_latex_frac, text)


def plain_numbers(text: str) -> str:
    """Rewrite every spelling of a number in ``text`` as plain ASCII (see module doc).

    Thousands separators go, mixed numbers become improper fractions, powers of ten and
    dollars-and-cents phrases are evaluated; number words become digits.
    """
    for table in (_DASHES, _SPACES, _FULLWIDTH):
        for k, v in table.items():
            text = text.replace(k, v)
    for k, v in _VULGAR.items():  # "7½" -> "7 1/2" (a mixed number, read below)
        text = text.replace(k, " " + v)
    text = text.replace("×", " x ").replace("·", " x ").replace("’", "'")
    text = re.sub(r"((?:\b(?:is|was|be|equals|of|at|to)|[:=(,]|^)\s*)-\s+(?=\d)", r"\1-", text)
    text = _latex_plain(text)
    text = words_to_digits(text)
    text = re.sub(r"(?<![\d.,'])(\d{1,3})((?:\.\d{3})+),(\d+)(?![\d.,])",
                  lambda m: m.group(1) + m.group(2).replace(".", "") + "." + m.group(3), text)
    text = re.sub(r"(?<![\d.,'])(\d{1,3})((?:\.\d{3}){2,})(?![\d.,])",
                  lambda m: m.group(1) + m.group(2).replace(".", ""), text)
    text = re.sub(r"(?<![\d.,'])\d{1,3}(?:,\d{3})+(?![\d,])",
                  lambda m: m.group(0).replace(",", ""), text)
    text = re.sub(r"(?<![\d.'])\d{1,3}(?:'\d{3})+(?![\d'])",
                  lambda m: m.group(0).replace("'", ""), text)
    text = re.sub(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?![\d/.,]|\s*/)",
                  lambda m: m.group(0).replace(" ", ""), text)
    text = re.sub(r"(?<![\d/.])(-?)(\d+)\s+(\d+)\s*/\s*(\d+)(?![\d/])", _mixed, text)
    text = re.sub(r"(\d+(?:\.\d+)?)\s*(?:x|\*)\s*10\s*\^\s*\{?\s*(-?\d+)\s*\}?", _sci, text)
    text = re.sub(r"(?<![\w.])(\d+(?:\.\d+)?)\s*\^\s*\{?\s*(\d+)\s*\}?", _power, text)
    text = re.sub(r"\$?\s*(\d+)\s*dollars?\s*(?:and|,)\s*(\d{1,2})\s*cents?",
                  lambda m: _fmt(Fraction(int(m.group(1))) + Fraction(int(m.group(2)), 100)),
                  text, flags=re.IGNORECASE)
    text = re.sub(r"(\d)\s*/\s*(\d)", r"\1/\2", text)
    return text


def numbers_in(plain: str) -> list[tuple[Fraction, int, int]]:
    """Every number in already-plain text with its (start, end); a/b is one number."""
    out = []
    for m in _NUMBER_RE.finditer(plain):
        value = _value(m.group(0))
        if value is not None:
            out.append((value, m.start(), m.end()))
    return out


def _value(token: str) -> Fraction | None:
    try:
        if "/" in token:
            num, den = token.split("/")
            return Fraction(Decimal(num)) / Fraction(Decimal(den))
        return Fraction(Decimal(token))
    except (InvalidOperation, ZeroDivisionError, ValueError):
        return None


def canonical(value: Fraction) -> str:
    """The text stored for a numeric answer: integers plain, terminating decimals as
    decimals ("2.5"), other fractions as "a/b"."""
    return _fmt(value)


def normalise_number(raw: str) -> str | None:
    """Canonical text of the first number written in ``raw``, or None if there is none.

    "1,000", "1000.0" and "$1000" give "1000"; "0.50" gives "0.5"; "6/8" and
    "\\frac{3}{4}" give "3/4"; "3\\frac{1}{2}" and "7 1/2" give "3.5" and "7.5".
    """
    found = numbers_in(plain_numbers(raw))
    if not found:
        return None
    value, start, end = found[0]
    token = plain_numbers(raw)[start:end]
    if "/" in token and value.denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    return _fmt(value)


def to_fraction(text: str) -> Fraction | None:
    """Exact value of the first number in ``text`` (or None)."""
    found = numbers_in(plain_numbers(text))
    return found[0][0] if found else None


def numbers_equal(a: str, b: str) -> bool:
    """Whether two answers denote the same number ("1,000" == "1000.0" == "$1000")."""
    fa, fb = to_fraction(a), to_fraction(b)
    if fa is None or fb is None:
        return a.strip() == b.strip() and a.strip() != ""
    return fa == fb
