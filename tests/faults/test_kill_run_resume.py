"""kill -9 a real ``workbench run`` mid-run: the next writer marks it ``interrupted``, and
``workbench run --resume RUN_ID`` sends only the missing items (counted at the fake
server) and completes the run with no duplicates.

The run is a separate process (``python -m workbench.cli.main run``) against the fake
OpenAI-compatible server on loopback; the kill lands once the server has answered a third
of the items, so some samples are committed and some are in flight.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_openai import FakeOpenAI

from workbench.store.store import Store

REPO = Path(__file__).resolve().parents[2]
ITEMS = 30


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "workbench.cli.main", *args], env=env,
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


@pytest.mark.slow
def test_killed_run_is_marked_interrupted_and_resume_runs_only_the_rest(
        fake: FakeOpenAI, tmp_path: Path, note: Any) -> None:
    fake.latency_s = 0.15  # ~7 items a second at concurrency 1: time to land mid-run
    db = tmp_path / "k.duckdb"
    (tmp_path / "workbench.toml").write_text(
        f'[models.fake]\nmodel = "openai/fake"\napi_base = "{fake.base_url}"\n')
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "WORKBENCH_CONFIG": str(tmp_path / "workbench.toml"), "OPENAI_API_KEY": "sk-x"}
    args = ["run", "--model", "fake", "--technique", "cot", "--budget", "64", "--limit",
            str(ITEMS), "--concurrency", "1", "-q", "--db", str(db)]
    proc = _cli(args, env)
    t0 = time.perf_counter()
    while fake.attempts < ITEMS // 3 and proc.poll() is None:
        assert time.perf_counter() - t0 < 120, "the run never got going"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, proc.stdout.read() if proc.stdout else ""
    sent_before = fake.attempts

    with Store.open(db) as store:  # the next writer's open notices the dead process
        run = store.runs().row(0, named=True)
        kept = store.samples()["item_index"].to_list()
    assert run["status"] == "interrupted", run
    assert f"PID {proc.pid}" in run["error"] and f"--resume {run['run_id']}" in run["error"]
    assert 0 < len(kept) < ITEMS and len(set(kept)) == len(kept)

    resume = _cli(["run", "--resume", run["run_id"], "-q", "--db", str(db)], env)
    out, _ = resume.communicate(timeout=180)
    rerun = fake.attempts - sent_before
    with Store.open(db, read_only=True) as store:
        final = store.runs().row(0, named=True)
        samples = store.samples()
        paths = store.paths()
        n_runs = store.runs().height
    note(f"kill -9 of `workbench run`: {len(kept)}/{ITEMS} samples committed, status "
         f"{run['status']} on reopen; `--resume` sent {rerun} requests for "
         f"{ITEMS - len(kept)} missing items -> {samples.height}/{ITEMS} samples, "
         f"status {final['status']}, exit {resume.returncode}")
    assert resume.returncode == 0, out
    assert rerun == ITEMS - len(kept)  # one request per missing item, nothing re-run
    assert n_runs == 1 and final["status"] == "ok"
    assert sorted(samples["item_index"].to_list()) == list(range(ITEMS))
    assert samples["sample_id"].n_unique() == ITEMS
    assert paths["path_id"].n_unique() == paths.height
    assert paths.filter(paths["error"].is_null()).height == ITEMS  # one good path per item
