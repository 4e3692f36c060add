"""A clean first run: set-up prints no deprecation wall and no RuntimeWarning, and the
demo ends with three commands to try next."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from workbench.cli.main import next_steps

REPO = Path(__file__).resolve().parents[2]


def test_licence_is_an_spdx_string_with_its_files() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"  # a TOML table is deprecated by setuptools
    assert project["license-files"] and all((REPO / f).is_file()
                                            for f in project["license-files"])
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]
    assert any(r.startswith("setuptools>=") and int(r.split(">=")[1].split(".")[0]) >= 77
               for r in requires["requires"])  # SPDX strings need setuptools 77


def run_module(module: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", module],
                          capture_output=True, text=True, env=env, timeout=60, cwd=REPO)


def test_running_a_local_submodule_prints_no_runtime_warning() -> None:
    # runpy warns when the package imported the module before running it as __main__
    done = run_module("workbench.local.gguf")
    assert done.returncode == 0 and "RuntimeWarning" not in done.stderr, done.stderr


def test_importing_the_local_package_imports_no_submodule() -> None:
    code = ("import sys, workbench.local as L; "
            "print(sorted(m for m in sys.modules if m.startswith('workbench.local.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
    from workbench.local import DEFAULT_WEIGHTS, LocalServer  # exports still resolve

    assert DEFAULT_WEIGHTS.filename.endswith(".gguf") and LocalServer.__name__


def test_setup_calls_the_weights_entry_point() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "workbench local weights" in makefile
    assert "-m workbench.local.weights" not in makefile


def test_demo_ends_with_three_commands_to_paste() -> None:
    text = next_steps("/tmp/x/traces.duckdb")
    lines = text.splitlines()
    steps = [line for line in lines if line.lstrip()[:2] in {"1.", "2.", "3."}]
    commands = [line.strip() for line in lines if line.startswith("       ")]
    assert len(steps) == 3 and all(len(line) <= 100 for line in steps), text
    assert [c.split()[0] for c in commands] == ["make", "workbench", "workbench"]
    assert all("--db /tmp/x/traces.duckdb" in c for c in commands[1:])
    assert "--db" not in next_steps("traces.duckdb")  # the default file needs no flag
