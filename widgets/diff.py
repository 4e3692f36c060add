"""Refinement diff: each round's solution diffed word by word against the previous round.

Why word-level: a refinement round usually rewrites a few numbers and a sentence; a line
diff marks whole paragraphs, a character diff shreds words. Beside each diff sits the
verifier's critique and whether the round flipped the answer right→wrong or wrong→right
(the flips are the point: Huang et al. 2023 found self-correction often breaks answers).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ipywidgets as W

from widgets.state import SampleView
from workbench.htmltext import Markup, html, join

_TOKENS = re.compile(r"\s+|[^\s]+")
INS_STYLE = "background:#c8f7c5;text-decoration:none"
DEL_STYLE = "background:#f9c9c9"


def _tokens(text: str) -> list[str]:
    return _TOKENS.findall(text)


def word_diff_html(old: str, new: str) -> Markup:
    """HTML of ``new`` with words added since ``old`` in ``<ins class="wb-diff-ins">`` and
    removed words in ``<del class="wb-diff-del">``; all text is escaped."""
    a, b = _tokens(old), _tokens(new)
    out: list[Markup | str] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append("".join(b[j1:j2]))
            continue
        if op in ("delete", "replace"):
            out.append(html('<del class="wb-diff-del" style="{}">{}</del>', DEL_STYLE,
                            "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(html('<ins class="wb-diff-ins" style="{}">{}</ins>', INS_STYLE,
                            "".join(b[j1:j2])))
    return join("", out)


def flip(before: bool | None, after: bool | None) -> str | None:
    """"right→wrong", "wrong→right", or None when correctness did not change (or is unknown)."""
    if before is None or after is None or before == after:
        return None
    return "right→wrong" if before else "wrong→right"


@dataclass(frozen=True)
class RoundRow:
    """One refinement round as shown: answer, text, critique and the flip against before."""

    round: int
    answer: str | None
    text: str
    critique: str
    accepted: bool
    correct: bool | None
    flip: str | None


def _solution_text(sample: SampleView, path_id: str) -> str:
    path = sample.paths.get(path_id)
    if path is None:
        return ""
    if path.role == "forced_answer" and path.parent_id in sample.paths:
        return sample.paths[path.parent_id].text + "\n\n" + path.text
    return path.text


def round_rows(sample: SampleView | None) -> list[RoundRow]:
    """The item's RoundFinished events in round order, with texts and flips filled in."""
    if sample is None:
        return []
    rows: list[RoundRow] = []
    for r in sorted(sample.rounds, key=lambda e: e.round):
        before = rows[-1].correct if rows else None
        rows.append(RoundRow(round=r.round, answer=r.answer,
                             text=_solution_text(sample, r.path_id), critique=r.critique,
                             accepted=r.accepted, correct=r.correct,
                             flip=flip(before, r.correct)))
    return rows


def rounds_html(rows: list[RoundRow]) -> Markup:
    """A table: round | answer (+flip) | diff against the previous round | critique."""
    if not rows:
        return Markup('<div class="wb-rounds wb-rounds-empty">No refinement rounds for this '
                      "item.</div>")
    body = []
    prev = ""
    for row in rows:
        diff = word_diff_html(prev, row.text) if row.round else row.text
        prev = row.text
        mark = "" if row.correct is None else (" ✓" if row.correct else " ✗")
        flip_html = Markup("")
        if row.flip:
            cls = "wb-flip-r2w" if row.flip == "right→wrong" else "wb-flip-w2r"
            flip_html = html(' <span class="wb-flip {}">{}</span>', cls, row.flip)
        verdict = "accepted" if row.accepted else ("" if not row.critique else "rejected")
        body.append(html(
            '<tr class="wb-round" data-round="{r}" style="vertical-align:top">'
            "<td>round {r}</td>"
            '<td class="wb-round-answer">{answer}{mark}{flip}</td>'
            '<td class="wb-diff" style="white-space:pre-wrap;width:60%">{diff}</td>'
            '<td class="wb-critique" style="white-space:pre-wrap;width:25%">'
            "<b>{verdict}</b> {critique}</td></tr>",
            r=row.round, answer=str(row.answer), mark=mark, flip=flip_html, diff=diff,
            verdict=verdict, critique=row.critique))
    head = Markup("<tr><th>round</th><th>answer</th><th>solution (diff vs previous round)</th>"
                  "<th>verifier critique</th></tr>")
    return html('<table class="wb-rounds" style="font-size:12px;width:100%;line-height:1.3">'
                "{}{}</table>", head, join("", body))


@dataclass(frozen=True)
class VerifierRound:
    """How often the verifier's verdict in one round matched the solution's correctness."""

    round: int
    judged: int          # verdicts on a graded solution
    right: int           # accepted a right solution or rejected a wrong one
    accepted_wrong: int  # the costly mistake: refinement stops on a wrong answer
    rejected_right: int  # the other one: a right answer is rewritten (and may flip)

    @property
    def accuracy(self) -> float:
        return self.right / self.judged if self.judged else 0.0


def verifier_accuracy(samples: Iterable[SampleView]) -> list[VerifierRound]:
    """Per round, over every item of the run: the verifier's verdicts against correctness.

    A round without a critique (the last one, after the final regeneration) has no verdict
    and is not counted; an unparseable verdict counts as a rejection, which is what the
    technique did with it."""
    tally: dict[int, list[int]] = {}
    for s in samples:
        for r in s.rounds:
            if (r.critique_path_id is None and not r.critique) or r.correct is None:
                continue
            t = tally.setdefault(r.round, [0, 0, 0, 0])
            t[0] += 1
            t[1] += int(r.accepted == r.correct)
            t[2] += int(r.accepted and not r.correct)
            t[3] += int(not r.accepted and r.correct)
    return [VerifierRound(k, *v) for k, v in sorted(tally.items())]


def verifier_html(rounds: list[VerifierRound]) -> Markup:
    """One line per round: the verifier's accuracy and its two kinds of mistake."""
    if not rounds:
        return Markup("")
    rows = [html('<tr class="wb-verifier-round" data-round="{r}" data-right="{right}" '
                 'data-judged="{n}"><td>round {r}</td><td>{right}/{n} ({acc:.0%})</td>'
                 "<td>{aw}</td><td>{rr}</td></tr>", r=v.round, right=v.right, n=v.judged,
                 acc=v.accuracy, aw=v.accepted_wrong, rr=v.rejected_right) for v in rounds]
    return html('<table class="wb-verifier-accuracy" style="font-size:12px;margin-top:6px">'
                "<tr><th>verifier, all items</th><th>verdict matched correctness</th>"
                "<th>accepted a wrong answer</th><th>rejected a right answer</th></tr>{}"
                "</table>", join("", rows))


class RefinementView(W.HTML):
    """The refinement table of the focused item and the verifier's accuracy per round over
    all items (plain HTML; redrawn per flush). Full width: the diff needs the room."""

    def __init__(self, **kwargs: Any) -> None:
        # stretched across its box (a width of 100% would add the widget margins on top)
        kwargs.setdefault("layout", W.Layout(width="auto", align_self="stretch"))
        super().__init__(rounds_html([]), **kwargs)
        self.add_class("wb-refinement")
        self.rows: list[RoundRow] = []
        self.verifier: list[VerifierRound] = []

    def update(self, sample: SampleView | None,
               samples: Iterable[SampleView] = ()) -> None:
        rows, verifier = round_rows(sample), verifier_accuracy(samples)
        if rows != self.rows or verifier != self.verifier or not rows:
            self.rows, self.verifier = rows, verifier
            self.value = rounds_html(rows) + verifier_html(verifier)
