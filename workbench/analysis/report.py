"""One call from a store (or frames) to a folder of tables and figures that opens offline.

Tables are written as CSV (for tools) and markdown (for reading, collected in
``report.md``); figures as HTML that load one local ``plotly.min.js`` next to them (no
CDN), and as PNG and SVG beside them when kaleido can drive an installed Chromium
(:mod:`workbench.analysis.static`; nothing is downloaded).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl

from workbench.analysis import adaptive, figures
from workbench.analysis.compute import DEFAULT_FLOPS_PER_JOULE, curve_configs, run_summary
from workbench.analysis.curves import run_curves, summarize_curves
from workbench.analysis.decisions import pareto_frontier
from workbench.analysis.difficulty import accuracy_by_difficulty, meta_difficulty
from workbench.analysis.fits import curve_fits
from workbench.analysis.frames import Frames, as_frames, reasoning_paths
from workbench.analysis.literature import run_labels
from workbench.analysis.static import static_exporter, use_system_browser, write_static
from workbench.analysis.tables import seed_table, to_markdown
from workbench.htmltext import escape

PngWriter = Callable[[go.Figure, Path], None]


@dataclass
class Report:
    """What :func:`write_report` wrote, and why anything was left out."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    png: str = ""
    skipped: list[str] = field(default_factory=list)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def png_exporter() -> tuple[PngWriter | None, str]:
    """A working offline PNG writer, or None and the reason (kaleido >= 1 with the
    installed Chromium, see :mod:`workbench.analysis.static`; never a download)."""
    ok, how = static_exporter()
    if not ok:
        return None, how

    def write(fig: go.Figure, path: Path) -> None:
        write_static({path.stem: fig}, path.parent, formats=("png",))
    return write, how


def _analyse(frames: Frames, model_params: Mapping[str, float] | None,
             flops_per_joule: float, b: int, seed: int) -> tuple[dict[str, pl.DataFrame],
                                                                  list[str]]:
    tables: dict[str, pl.DataFrame] = {}
    skipped: list[str] = []
    summary = run_summary(frames, model_params=model_params, flops_per_joule=flops_per_joule,
                          b=b, seed=seed)
    tables["summary"] = summary
    configs = summary
    paths = reasoning_paths(frames.paths) if frames.paths.height else frames.paths
    multi = paths.group_by("run_id", "sample_id").len().filter(pl.col("len") > 1) \
        if paths.height else paths
    if multi.height:
        paths = paths.filter(pl.col("run_id").is_in(multi["run_id"].implode()))
        rcs = run_curves(paths)
        tables["curves"] = summarize_curves(rcs, b=b, seed=seed)
        tables["curve_fits"] = curve_fits(rcs, b=b, seed=seed)
        replay = curve_configs(tables["curves"], summary)
        configs = pl.concat([summary, replay], how="diagonal_relaxed")
        tables["adaptive"] = pl.concat([
            adaptive.simulate_adaptive(paths, rule, b=b, seed=seed).with_columns(
                rule=pl.lit(name)) for name, rule in (
                ("decided", adaptive.decided()),
                ("beta>=0.95", adaptive.beta_confidence(0.95)))])
    else:
        skipped.append("curves, fits, adaptive: no run has more than one path per item")
    tables["seed_table"] = seed_table(configs)
    tables["pareto_cost"] = pareto_frontier(configs, "cost_usd").filter(pl.col("on_frontier"))
    diff = meta_difficulty(frames.samples) if frames.samples.height else pl.DataFrame()
    if diff.height:
        tables["difficulty"] = accuracy_by_difficulty(frames.samples, diff, b=b, seed=seed)
    else:
        skipped.append("difficulty: no difficulty/level/digits in sample meta")
    if frames.rounds.height and "correct" in frames.rounds.columns:
        tables["refinement_flips"] = figures.refinement_flips(frames.rounds)
    tables["configs"] = configs
    return tables, skipped


def _figures(frames: Frames, tables: Mapping[str, pl.DataFrame]) -> dict[str, go.Figure]:
    figs: dict[str, go.Figure] = {}
    configs = tables["configs"]
    if "compute_multiple" in configs.columns:
        figs["scaling"] = figures.fig_scaling(configs)
    if "curves" in tables:
        figs["maj_pass"] = figures.fig_maj_pass(tables["curves"],
                                                labels=run_labels(tables["summary"]))
        figs["vote_margin"] = figures.fig_vote_margin(frames.paths)
    figs["pareto_cost"] = figures.fig_pareto(configs, x="cost_usd")
    if configs["latency_ms_mean"].drop_nulls().len():
        figs["pareto_latency"] = figures.fig_pareto(configs, x="latency_ms_mean")
    if "refinement_flips" in tables and tables["refinement_flips"].height:
        figs["refinement_flips"] = figures.fig_refinement_flips(frames.rounds)
    return figs


def _csv_safe(df: pl.DataFrame) -> pl.DataFrame:
    """CSV cannot hold list/struct columns: render them as JSON-ish text."""
    return df.with_columns([pl.col(c).map_elements(str, return_dtype=pl.String)
                            for c, t in df.schema.items() if t.is_nested()])


def _write_static(figs: Mapping[str, go.Figure], out: Path) -> tuple[str, list[Path]]:
    """PNG + SVG beside the HTML in one browser session, or the reason they are missing."""
    try:
        paths = write_static(figs, out)
    except Exception as exc:  # noqa: BLE001 - no browser / render failure: HTML still stands
        browser = use_system_browser() or "no Chromium found (install chromium or set BROWSER_PATH)"
        return (f"PNG/SVG skipped (HTML only): kaleido with {browser}: "
                f"{type(exc).__name__}: {str(exc).strip()[:160]}"), []
    return f"PNG and SVG via kaleido with {use_system_browser()}", paths


def write_report(source: Any, out_dir: str | os.PathLike[str], *,
                 model_params: Mapping[str, float] | None = None,
                 flops_per_joule: float = DEFAULT_FLOPS_PER_JOULE, b: int = 1000,
                 seed: int = 0, png: bool = True) -> Report:
    """Analyse ``source`` (a store, a DuckDB connection, :class:`Frames` or a dict of
    frames) and write CSV + markdown tables, HTML figures (offline) and, when ``png`` and
    an offline exporter works, PNGs, plus ``report.md`` tying them together."""
    frames = as_frames(source)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables, skipped = _analyse(frames, model_params, flops_per_joule, b, seed)
    rep = Report(out, skipped=skipped, tables=tables)
    md = ["# Inference scaling report", ""]
    for name, df in tables.items():
        df.pipe(_csv_safe).write_csv(out / f"{name}.csv")
        rep.files.append(out / f"{name}.csv")
        md += [f"## {name}", "", to_markdown(df.head(200).pipe(_csv_safe)), ""]
    md += ["## Figures", ""]
    figs = _figures(frames, tables)
    for name, fig in figs.items():
        fig.write_html(out / f"{name}.html", include_plotlyjs="directory")
        rep.files.append(out / f"{name}.html")
    rep.png, static = _write_static(figs, out) if png else ("PNG not requested", [])
    rep.files += static
    for name in figs:
        md.append(f"- [{name}]({name}.html)")
        if out / f"{name}.png" in static:
            md.append(f"  ![{name}]({name}.png) ([SVG]({name}.svg))")
    # Reasons quote exception text: escaped, since markdown passes raw HTML through.
    md += ["", f"PNG/SVG export: {escape(rep.png)}",
           *[f"- skipped {escape(s)}" for s in skipped], ""]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    rep.files += [out / "report.md", out / "plotly.min.js"]
    return rep
