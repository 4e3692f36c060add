"""Compare two stored runs side by side: the Explorer's Compare tab (issue 12.5).

Why a view over :func:`workbench.analysis.compare.compare_store` and nothing of its own:
the CLI (``workbench compare A B``), notebooks and this tab must print the same numbers, so
the pairing, the Newcombe paired interval, the exact McNemar test and the bootstrap cost
deltas are computed once, in analysis. This module only picks the runs (through the
store's named query ``run_choices``), lays the frames out as escaped HTML and opens an
item where the runs disagree: both runs' paths side by side, B's text word-diffed against
A's (``widgets.diff.word_diff_html``). Any two runs pair on their shared items, so other
models, prompts (the prompt lab's variants), techniques and budgets all compare.

Correctness is shown only as ✓ / ✗ marks and outcome words; answers are plain text, never
coloured green or red.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import polars as pl

from widgets.browser import TableWidget, error_html, table_rows
from widgets.diff import DEL_STYLE, INS_STYLE, word_diff_html
from widgets.homeloop import HomeLoop
from workbench.errors import WorkbenchError
from workbench.htmltext import Markup, html, join

if TYPE_CHECKING:
    from workbench.analysis.compare import Comparison
    from workbench.store.store import Store

DRILL_COLUMNS = ("item", "outcome", "answer A", "answer B")
"""Columns of the disagreement table (one row per item where exactly one run is right)."""
SHOWN_ROLES = ("direct", "path", "forced_answer", "critique", "refine", "verify")
"""Path roles the drill-down shows, each side in its stored order."""
TEXT_STYLE = ("white-space:pre-wrap;overflow-wrap:anywhere;max-height:360px;overflow-y:auto;"
              "font-family:var(--jp-code-font-family,monospace);font-size:11px;margin:2px 0")


def mark(correct: bool | None) -> str:
    """The correctness mark beside an answer: ✓, ✗, or nothing when ungraded."""
    return "" if correct is None else ("✓" if correct else "✗")


def run_label(row: dict[str, Any]) -> str:
    """A picker label that tells runs apart: when, technique, model, budget, N, rounds,
    prompt hash (prompt-lab variants differ only there), items and accuracy."""
    parts = [str(row.get("created") or ""), str(row["technique"]), str(row["model"])]
    if row.get("budget") is not None:
        parts.append(f"budget {row['budget']}")
    if (row.get("n") or 1) > 1:
        parts.append(f"N={row['n']}")
    if row.get("rounds"):
        parts.append(f"{row['rounds']} rounds")
    if row.get("prompt_hash"):
        parts.append(f"prompts {str(row['prompt_hash'])[:6]}")
    acc = row.get("accuracy")
    parts.append(f"{row['items']} items" + (f" {acc:.0%}" if acc is not None else ""))
    return " · ".join(parts) + f" · {str(row['run_id'])[:8]}"


def run_options(choices: pl.DataFrame) -> list[tuple[str, str]]:
    """(label, run_id) for the A and B pickers, newest first."""
    return [(run_label(r), str(r["run_id"])) for r in choices.iter_rows(named=True)]


def default_pair(choices: pl.DataFrame) -> tuple[str | None, str | None]:
    """A = the second newest run, B = the newest (so B - A is what the last change did);
    (None, None) with fewer than two runs."""
    ids = [str(r) for r in choices["run_id"].to_list()] if choices.height else []
    return (ids[1], ids[0]) if len(ids) >= 2 else (None, None)


def _points(x: float) -> str:
    return f"{100 * x:+.1f}"


def headline_html(cmp: Comparison) -> Markup:
    """Accuracies, the paired difference with its interval, and the exact McNemar test."""
    s = cmp.summary.row(0, named=True)
    if not s["n_items"]:
        return html('<div class="wb-compare-headline">Runs <code>{}</code> and <code>{}</code> '
                    "share no item: nothing to pair.</div>", cmp.run_a, cmp.run_b)
    unpaired = cmp.unpaired
    left_out = (html(" Not compared: {} item(s) only in A, {} only in B.",
                     unpaired["only_in_a"], unpaired["only_in_b"])
                if any(unpaired.values()) else "")
    return html(
        '<div class="wb-compare-headline" style="margin:4px 0;line-height:1.4">On <b>{n}</b> paired items: '
        'A <b class="wb-compare-acc-a">{acc_a:.1%}</b>, B <b class="wb-compare-acc-b">'
        '{acc_b:.1%}</b>. B − A = <b class="wb-compare-delta">{d} points</b>, '
        '{conf:.0%} paired interval <span class="wb-compare-ci">[{lo}, {hi}]</span> '
        "(Newcombe); exact McNemar <span class=\"wb-compare-p\">p = {p:.3g}</span> on "
        "{disc} discordant item(s).{left_out}</div>",
        n=s["n_items"], acc_a=s["accuracy_a"], acc_b=s["accuracy_b"],
        d=_points(s["delta_b_minus_a"]), conf=s["confidence"], lo=_points(s["ci_low"]),
        hi=_points(s["ci_high"]), p=s["mcnemar_p"], disc=s["discordant"], left_out=left_out)


def outcomes_html(cmp: Comparison) -> Markup:
    """The per-item outcome table: both right / only A / only B / both wrong."""
    total = max(1, int(cmp.table["items"].sum()))
    rows = [html('<tr class="wb-compare-outcome" data-outcome="{o}" data-items="{k}">'
                 '<td>{o}</td><td style="text-align:right">{k}</td>'
                 '<td style="text-align:right">{share:.0%}</td></tr>', o=o, k=k,
                 share=k / total)
            for o, k in cmp.table.iter_rows()]
    return html('<table class="wb-compare-outcomes" style="font-size:12px;line-height:1.4">'
                "<tr><th>per-item outcome</th><th>items</th><th>share</th></tr>{}</table>",
                join("", rows))


def _number(metric: str, value: float) -> str:
    if metric.startswith("cost"):
        return f"${value:,.6f}"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def deltas_html(cmp: Comparison) -> Markup:
    """Tokens, cost and latency per item: A, B and B - A with its bootstrap interval."""
    if cmp.deltas.is_empty():
        return Markup('<div class="wb-compare-deltas">No token, cost or latency figures '
                      "stored for these runs.</div>")
    rows = []
    for r in cmp.deltas.iter_rows(named=True):
        m = str(r["metric"])
        num = [_number(m, r[k]) for k in ("mean_a", "mean_b", "delta_b_minus_a", "ci_low",
                                          "ci_high")]
        rows.append(html('<tr class="wb-compare-delta-row" data-metric="{}"><td>{}</td>'
                         '<td style="text-align:right">{}</td><td style="text-align:right">{}'
                         '</td><td style="text-align:right">{}</td><td>[{}, {}]</td></tr>',
                         m, m, *num))
    return html('<table class="wb-compare-deltas" style="font-size:12px;line-height:1.4"><tr><th>per item</th>'
                "<th>A</th><th>B</th><th>B − A</th><th>95% bootstrap interval</th></tr>{}"
                "</table>", join("", rows))


def disagreement_frame(cmp: Comparison) -> pl.DataFrame:
    """The items where exactly one run is right, as the drill-down table shows them."""
    d = cmp.disagreements()
    return pl.DataFrame({"item": d["item_index_a"].to_list(), "outcome": d["outcome"],
                         "answer A": [f"{a} {mark(c)}" for a, c in zip(
                             d["answer_a"].to_list(), d["correct_a"].to_list(), strict=True)],
                         "answer B": [f"{b} {mark(c)}" for b, c in zip(
                             d["answer_b"].to_list(), d["correct_b"].to_list(), strict=True)],
                         "item_id": d["item_id"]},
                        schema={"item": pl.Int64, "outcome": pl.Utf8, "answer A": pl.Utf8,
                                "answer B": pl.Utf8, "item_id": pl.Utf8})


def _shown(paths: pl.DataFrame) -> list[dict[str, Any]]:
    if paths.is_empty():
        return []
    return [r for r in paths.iter_rows(named=True) if r.get("role") in SHOWN_ROLES]


def _path_head(p: dict[str, Any] | None) -> Markup:
    if p is None:
        return Markup('<div class="wb-compare-path-head"><i>(no path)</i></div>')
    rnd = f" r{p['round']}" if p.get("round") else ""
    return html('<div class="wb-compare-path-head"><b>#{idx} {role}{rnd}</b> · answer '
                '<span class="wb-compare-answer">{answer}</span> {mark} · {tokens} tokens'
                "</div>", idx=p.get("idx"), role=p.get("role"), rnd=rnd,
                answer=str(p.get("answer")), mark=mark(p.get("correct")),
                tokens=p.get("tokens_out") or 0)


def drill_html(item: dict[str, Any], paths_a: pl.DataFrame, paths_b: pl.DataFrame) -> Markup:
    """Both runs' paths of one item side by side; B's text is word-diffed against the A
    path in the same position (inserted words ``wb-diff-ins``, removed ``wb-diff-del``)."""
    a, b = _shown(paths_a), _shown(paths_b)
    rows = []
    for k in range(max(len(a), len(b))):
        pa, pb = (a[k] if k < len(a) else None), (b[k] if k < len(b) else None)
        ta, tb = (str(pa["text"] or "") if pa else ""), (str(pb["text"] or "") if pb else "")
        rows.append(html(
            '<tr class="wb-compare-pair" style="vertical-align:top">'
            '<td class="wb-compare-a">{ha}<div class="wb-compare-text" style="{s}">{ta}</div></td>'
            '<td class="wb-compare-b">{hb}<div class="wb-diff wb-compare-text" style="{s}">'
            "{tb}</div></td></tr>", ha=_path_head(pa), hb=_path_head(pb), s=TEXT_STYLE, ta=ta,
            tb=word_diff_html(ta, tb) if pa and pb else tb))
    if not rows:
        rows.append(Markup('<tr><td colspan="2">No stored paths for this item.</td></tr>'))
    return html(
        '<div class="wb-compare-drill" data-item="{idx}" style="line-height:1.4">'
        '<div style="margin:6px 0"><b>item {idx}'
        "</b> ({outcome}): A answered <b>{aa}</b> {ma}, B answered <b>{ab}</b> {mb}. B's text "
        "is marked against A's: <ins style=\"{ins}\">inserted</ins>, <del style=\"{dels}\">"
        "removed</del>.</div>"
        '<table class="wb-compare-paths" style="width:100%;table-layout:fixed;font-size:12px">'
        '<tr><th style="width:50%">A</th><th style="width:50%">B (diff vs A)</th></tr>{rows}'
        "</table></div>", idx=item.get("item"), outcome=item.get("outcome"),
        aa=str(item.get("answer_a")), ma=mark(item.get("correct_a")),
        ab=str(item.get("answer_b")), mb=mark(item.get("correct_b")), ins=INS_STYLE,
        dels=DEL_STYLE, rows=join("", rows))


class CompareView(W.VBox):
    """Pick runs A and B; see outcomes, the paired difference, cost deltas; click an item
    where they disagree to read both runs' paths side by side."""

    def __init__(self, store: Store | None, *, task: str | None = None,
                 home: HomeLoop | None = None, **kwargs: Any) -> None:
        self.store, self.task = store, task
        self.home = home or HomeLoop()
        wide = W.Layout(width="98%", max_width="720px")  # 100% + the widget margin overflows
        style = {"description_width": "24px"}
        self.run_a = W.Dropdown(options=[], description="A", layout=wide, style=style)
        self.run_b = W.Dropdown(options=[], description="B", layout=W.Layout(
            width="98%", max_width="720px"), style=style)
        self.run_a.add_class("wb-compare-run-a")
        self.run_b.add_class("wb-compare-run-b")
        self.swap_button = W.Button(description="Swap A and B", icon="exchange")
        self.swap_button.add_class("wb-compare-swap")
        self.message, self.headline = W.HTML(""), W.HTML("")
        self.message.add_class("wb-compare-message")
        self.outcomes, self.deltas = W.HTML(""), W.HTML("")
        self.table = TableWidget()
        self.table.add_class("wb-compare-items")
        self.detail = W.HTML("", layout=W.Layout(width="98%"))
        self.detail.add_class("wb-compare-detail")
        self.comparison: Comparison | None = None
        self.items = pl.DataFrame()
        self._syncing, self._picked = False, False
        for picker in (self.run_a, self.run_b):
            picker.observe(self.home.wrap(self._on_pick), names="value")
        self.swap_button.on_click(self.home.wrap(lambda _b: self.swap()))
        self.table.observe(self.home.wrap(self._on_select), names="selected")
        tables = W.HBox([self.outcomes, self.deltas],
                        layout=W.Layout(flex_flow="row wrap", grid_gap="24px"))
        super().__init__([self.run_a, self.run_b, self.swap_button, self.message,
                          self.headline, tables, self.table, self.detail], **kwargs)
        self.add_class("wb-compare")
        self.refresh()

    def refresh(self) -> None:
        """Refill the pickers from the store; keep a pair the user picked, else follow the
        two most recent runs of the task."""
        if self.store is None:
            self.message.value = "No store: create the Explorer with db=... to compare runs."
            return
        choices = self.store.run_choices(self.task)
        options = run_options(choices)
        ids = {v for _, v in options}
        keep = self._picked and {self.run_a.value, self.run_b.value} <= ids
        pair = (self.run_a.value, self.run_b.value) if keep else default_pair(choices)
        self.select(*pair, options=options, picked=keep)

    def select(self, run_a: str | None, run_b: str | None, *,
               options: Sequence[tuple[str, str]] | None = None, picked: bool = True) -> None:
        """Show runs ``run_a`` and ``run_b`` (ids; also what a click on the pickers does)."""
        same = (options is None or list(options) == list(self.run_a.options)) and (
            run_a, run_b) == (self.run_a.value, self.run_b.value)
        if same and self.comparison is not None:  # nothing new stored for these runs
            self._picked = picked or self._picked
            return
        self._syncing = True
        try:
            if options is not None and list(options) != list(self.run_a.options):
                self.run_a.options = self.run_b.options = list(options)
            self.run_a.value, self.run_b.value = run_a, run_b
        finally:
            self._syncing = False
        self._picked = picked
        self.compare()

    def swap(self) -> None:
        self.select(self.run_b.value, self.run_a.value)

    def _on_pick(self, _change: dict[str, Any]) -> None:
        if not self._syncing:
            self._picked = True
            self.compare()

    def compare(self) -> Comparison | None:
        """Compare the picked runs (through analysis.compare_store) and redraw."""
        a, b = self.run_a.value, self.run_b.value
        self.comparison, self.items, self.detail.value = None, pl.DataFrame(), ""
        for part in (self.headline, self.outcomes, self.deltas):
            part.value = ""
        self.table.selected, self.table.columns, self.table.rows, self.table.note = -1, [], [], ""
        if self.store is None or a is None or b is None:
            if self.store is not None:
                self.message.value = "Pick two stored runs (A and B): run something twice."
            return None
        from workbench.analysis.compare import compare_store

        try:
            cmp = compare_store(self.store, a, b)
        except WorkbenchError as exc:
            self.message.value = error_html(exc)
            return None
        self.message.value = "" if a != b else "A and B are the same run."
        self.comparison, self.items = cmp, disagreement_frame(cmp)
        self.headline.value = headline_html(cmp)
        self.outcomes.value, self.deltas.value = outcomes_html(cmp), deltas_html(cmp)
        shown = self.items.drop("item_id")
        self.table.columns, self.table.rows = list(shown.columns), table_rows(shown)
        self.table.note = (f"{self.items.height} item(s) where exactly one run is right: "
                           "click one to read both runs' paths")
        return cmp

    def open_item(self, index: int) -> Markup | None:
        """Both runs' paths of disagreement row ``index``, side by side and diffed."""
        if self.comparison is None or self.store is None or not 0 <= index < self.items.height:
            return None
        from workbench.analysis.compare import paired_paths

        item_id = str(self.items["item_id"][index])
        row = self.comparison.items.filter(pl.col("item_id") == item_id).row(0, named=True)
        paths = paired_paths(self.store, self.comparison, item_id)
        shown = drill_html({**row, "item": row["item_index_a"]}, paths["A"], paths["B"])
        self.detail.value = shown
        return shown

    def _on_select(self, change: dict[str, Any]) -> None:
        if change["new"] >= 0:
            self.open_item(change["new"])
