"""A self-contained, offline HTML report of one stored run.

Why: a run is shared with people who have neither the workbench nor the DuckDB file (a
reviewer, a colleague on a phone, an archive). The report is one file with plotly.js
inlined (no CDN: it opens the same without internet and in ten years), every text HTML-
escaped through :mod:`workbench.htmltext` (model output is untrusted), and everything a
reader needs to judge the run:
the configuration, accuracy and compute, figures, and per item the paths with their
answers, the vote, and the refinement rounds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.errors import WorkbenchError
from workbench.export._figures import MAIN_ROLES, run_figures
from workbench.export._source import store_for
from workbench.export.tree_html import CSS as TREE_CSS
from workbench.export.tree_html import tree_html
from workbench.htmltext import escape, script_safe
from workbench.store.textcodec import decode_text

if TYPE_CHECKING:
    from workbench.store.store import Store

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #222; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
table.wb-report-table { border-collapse: collapse; font-size: 13px; }
table.wb-report-table td, table.wb-report-table th { border: 1px solid #ddd;
       padding: 3px 8px; text-align: left; vertical-align: top; }
details.wb-report-item { border: 1px solid #ddd; border-radius: 4px; margin: 6px 0;
       padding: 4px 8px; }
details.wb-report-item > summary { cursor: pointer; font-weight: 600; }
.wb-ok { color: #2ca02c; } .wb-bad { color: #d62728; }
pre.wb-report-text { white-space: pre-wrap; word-break: break-word; background: #f7f7f7;
       padding: 6px; font-size: 12px; max-height: 320px; overflow-y: auto; }
.wb-report-path { border-left: 4px solid #ccc; margin: 6px 0 6px 8px; padding-left: 8px; }
.wb-report-path.wb-correct { border-color: #2ca02c; }
.wb-report-path.wb-wrong { border-color: #d62728; }
"""


def _t(value: Any) -> str:
    """Escaped display text of a stored value (stored text is decoded first)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(decode_text(str(value)))


def _mark(correct: bool | None) -> str:
    if correct is None:
        return ""
    return '<span class="wb-ok">✓</span>' if correct else '<span class="wb-bad">✗</span>'


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="wb-report-table wb-summary">{body}</table>'


def _grid(frame: pl.DataFrame, columns: list[str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_t(v)}</td>" for v in row) + "</tr>"
                   for row in frame.select(columns).iter_rows())
    return f'<table class="wb-report-table"><tr>{head}</tr>{body}</table>'


def _summary(run: dict[str, Any], samples: pl.DataFrame, paths: pl.DataFrame) -> str:
    n = samples.height
    correct = int(samples["correct"].fill_null(False).sum()) if n else 0
    accuracy = f"{correct}/{n} = {correct / n:.1%}" if n else "no scored items"
    versions = json.loads(decode_text(run["versions"])) if run.get("versions") else {}
    rows: list[tuple[str, Any]] = [
        ("run id", _t(run["run_id"])), ("status", _t(run.get("status"))),
        ("created (UTC)", _t(run.get("created_at"))),
        ("technique", _t(run["technique"])), ("model", _t(run["model"])),
        ("verifier", _t(run.get("verifier"))), ("task", _t(run["task"])),
        ("token budget per path", _t(run.get("budget_tokens"))),
        ("paths per item (N)", _t(run.get("n_samples"))), ("rounds", _t(run.get("rounds"))),
        ("temperature", _t(run.get("temperature"))), ("seed", _t(run.get("seed"))),
        ("accuracy", accuracy),
        ("errors", str(int(samples["error"].is_not_null().sum())) if n else "0"),
        ("generations", str(paths.height)),
        ("tokens in / out", f"{int(samples['tokens_in'].sum() or 0):,} / "
                            f"{int(samples['tokens_out'].sum() or 0):,}" if n else "—"),
        ("cost (USD)", f"{float(samples['cost_usd'].sum() or 0):.6f}" if n else "—"),
        ("wall time (s)", _t(run["wall_ms"] / 1000) if run.get("wall_ms") else "—"),
        ("prompt hash", _t(run.get("prompt_hash"))),
        ("versions", _t(", ".join(f"{k} {v}" for k, v in versions.items()))),
    ]
    if run.get("error"):
        rows.append(("run error", _t(run["error"])))
    return _table(rows)


def _path_block(p: dict[str, Any]) -> str:
    cls = {True: " wb-correct", False: " wb-wrong"}.get(p["correct"], "")
    flags = [p["role"], f"round {p['round']}" if p["round"] else "",
             f"{p['tokens_out']} tokens", p["finish_reason"] or "",
             "truncated" if p["truncated"] else "", f"score {p['score']:.3g}"
             if p["score"] is not None else ""]
    head = (f"#{p['idx']} · " + " · ".join(escape(str(f)) for f in flags if f)
            + f" · answer <b>{_t(p['answer'])}</b> {_mark(p['correct'])}")
    error = f'<div class="wb-bad">error: {_t(p["error"])}</div>' if p["error"] else ""
    return (f'<div class="wb-report-path{cls}" data-path-id="{_t(p["path_id"])}">'
            f"<div>{head}</div>{error}"
            f'<pre class="wb-report-text">{_t(p["text"] or "")}</pre></div>')


def search_trees(store: Store, run: dict[str, Any]) -> dict[str, Any]:
    """Per item, the search tree of a step-level search run (empty for other runs), text
    decoded from its stored form and built with the run's own aggregation."""
    from workbench.analysis.search_tree import build_trees

    steps = store.search_steps(run["run_id"])
    if steps.is_empty():
        return {}
    texts = [c for c in ("text", "stored_answer", "score_error") if c in steps.columns]
    steps = steps.with_columns(pl.col(c).map_elements(decode_text, return_dtype=pl.String)
                               for c in texts)
    params = json.loads(decode_text(run["params"])) if run.get("params") else {}
    return build_trees(steps, str(params.get("aggregate") or "last"))


def _item_block(s: dict[str, Any], paths: pl.DataFrame, votes: pl.DataFrame,
                rounds: pl.DataFrame, tree: Any = None) -> str:
    sid = s["sample_id"]
    parts = [f"<p><b>Question.</b> {_t(s['question'])}</p>",
             f"<p><b>Gold</b> {_t(s['gold'])} · <b>final answer</b> {_t(s['answer'])} "
             f"{_mark(s['correct'])} · {s['tokens_out'] or 0} output tokens · "
             f"{s['n_calls'] or 0} calls</p>"]
    if s["error"]:
        parts.append(f'<p class="wb-bad">error: {_t(s["error"])}</p>')
    v = votes.filter(pl.col("sample_id") == sid)
    if not v.is_empty():
        parts.append("<h4>Vote</h4>" + _grid(v, ["method", "counts", "winner", "tie",
                                                 "tie_break", "n_paths", "stopped_early"]))
    r = rounds.filter(pl.col("sample_id") == sid)
    if not r.is_empty():
        parts.append("<h4>Refinement rounds</h4>"
                     + _grid(r, ["round", "answer", "accepted", "correct", "critique"]))
    if tree is not None:
        parts.append(f"<h4>Search tree</h4>{tree_html(tree, css=False)}")
    mine = paths.filter(pl.col("sample_id") == sid)
    if not mine.is_empty():
        parts.append(f"<h4>Generations ({mine.height})</h4>"
                     + "".join(_path_block(p) for p in mine.iter_rows(named=True)))
    title = (f"item {s['item_index']} {_mark(s['correct'])} · answer {_t(s['answer'])} "
             f"· gold {_t(s['gold'])}")
    return (f'<details class="wb-report-item" data-sample-id="{_t(sid)}">'
            f"<summary>{title}</summary>{''.join(parts)}</details>")


def _figures_html(figs: list[Any]) -> str:
    import plotly.io as pio

    # Fixed div ids: the same run always exports to the same bytes (diffable, cacheable).
    parts = []
    for i, fig in enumerate(figs):
        div = pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=f"wb-fig-{i}",
                          config={"displaylogo": False})
        parts.append(f'<div class="wb-report-figure">{div}</div>')
    return "".join(parts)


def run_report_html(store: Store, run_id: str) -> str:
    """The report of ``run_id`` as one HTML string (plotly.js inlined)."""
    from plotly.offline import get_plotlyjs

    runs = store.runs(run_id)
    if runs.is_empty():
        known = ", ".join(store.runs()["run_id"].to_list()[-5:]) or "none"
        raise WorkbenchError(f"No run {run_id!r} in {store.path} (latest runs: {known}). "
                             "List them with `workbench runs`.")
    run = runs.row(0, named=True)
    samples = store.samples(run_id).sort("item_index")
    paths = store.paths(run_id).sort("sample_id", "round", "idx", "started_at")
    votes, rounds = store.votes(run_id), store.rounds(run_id)
    figs = run_figures(samples, paths, votes, rounds)
    trees = search_trees(store, run)
    items = "".join(_item_block(s, paths, votes, rounds, trees.get(s["sample_id"]))
                    for s in samples.iter_rows(named=True))
    n_main = paths.filter(pl.col("role").is_in(MAIN_ROLES)).height
    plotlyjs = script_safe(get_plotlyjs())
    title = f"Run {_t(run_id)} · {_t(run['technique'])} · {_t(run['model'])} · {_t(run['task'])}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title><style>{_CSS}{TREE_CSS if trees else ''}</style>"
            f'<script type="text/javascript">{plotlyjs}</script></head>'
            f'<body class="wb-report"><h1>{title}</h1>'
            f"<h2>Summary</h2>{_summary(run, samples, paths)}"
            f"<h2>Figures</h2>{_figures_html(figs)}"
            f"<h2>Items ({samples.height}; {n_main} reasoning paths)</h2>{items}"
            f"<footer><p>Exported by inference-workbench; self-contained, works offline."
            f"</p></footer></body></html>")


def export_run_html(source: Store | str | Path, run_id: str, out_file: str | Path) -> Path:
    """Write the offline HTML report of ``run_id`` to ``out_file``; return its path.

    ``source`` is a trace database path or an open ``Store`` (a path is opened read-only,
    or the Store this process already holds on that file is reused).
    """
    with store_for(source) as store:
        page = run_report_html(store, run_id)
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8", errors="replace")
    return out
