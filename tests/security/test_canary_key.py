"""A canary API key used for whole runs never lands anywhere a user or a reader could see
it: not in the DuckDB file or its WAL, not in logs or printed output, not in errors shown
to the user, not in the Parquet or HTML exports. The fake provider is hostile: on a 401 it
echoes the Authorization header back in its error message."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from fakes.fake_openai import FakeOpenAI, Fault
from faults.fault_kit import toy_answer
from security_kit import NetLog, off_box
from typer.testing import CliRunner

from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig
from workbench.backends.retry import RetryPolicy
from workbench.cli.main import app
from workbench.export.html import export_run_html
from workbench.export.parquet import export_parquet
from workbench.models import configured
from workbench.runner import RunSpec, run
from workbench.store.recorder import Recorder
from workbench.store.store import Store

CANARY = "sk-canary-5b1f0c2e9d8a7f6e4c3b"
FRAGMENTS = (CANARY, CANARY[3:19], CANARY[-12:])
FAULTS = [None, Fault("auth"), Fault("server_error"), Fault("cut", after_chunks=3),
          Fault("rate_limit", retry_after=0.01)]


class HeaderRecordingServer(FakeOpenAI):
    """The fake server, also remembering each request's Authorization header."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.auth_headers: list[str] = []

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.auth_headers.append(request.headers.get("Authorization", ""))
        return await super()._handle(request)


def leaks(blob: bytes | str) -> list[str]:
    data = blob.encode("utf-8", "surrogatepass") if isinstance(blob, str) else blob
    return [f for f in FRAGMENTS if f.encode() in data]


@pytest.fixture
def canary_env(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    caplog.set_level(logging.DEBUG)
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "openai", "aiohttp",
                 "workbench", "workbench.store"):
        caplog.set_level(logging.DEBUG, logger=name)


def fake_model(api_base: str, pool: bool, transport: str = "auto") -> ModelConfig:
    """The fake model reading its key from $OPENAI_API_KEY: alone (over our HTTP transport
    or litellm), or as a one-deployment router pool (litellm's Router holds the key in its
    deployment list)."""
    if not pool:
        return ModelConfig("openai/fake", api_base=api_base, api_key_env="OPENAI_API_KEY",
                           transport=transport)
    entry = {"router": True, "deployments": [
        {"model": "openai/fake", "api_base": api_base, "api_key_env": "OPENAI_API_KEY"}]}
    cfg = configured("fake", {"models": {"fake": entry}})
    assert cfg is not None
    return cfg


@pytest.mark.parametrize(("pool", "transport"), [(False, "http"), (False, "litellm"),
                                                  (True, "auto")],
                         ids=["single", "single-litellm", "router-pool"])
async def test_canary_key_stays_out_of_store_wal_logs_errors_and_exports(
        canary_env: None, warm_security: None, toy_task: Any, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
        net_log: NetLog, pool: bool, transport: str) -> None:
    db = tmp_path / "t.duckdb"
    policy = RetryPolicy(max_attempts=2, backoff_base_s=0.01, jitter=0.0, deadline_s=20.0)
    seen: list[bytes | str] = []
    server = HeaderRecordingServer(texts=toy_answer)
    with server, Store.open(db) as store:
        backend = LiteLLMBackend({"fake": fake_model(server.base_url, pool, transport)},
                                 retry=policy)
        run_ids = []
        for fault in FAULTS:  # one run per fault, all recorded in the same file
            server.set_faults(then=fault)
            spec = RunSpec(task="toy", model="fake", technique="sc", n=2, limit=2, budget=32)
            result = await run(spec, backend, [Recorder(store)], task=toy_task)
            run_ids.append(result.run_id)
        wal = Path(str(db) + ".wal")
        seen.append(wal.read_bytes() if wal.exists() else b"")  # the WAL before checkpoint
        errors = [str(e) for e in store.query(
            "SELECT error FROM samples WHERE error IS NOT NULL UNION ALL "
            "SELECT error FROM paths WHERE error IS NOT NULL")["error"]]
    assert len(seen[0]) > 10_000  # the WAL held the runs when it was read
    assert all(h == f"Bearer {CANARY}" for h in server.auth_headers)  # the key was used
    assert any("API key" in e and "***" in e for e in errors)  # the 401 echo, scrubbed
    seen.append(db.read_bytes())
    for path in export_parquet(db, tmp_path / "parquet").values():
        seen.append(path.read_bytes())
    for rid in run_ids:
        seen.append(export_run_html(db, rid, tmp_path / f"{rid}.html").read_bytes())
    out, err = capfd.readouterr()
    if pool or transport == "litellm":  # litellm logs at DEBUG (our transport logs nothing)
        assert any(r.name.startswith("LiteLLM") for r in caplog.records)
    logs: list[str] = [caplog.text, out, err,
                       *(p.read_text() for p in tmp_path.rglob("*.log"))]
    found = [leaks(blob) for blob in [*seen, *logs]]
    assert not any(found), found
    assert off_box(net_log) == []  # and nothing left the machine


def test_canary_key_stays_out_of_cli_output(canary_env: None, warm_security: None,
                                             tmp_path: Path) -> None:
    server = HeaderRecordingServer(texts=toy_answer)
    with server:
        config = tmp_path / "workbench.toml"
        config.write_text(f'[models.fake]\nmodel = "openai/fake"\napi_base = '
                          f'"{server.base_url}"\napi_key_env = "OPENAI_API_KEY"\n')
        server.set_faults(then=Fault("auth"))
        result = CliRunner().invoke(app, ["run", "--model", "fake", "--limit", "2", "--db",
                                          str(tmp_path / "c.duckdb")],
                                    env={"WORKBENCH_CONFIG": str(config), "COLUMNS": "200"})
    assert server.auth_headers and server.auth_headers[0] == f"Bearer {CANARY}"
    assert result.exit_code == 5, result.output  # fatal: the bad key stops the run, no crash
    assert "failed" in result.output
    assert not leaks(result.output) and not leaks(result.stderr)
    assert not leaks((tmp_path / "c.duckdb").read_bytes())
