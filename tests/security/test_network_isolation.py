"""A local-only run never reaches beyond loopback, and DuckDB never fetches extensions.

The run is watched from a fresh process (``audit_run.py``) so that imports (litellm's
above all: it fetches a price map unless told not to) are inside the audit too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from fakes.fake_openai import FakeOpenAI
from security_kit import LOOPBACK, NetLog, off_box

from workbench.errors import WorkbenchError
from workbench.store.store import Store

REPO = Path(__file__).resolve().parents[2]


def audited_run(tmp_path: Path, api_base: str | None, transport: str = "auto"
                ) -> dict[str, object]:
    out = tmp_path / "audit.json"
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    env["PYTHONPATH"] = str(REPO)  # the package must set the offline flag itself
    args = [sys.executable, str(Path(__file__).with_name("audit_run.py")),
            str(tmp_path / "a.duckdb"), str(out),
            *([api_base, transport] if api_base else [])]
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(out.read_text()))


def test_a_scripted_run_makes_no_connection_at_all(tmp_path: Path) -> None:
    audit = audited_run(tmp_path, None)
    assert audit["samples"] == 3
    assert audit["events"] == []  # imports, store, run, Parquet and HTML exports: no network


@pytest.mark.parametrize("transport", ["http", "litellm"])
def test_a_run_through_a_model_server_talks_only_to_loopback(tmp_path: Path,
                                                              transport: str) -> None:
    """Our HTTP client (OpenAI-compatible servers) and litellm (every other provider)."""
    with FakeOpenAI() as server:
        audit = audited_run(tmp_path, server.base_url, transport)
        attempts = server.attempts
    events = audit["events"]
    assert isinstance(events, list) and audit["samples"] == 3
    connects = [e for e in events if e[0] == "socket.connect" and e[1] is not None]
    assert connects and attempts >= 3  # the run did talk to the fake server
    outside = [e for e in events if e[1] is not None and e[1] not in LOOPBACK]
    assert outside == [], outside  # imports and calls stay on this machine


def test_duckdb_extension_autoinstall_and_autoload_are_off(tmp_path: Path,
                                                            net_log: NetLog) -> None:
    ext_dir = Path.home() / ".duckdb" / "extensions"
    before = sorted(ext_dir.rglob("*")) if ext_dir.exists() else []
    with Store.open(tmp_path / "x.duckdb") as store:
        settings = store.query(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('autoinstall_known_extensions', 'autoload_known_extensions', "
            "'enable_external_access', 'lock_configuration')").rows()
        assert dict(settings) == {"autoinstall_known_extensions": "false",
                                  "autoload_known_extensions": "false",
                                  "enable_external_access": "false",
                                  "lock_configuration": "true"}
        with pytest.raises(duckdb.Error):  # the lock holds: nobody can switch it back on
            store.con.execute("SET autoinstall_known_extensions = true")
        for sql in ("SELECT * FROM read_parquet('https://example.com/x.parquet')",
                    "INSTALL httpfs", "LOAD httpfs",
                    "SELECT * FROM read_csv('s3://bucket/x.csv')"):
            with pytest.raises((WorkbenchError, duckdb.Error)):
                store.query(sql)
            with pytest.raises(WorkbenchError):
                store.sql(sql)  # the user-SQL door refuses too
    after = sorted(ext_dir.rglob("*")) if ext_dir.exists() else []
    assert after == before  # nothing was downloaded or installed
    assert off_box(net_log) == []
