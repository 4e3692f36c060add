"""The benchmark scripts run end to end (small sizes): the soak stays flat, and the
orchestration benchmark prints its two ratios. Full sizes: run the scripts by hand."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def bench(script: str, *args: str, timeout: float = 400) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "bench" / script), *args],
                          capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_soak_memory_and_descriptors_stay_flat() -> None:
    out = bench("soak.py", "--streams", "1024", "--warmup", "192")
    assert "flat: yes" in out, out
    fds = re.search(r"fds before/after: (\d+) / (\d+)", out)
    assert fds is not None and int(fds.group(2)) - int(fds.group(1)) <= 5


@pytest.mark.slow
def test_orchestration_benchmark_reports_both_ratios() -> None:
    out = bench("orchestration.py", "--items", "8", "--repeat", "1", "--latency", "0.1")
    for label in ("vs ideal: ", "vs hand-written loop: ", "vs aiohttp loop: ", "native n: "):
        assert label in out, out
    ratio = float(re.search(r"vs aiohttp loop: ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    assert ratio < 3.0  # the same calls: near the bare client, not a multiple of it
    assert re.search(r"workbench fan-out +best wall .* paths 128\b", out), out
