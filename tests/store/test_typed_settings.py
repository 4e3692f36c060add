"""A budget value follows typed fields from the spec to its column (issue 10.1): the run's
knobs travel as ``RunStarted.config`` and each path's request as ``PathStarted.request``;
the recorder writes them to columns, replay gives the same values back, and an old file's
runs (no typed record) still replay with ``config=None``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.events import PathStarted, RunConfig, RunStarted, event_from_dict
from workbench.runner import RunSpec, run
from workbench.store.recorder import Recorder
from workbench.store.replay import replay
from workbench.store.store import Store


def script(req: GenRequest, choice: int) -> str:
    if "SCORE" in req.messages[-1]["content"]:
        return "SCORE: 7"
    return "Adding them gives 4. The answer is 4"


def _run(db: Path, spec: RunSpec) -> tuple[str, list[object]]:
    seen: list[object] = []
    with Store.open(db) as store:
        recorder = Recorder(store)
        result = asyncio.run(run(spec, ScriptedBackend(script), [recorder, seen.append]))
        recorder.close()
    return result.run_id, seen


def test_a_budget_travels_typed_from_spec_to_column_and_back(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    spec = RunSpec(task="arithmetic", technique="best-of-n", model="scripted", budget=96,
                   n=3, limit=2)
    run_id, live = _run(db, spec)
    started = next(e for e in live if isinstance(e, RunStarted))
    config = started.config
    assert isinstance(config, RunConfig)
    assert (config.budget_tokens, config.n_samples, config.technique) == (96, 3, "best-of-n")
    assert config.technique_tree["verifier_budget"] == 128  # the verifier's budget too
    assert config.technique_tree["inner"]["budget_tokens"] == 96
    requests = [e.request for e in live if isinstance(e, PathStarted)]
    assert requests and all(r is not None for r in requests)
    assert {r.max_tokens for r in requests if r is not None} >= {96, 128}
    with Store.open(db, read_only=True) as store:
        row = store.runs(run_id).row(0, named=True)
        assert (row["budget_tokens"], row["n_samples"]) == (96, 3)
        assert json.loads(row["technique_tree"])["verifier_budget"] == 128
        paths = store.paths(run_id)
        assert paths["max_tokens"].null_count() == 0
        assert set(paths.filter(paths["role"] == "path")["max_tokens"]) == {96}
        events = replay(store, run_id)
    again = next(e for e in events if isinstance(e, RunStarted))
    assert again.config == config
    replayed = {e.path_id: e.request for e in events if isinstance(e, PathStarted)}
    assert replayed == {e.path_id: e.request for e in live if isinstance(e, PathStarted)}
    assert event_from_dict(started.to_dict()) == started  # nested values survive a dict


def test_runs_recorded_without_a_config_keep_their_params_columns(tmp_path: Path) -> None:
    """An event from before the typed record (a replayed old run) is written as before."""
    db = tmp_path / "o.duckdb"
    old = RunStarted(run_id="old", technique="cot", model="m", task="t",
                     params={"budget_tokens": 64, "n": 1, "rounds": 0, "temperature": 0.0})
    with Store.open(db) as store:
        recorder = Recorder(store)
        recorder(old)
        recorder.close()
        row = store.runs("old").row(0, named=True)
        assert (row["budget_tokens"], row["technique_tree"]) == (64, None)
        assert next(e for e in replay(store, "old") if isinstance(e, RunStarted)).config is None
