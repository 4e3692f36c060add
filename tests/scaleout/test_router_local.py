"""Two real llama.cpp servers (the embedded engine, started twice in their own processes)
behind one pool; one is SIGKILLed mid-sweep and the sweep completes on the other."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.backends.litellm_adapter import LiteLLMBackend
from workbench.backends.retry import RetryPolicy
from workbench.events import Event, SampleScored
from workbench.models import configured
from workbench.store.store import Store
from workbench.sweep import run_sweep
from workbench.sweep.spec import expand

REPO = Path(__file__).resolve().parents[2]
SERVE = """
import time
from workbench.local.config import LocalConfig
from workbench.local.server import LocalServer
server = LocalServer(LocalConfig(n_parallel=2, n_ctx=2048, threads=1, cache_ram_mib=64))
server.start()
print(server.api_base, server.model_name, flush=True)
time.sleep(900)
"""
ITEMS = 8


class Engine:
    """One embedded llama.cpp server in a child process (so it can really be killed)."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-c", SERVE], stdout=subprocess.PIPE,
                                     text=True, env=env)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 180)
        line = self.proc.stdout.readline().split() if ready else []
        if len(line) != 2:
            self.kill()
            raise AssertionError("the local model server did not start")
        self.api_base, self.model_name = line

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


@pytest.fixture
def engines() -> Iterator[tuple[Engine, Engine]]:
    a = Engine()
    try:
        b = Engine()
    except BaseException:
        a.kill()
        raise
    try:
        yield a, b
    finally:
        a.kill()
        b.kill()


@pytest.mark.local_model
@pytest.mark.slow
async def test_sweep_survives_killing_one_of_two_local_servers(
        engines: tuple[Engine, Engine], tmp_path: Path) -> None:
    a, b = engines
    deployments = [{"model": f"openai/{e.model_name}", "api_base": e.api_base,
                    "concurrency": 2} for e in (a, b)]
    cfg = configured("pool", {"models": {"pool": {"router": True, "deployments": deployments,
                                                  "cooldown_s": 120, "native_n": True}}})
    assert cfg is not None
    policy = RetryPolicy(max_attempts=4, backoff_base_s=0.2, deadline_s=600.0,
                         attempt_timeout_s=300.0, first_token_timeout_s=240.0,
                         stall_timeout_s=60.0)
    backend = LiteLLMBackend({"pool": cfg}, retry=policy)
    sweep = expand({"name": "local-pool", "models": ["pool"], "tasks": ["arithmetic"],
                    "limit": ITEMS, "techniques": [{"technique": "direct", "budget": 24}]})
    scored: list[str] = []

    def kill_b_midway(event: Event) -> None:
        if isinstance(event, SampleScored):
            scored.append(event.sample_id)
            if len(scored) == 3:
                b.kill()

    with Store.open(tmp_path / "local.duckdb") as store:
        await run_sweep(sweep, store, backend, [kill_b_midway], reuse_paths=False)
        samples = store.samples()
    assert b.proc.returncode == -signal.SIGKILL and a.proc.poll() is None
    assert samples.height == ITEMS and samples["item_index"].n_unique() == ITEMS
    failed = samples.height - samples["error"].null_count()
    assert failed <= 2, samples["error"].drop_nulls().to_list()  # B's two slots at most
