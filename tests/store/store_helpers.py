"""Subprocess helpers for the store tests (a module of its own, not conftest, so that
importing it never collides with another directory's conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    """Start ``python -c script args`` with the repo importable; stdout is a text pipe."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_for_line(proc: subprocess.Popen[str], expected: str, timeout: float = 60.0) -> list[str]:
    """Read the child's stdout until a line equals ``expected``; return the lines read."""
    import select

    assert proc.stdout is not None
    lines: list[str] = []
    while True:
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError(f"child did not print {expected!r}; got {lines}")
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"child exited before {expected!r}: {lines} {err}")
        lines.append(line.strip())
        if line.strip() == expected:
            return lines
