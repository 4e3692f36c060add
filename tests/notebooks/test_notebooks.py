"""Every notebook in notebooks/ runs end to end, as a fresh user would run it.

Executed with nbclient (the venv's kernel; ``store_widget_state=True`` so widget state is
saved as "Save Widget State" would) in a temp copy of notebooks/, so trace databases land
in the temp dir and the repo's notebooks are never rewritten. Checks: no error output;
notebooks that display widgets carry their state in ``metadata.widgets``; and an API-key
canary placed in the kernel's environment appears nowhere in the saved file (notebooks
are shared: a key printed by a repr, an error message or a widget trait would leak).
The executed copies are kept under test-artifacts/notebooks/ for inspection.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "notebooks"
STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
CELL_TIMEOUT_S = int(os.environ.get("WORKBENCH_NOTEBOOK_CELL_TIMEOUT", "900"))
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TOGETHERAI_API_KEY", "GEMINI_API_KEY",
            "OPENROUTER_API_KEY")

pytestmark = pytest.mark.notebook


def canary_env(tmp: Path) -> tuple[dict[str, str], str]:
    """The kernel's environment: offline litellm, a temp trace DB, fake keys (the canary)."""
    canary = f"sk-canary-{secrets.token_hex(12)}"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "WORKBENCH_DB": str(tmp / "traces.duckdb"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.update({var: canary for var in KEY_VARS})
    return env, canary


def mirror_repo(tmp: Path) -> Path:
    """A temp copy of notebooks/ beside a link to the repo's data/ (notebooks read
    ``../data/...``); returns the copied notebooks dir."""
    root = tmp / "repo"
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.duckdb*"))
    if (REPO / "data").is_dir():
        (root / "data").symlink_to(REPO / "data", target_is_directory=True)
    return root / "notebooks"


def execute(src: Path, env: dict[str, str]) -> tuple[Any, str | None]:
    """Run every cell (errors are kept as outputs); returns the notebook and the reason
    execution stopped early (a cell timeout, a dead kernel), if it did."""
    from nbclient import NotebookClient

    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                            store_widget_state=True, allow_errors=True,
                            resources={"metadata": {"path": str(src.parent)}})
    try:
        client.execute(env=env)
    except Exception as exc:  # CellTimeoutError, DeadKernelError: keep the partial notebook
        return nb, f"{type(exc).__name__}: {str(exc)[:500]}"
    return nb, None


def errors_of(nb: Any) -> list[str]:
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
    return out


def widget_views(nb: Any) -> list[str]:
    return [o["data"][VIEW_MIME]["model_id"] for cell in nb.cells
            for o in cell.get("outputs", []) if VIEW_MIME in o.get("data", {})]


def elided_tables(nb: Any) -> list[int]:
    """Cells whose polars table output hides rows or columns behind an ellipsis: a summary
    that drops its middle rows hides the configurations that matter."""
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            html = o.get("data", {}).get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            if "shape:" in html and ("…" in html or "&hellip;" in html):
                out.append(i)
    return out


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_clean(notebook: Path, tmp_path: Path) -> None:
    workdir = mirror_repo(tmp_path)
    env, canary = canary_env(tmp_path)
    t0 = time.perf_counter()
    nb, stopped = execute(workdir / notebook.name, env)
    elapsed = time.perf_counter() - t0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    saved = ARTIFACTS / notebook.name
    nbformat.write(nb, saved)

    assert stopped is None, f"{notebook.name} stopped after {elapsed:.0f}s: {stopped}"
    assert errors_of(nb) == [], f"{notebook.name} raised (after {elapsed:.0f}s)"
    assert elided_tables(nb) == [], f"{notebook.name}: tables shown cut (use an.show_table)"
    views = widget_views(nb)
    if views:
        state = nb.metadata.get("widgets", {}).get(STATE_MIME, {}).get("state", {})
        missing = [m for m in views if m not in state]
        assert not missing, f"widget views without saved state: {missing[:3]}"
    text = saved.read_text(encoding="utf-8")
    assert canary not in text, "an API key from the kernel environment was saved"
    assert canary not in json.dumps(nb.metadata)
