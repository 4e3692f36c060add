"""bench/local_raw.py measures against a real server and returns a sane report."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from workbench.local.config import LocalConfig
from workbench.local.server import LocalServer

pytestmark = pytest.mark.local_model


def _load_bench() -> ModuleType:
    path = Path(__file__).parents[2] / "bench" / "local_raw.py"
    spec = importlib.util.spec_from_file_location("bench_local_raw", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_raw_parallel_ratio_small(real_gguf: Path) -> None:
    bench = _load_bench()
    with LocalServer(LocalConfig(gguf=real_gguf, n_parallel=2, n_ctx=2048, threads=2)) as srv:
        report = bench.raw_parallel_ratio(srv.api_base, srv.model_name, n=2, max_tokens=12)
    assert report["single_tokens"] == 12  # ignore_eos: every stream runs to max_tokens
    assert report["parallel_tokens"] == 24
    assert report["single_tps"] > 0 and report["aggregate_tps"] > 0
    assert report["ratio"] == pytest.approx(report["aggregate_tps"] / report["single_tps"],
                                            abs=0.05)
