"""Scaling analysis: pure functions from stored traces (polars frames) to tables and figures.

Load once with :func:`from_store`, then everything is frames in, frames or plotly figures
out. Figures are plotly ``graph_objects`` (no pandas);
:func:`write_report` writes everything to a folder that opens offline.
"""

from workbench.analysis.adaptive import beta_confidence, decided, margin, simulate_adaptive
from workbench.analysis.compare import (
    Comparison,
    compare,
    compare_store,
    diff_text,
    mcnemar_exact,
    newcombe_paired_interval,
)
from workbench.analysis.compute import (
    DEFAULT_FLOPS_PER_JOULE,
    compute_label,
    curve_configs,
    per_item_usage,
    run_summary,
)
from workbench.analysis.curves import (
    RunCurves,
    bootstrap_mean_ci,
    curves,
    item_curves,
    run_curves,
    summarize_curves,
)
from workbench.analysis.decisions import best_under, cheapest_to_reach, pareto_frontier
from workbench.analysis.difficulty import (
    accuracy_by_difficulty,
    agreement_difficulty,
    curves_by_difficulty,
    meta_difficulty,
)
from workbench.analysis.estimators import maj_at_k, maj_at_k_curve, pass_at_k, pass_at_k_curve
from workbench.analysis.figures import (
    fig_maj_pass,
    fig_pareto,
    fig_refinement_flips,
    fig_scaling,
    fig_vote_margin,
    refinement_flips,
    vote_margins,
)
from workbench.analysis.fits import (
    Fit,
    HurtCheck,
    curve_fits,
    find_knee,
    fit_coverage,
    fit_log_linear,
    fit_power_law,
    fits_table,
    more_calls_hurt,
)
from workbench.analysis.frames import Frames, as_frames, from_store, item_tallies
from workbench.analysis.intervals import wilson_interval
from workbench.analysis.literature import alpha_by_task, compare_to_seed, sc_gain
from workbench.analysis.report import Report, png_exporter, write_report
from workbench.analysis.static import use_system_browser, write_static
from workbench.analysis.tables import price_table, seed_table, show_table, to_markdown

__all__ = [
    "DEFAULT_FLOPS_PER_JOULE", "Fit", "Frames", "HurtCheck", "RunCurves",
    "accuracy_by_difficulty", "agreement_difficulty", "as_frames", "best_under",
    "beta_confidence", "bootstrap_mean_ci", "cheapest_to_reach", "compute_label",
    "curve_configs", "curve_fits", "curves", "curves_by_difficulty", "decided", "find_knee",
    "fit_coverage", "fit_log_linear", "fit_power_law", "fits_table", "from_store",
    "item_curves", "item_tallies", "maj_at_k", "maj_at_k_curve", "margin", "meta_difficulty",
    "more_calls_hurt", "pareto_frontier", "pass_at_k", "pass_at_k_curve", "per_item_usage",
    "price_table", "run_curves", "run_summary", "seed_table", "show_table", "simulate_adaptive",
    "summarize_curves", "to_markdown", "fig_maj_pass", "fig_pareto", "fig_refinement_flips",
    "fig_scaling", "fig_vote_margin", "refinement_flips", "vote_margins", "Report",
    "png_exporter", "write_report", "use_system_browser", "write_static",
    "alpha_by_task", "compare_to_seed", "sc_gain",
    "Comparison", "compare", "compare_store", "diff_text", "mcnemar_exact",
    "newcombe_paired_interval", "wilson_interval",
]

use_system_browser()  # fig.write_image uses the installed Chromium (never a download)
