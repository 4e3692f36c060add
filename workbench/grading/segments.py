r"""Where in a model's text the final answer lives: boxes, answer phrases, math, sentences.

Why: a small model often answers and then runs on into an invented follow-on question
("Question: ... The answer is 8."), so every rule reads only the *final answer segment*:
the text up to the first follow-on question or exemplar that comes after an answer
statement. Inside it, math spans (``$..$``, ``\(..\)``, ``\[..\]``, ``$$..$$``) are found
first, so that sentence boundaries and the word "or" are only looked for outside math.
"""

from __future__ import annotations

import re

BOX_CMDS = ("\\boxed", "\\fbox")

ANSWER_PHRASE_RE = re.compile(
    r"(?:(?:the\s+)?(?:final|correct|right)\s+answer|(?:the\s+|my\s+)?answer)\s*"
    r"(?:is|would\s+be|will\s+be|should\s+be|must\s+be|=|:|：)\s*:?"
    r"|####"
    r"|答案\s*(?:是|为|為|:|：)?\s*[:：]?",
    re.IGNORECASE)
"""Explicit answer statements: "the answer is", "final answer:", "Answer:", ``####``, 答案."""

FOLLOW_ON_RE = re.compile(
    r"(?:^|(?<=[.!?。])[ \t]+)[ \t>*#]*(?:\*\*)?(?:question|q|problem|exercise|example|human|user|next\s+question|"
    r"new\s+question|input|instruction|问题|題目|题目)\s*\d*\s*(?:\*\*)?\s*[:：.)]",
    re.IGNORECASE | re.MULTILINE)
"""A line (or a sentence) that opens an invented next question or exemplar."""

_MATH_RE = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.DOTALL)
_DOLLAR_RE = re.compile(r"(?<![\\$])\$(?!\$)")
_PROSE_RE = re.compile(r"(?:^|\s)[A-Z]?[a-z]{2,}(?:\s|[.,;:]\s|$)")
_SENTENCE_END_RE = re.compile(r"(?<!\\)[.!?。](?=\s|$|\*)|\n")


def braced(text: str, open_at: int) -> tuple[str, int] | None:
    """The content of the brace group opening at ``open_at`` and the index after it."""
    depth = 0
    for j in range(open_at, len(text)):
        ch = text[j]
        if ch == "{" and (j == 0 or text[j - 1] != "\\"):
            depth += 1
        elif ch == "}" and (j == 0 or text[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : j], j + 1
    return None


def boxes(text: str) -> list[tuple[str, int, int]]:
    r"""Every ``\boxed{..}`` / ``\fbox{..}`` as (content, start, end), in text order.

    Nested braces are respected; the brace-less ``\boxed 5`` some models emit counts too.
    """
    found: list[tuple[str, int, int]] = []
    for cmd in BOX_CMDS:
        start = 0
        while (at := text.find(cmd, start)) >= 0:
            rest = at + len(cmd)
            start = rest
            if text.startswith("{", rest):
                group = braced(text, rest)
                if group is not None:
                    found.append((group[0].strip(), at, group[1]))
                    start = group[1]
            elif m := re.match(r"\s+([^\s$]+)", text[rest:]):
                found.append((m.group(1).strip(), at, rest + m.end()))
    return sorted(found, key=lambda b: b[1])


def _inline_ok(content: str) -> bool:
    """Whether ``$..$`` content is math and not prose between two dollar amounts
    ("$5.50 and $3"): no English words outside ``\\text{}``, no sentence end inside."""
    bare = re.sub(r"\\[A-Za-z]+\s*\{[^{}]*\}|\\[A-Za-z]+", " ", content)
    return bool(content.strip()) and not _PROSE_RE.search(bare) and ". " not in bare


def math_spans(text: str) -> list[tuple[str, int, int]]:
    """Display and inline math as (content, start, end), in text order."""
    out = [(next(g for g in m.groups() if g is not None).strip(), m.start(), m.end())
           for m in _MATH_RE.finditer(text)]
    taken = [(s, e) for _, s, e in out]
    dollars = [m.start() for m in _DOLLAR_RE.finditer(text)
               if not any(s <= m.start() < e for s, e in taken)]
    i = 0
    while i + 1 < len(dollars):
        a, b = dollars[i], dollars[i + 1]
        if _inline_ok(text[a + 1 : b]):
            out.append((text[a + 1 : b].strip(), a, b + 1))
            i += 2
        else:
            i += 1
    return sorted(out, key=lambda m: m[1])


def masked(text: str) -> str:
    """``text`` with every math span and box blanked out (same length), so punctuation
    and words inside math are not mistaken for sentence ends or hedges."""
    chars = list(text)
    spans = [(s, e) for _, s, e in math_spans(text)] + [(s, e) for _, s, e in boxes(text)]
    for s, e in spans:
        chars[s:e] = "M" * (e - s)
    return "".join(chars)


def final_segment(text: str) -> str:
    """The text up to an invented follow-on question that starts after an answer statement.

    A follow-on marker before any answer statement (a model echoing "Question: ..." first)
    does not cut; the segment is then the whole text.
    """
    for m in FOLLOW_ON_RE.finditer(text):
        head = text[: m.start()]
        if ANSWER_PHRASE_RE.search(head) or boxes(head):
            return head
    return text


def sentence_end(text: str, start: int, mask: str | None = None) -> int:
    """Index where the sentence containing ``start`` ends (outside math)."""
    view = mask if mask is not None else masked(text)
    m = _SENTENCE_END_RE.search(view, start)
    return m.start() if m else len(text)


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of every non-blank sentence, split only outside math."""
    view = masked(text)
    out, start = [], 0
    for m in _SENTENCE_END_RE.finditer(view):
        if text[start : m.start()].strip():
            out.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text)))
    return out


def answer_clause(text: str, at: int, mask: str) -> tuple[int, int]:
    """The clause after an answer phrase ending at ``at``: to the end of its sentence, or
    the next non-blank line when the phrase ends its line ("Final answer:\\n\\n 18")."""
    start = at
    while start < len(text) and text[start] in " \t*_":
        start += 1
    if start < len(text) and text[start] == "\n":
        nxt = re.search(r"\S", text[start:])
        if nxt is None:
            return start, start
        start += nxt.start()
    return start, sentence_end(text, start, mask)
