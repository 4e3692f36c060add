"""Exports that leave the workbench: offline HTML reports and notebooks, Parquet tables.

Imported lazily so ``import workbench.export`` stays cheap (plotly, nbconvert and polars
are loaded by the function that needs them)::

    from workbench.export import export_run_html, export_parquet, export_notebook_html
    export_run_html("traces.duckdb", run_id, "report.html")
    export_parquet("traces.duckdb", "out/", run_ids=[run_id])
    export_notebook_html("notebooks/01_quickstart.ipynb", "quickstart.html")
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "export_run_html": "workbench.export.html",
    "run_report_html": "workbench.export.html",
    "export_parquet": "workbench.export.parquet",
    "export_notebook_html": "workbench.export.notebook",
    "notebook_to_offline_html": "workbench.export.notebook",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _LAZY:
        raise AttributeError(f"module 'workbench.export' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = list(_LAZY)
