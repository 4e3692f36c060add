"""The grading audit: which graded paths a person should look at, and why.

A path is listed when at least one of these holds (``reasons``):

* ``fallback_rule``: its answer came from a fallback rule (an answer the prompt did not
  ask for, e.g. the last number of the text) rather than a box or an answer phrase;
* ``extractors_disagree``: math-verify's own reading of the raw text (an independent
  second extractor) differs from ours, or only one of the two found an answer
  (numeric and LaTeX tasks; code has no second extractor; a chain cut at its budget,
  whose answer the run left to a forced follow-up, is not compared);
* ``grade_changed``: the grade differs between grader versions (stored vs re-graded, or
  between two re-grades).

Each row carries the text around the extracted span (``before`` / ``span`` / ``after``,
and ``context`` with the span in ⟦ ⟧; the text's tail when no span was found), the effective grade and where it came from
(stored / regrade / override), and the ids that ``workbench override`` takes. Model text
is untrusted: :func:`audit_html` escapes every cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from workbench.errors import WorkbenchError
from workbench.htmltext import html, join
from workbench.review.extraction import (
    agrees,
    extraction,
    fallback_rules,
    locate,
    opinion_text,
    second_opinion,
    was_extracted,
)

DEFAULT_CONTEXT = 80
"""Characters of text shown on each side of the extracted span."""

REASONS = ("fallback_rule", "extractors_disagree", "grade_changed")

AUDIT_SCHEMA: dict[str, Any] = {
    "run_id": pl.String, "sample_id": pl.String, "path_id": pl.String, "item_id": pl.String,
    "role": pl.String, "gold": pl.String, "answer": pl.String, "rule": pl.String,
    "second_answer": pl.String, "stored_correct": pl.Boolean, "correct": pl.Boolean,
    "grade_source": pl.String, "reasons": pl.String, "before": pl.String, "span": pl.String,
    "after": pl.String, "context": pl.String,
}


def _window(text: str, span: tuple[int, int] | None, width: int) -> tuple[str, str, str]:
    """(before, span, after) around ``span``; the text's tail when there is no span."""
    if span is None:
        return ("…" if len(text) > width else "") + text[-width:], "", ""
    a, b = span
    before = ("…" if a > width else "") + text[max(0, a - width):a]
    after = text[b:b + width] + ("…" if len(text) > b + width else "")
    return before, text[a:b], after


def _history(regrades: pl.DataFrame) -> dict[str, set[bool]]:
    """Every grade a path has had across re-grades, by path id."""
    out: dict[str, set[bool]] = {}
    for pid, ok in regrades.filter(pl.col("path_id").is_not_null()).select(
            "path_id", "correct").iter_rows():
        out.setdefault(pid, set()).add(bool(ok))
    return out


def _rule(row: dict[str, Any]) -> str | None:
    if row.get("regrade_id") is not None:
        return row.get("regrade_answer_rule")
    return row.get("answer_rule")  # recorded at run time where the schema has the column


def audit_frame(paths: pl.DataFrame, samples: pl.DataFrame, fmt: Any | None = None, *,
                regrades: pl.DataFrame | None = None, context: int = DEFAULT_CONTEXT,
                fallbacks: Iterable[str] | None = None, second: bool = True,
                include_all: bool = False) -> pl.DataFrame:
    """The audit rows (see the module docstring) from ``graded_paths``-shaped ``paths``
    (with ``text``), ``graded_samples``-shaped ``samples`` and the run's ``regrades``.

    ``fmt`` (the task's answer format) locates the span with the current extractor where
    it reproduces the stored answer; ``fallbacks`` defaults to the extractor's fallback
    rules; ``second=False`` skips math-verify (code tasks); ``include_all`` lists every
    graded path, with empty ``reasons`` where nothing is wrong."""
    fb = frozenset(fallback_rules() if fallbacks is None else fallbacks)
    history = _history(regrades) if regrades is not None and regrades.height else {}
    golds = {s["sample_id"]: s for s in samples.iter_rows(named=True)}
    rows = []
    for p in paths.filter(pl.col("stored_correct").is_not_null()).iter_rows(named=True):
        text, answer = p.get("text") or "", p["answer"]
        rule = _rule(p)
        found = extraction(fmt, text) if fmt is not None and text else None
        span = found.span if found and found.answer == answer else locate(text, answer)
        check = second and was_extracted(p)  # a cut chain's answer was never read
        parsed = second_opinion(text) if check else ()
        grades = history.get(p["path_id"], set()) | {bool(p["stored_correct"])}
        reasons = [r for r, hit in (
            ("fallback_rule", rule in fb),
            ("extractors_disagree", check and not agrees(answer, parsed)),
            ("grade_changed", len(grades) > 1)) if hit]
        if not reasons and not include_all:
            continue
        before, mid, after = _window(text, span, context)
        s = golds.get(p["sample_id"], {})
        rows.append({"run_id": p["run_id"], "sample_id": p["sample_id"],
                     "path_id": p["path_id"], "item_id": s.get("item_id"), "role": p["role"],
                     "gold": s.get("gold"), "answer": answer, "rule": rule,
                     "second_answer": opinion_text(parsed), "stored_correct": p["stored_correct"],
                     "correct": p["correct"], "grade_source": p.get("grade_source", "stored"),
                     "reasons": ", ".join(reasons), "before": before, "span": mid,
                     "after": after,
                     "context": f"{before}⟦{mid}⟧{after}" if span else before})
    return pl.DataFrame(rows, schema=AUDIT_SCHEMA)


def audit(store: Any, run_id: str, *, context: int = DEFAULT_CONTEXT,
          include_all: bool = False) -> pl.DataFrame:
    """:func:`audit_frame` for one stored run (reads the graded views and ``regrades``)."""
    from workbench.review.regrade import answer_format
    from workbench.store.grades import regrades as regrade_rows

    runs = store.runs(run_id)
    if runs.height == 0:
        raise WorkbenchError(f"No run {run_id!r} in {store.path}; list runs with "
                             "`workbench runs`.")
    samples = store.graded_samples(run_id)
    paths = store.graded_paths(run_id)
    fmt = answer_format(runs.row(0, named=True), samples)
    code = type(fmt).__name__ == "CodeFormat"
    return audit_frame(paths, samples, fmt, regrades=regrade_rows(store, run_id),
                       context=context, second=not code, include_all=include_all)


_COLUMNS = ("sample_id", "path_id", "gold", "answer", "rule", "second_answer", "correct",
            "grade_source", "reasons")


def audit_html(frame: pl.DataFrame, *, limit: int = 500) -> str:
    """A self-contained HTML table of audit rows; every value is escaped (model text is
    untrusted), and the extracted span is marked with ``<mark>``."""
    if frame.is_empty():
        return "<p class='wb-audit'>No graded paths need review.</p>"
    cell = lambda v: "" if v is None else str(v)  # noqa: E731
    head = join("", (html("<th>{}</th>", c) for c in (*_COLUMNS, "context")))
    body = join("", (html("<tr>{}<td class='wb-audit-context'><code>{}<mark>{}</mark>{}"
                          "</code></td></tr>",
                          join("", (html("<td>{}</td>", cell(r.get(c))) for c in _COLUMNS)),
                          cell(r.get("before")), cell(r.get("span")), cell(r.get("after")))
                     for r in frame.head(limit).iter_rows(named=True)))
    more = (html("<p>{} more rows not shown.</p>", frame.height - limit)
            if frame.height > limit else "")
    return str(html("<table class='wb-audit'><thead><tr>{}</tr></thead><tbody>{}</tbody>"
                    "</table>{}", head, body, more))


class AuditView:
    """Notebook view of an audit frame (``display(AuditView(frame))``); ``.frame`` keeps
    the polars frame for filtering."""

    def __init__(self, frame: pl.DataFrame, limit: int = 500) -> None:
        self.frame = frame
        self.limit = limit

    def _repr_html_(self) -> str:
        return audit_html(self.frame, limit=self.limit)
