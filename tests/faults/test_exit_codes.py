"""Total failure no longer looks like success: exit codes per failure class, the first
distinct errors on the console, fatal errors stop the run, and the stored status says
``ok`` / ``partial`` / ``failed``.

Each case runs the real ``workbench run`` (in-process, typer's runner) against the fake
OpenAI-compatible server on loopback (429s, 500s, 401/403/404, a port nobody listens on)
and reads the trace file back. Every case adds a row to the fault table
(test-artifacts/faults.md): HTTP attempts, samples stored, exit code and status.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_openai import FakeOpenAI, Fault
from typer.testing import CliRunner

from workbench.cli.main import app
from workbench.store.store import Store

ITEMS = 4


@dataclass
class Ran:
    code: int
    err: str
    out: str
    wall_s: float

    @property
    def text(self) -> str:
        return " ".join(f"{self.out}\n{self.err}".split())


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cli(fake: FakeOpenAI, tmp_path: Path) -> Any:
    """``cli(*args, entry="", config="")``: run ``workbench ARGS`` with "fake" (the
    server; ``entry``: more lines in its table) and "nowhere" (a closed port) configured;
    ``config`` is appended to workbench.toml."""

    def run(*args: str, entry: str = "", config: str = "", timeout: float = 120.0) -> Ran:
        toml = tmp_path / "workbench.toml"
        toml.write_text(f'[models.fake]\nmodel = "openai/fake"\napi_base = "{fake.base_url}"\n'
                        f'{entry}\n\n[models.nowhere]\nmodel = "openai/fake"\n'
                        f'api_base = "http://127.0.0.1:{closed_port()}/v1"\n\n{config}\n')
        env = {"WORKBENCH_CONFIG": str(toml), "WORKBENCH_DB": str(tmp_path / "t.duckdb"),
               "OPENAI_API_KEY": "sk-test-secret-key-0123456789", "COLUMNS": "200"}
        box: dict[str, Any] = {}
        t0 = time.perf_counter()
        thread = threading.Thread(target=lambda: box.setdefault(
            "r", CliRunner().invoke(app, list(args), env=env)), daemon=True)
        thread.start()
        thread.join(timeout)
        assert not thread.is_alive(), f"workbench {args} hung"
        r = box["r"]
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            raise AssertionError(f"uncaught {r.exception!r}\n{r.stderr}") from r.exception
        return Ran(r.exit_code, r.stderr, r.stdout, time.perf_counter() - t0)

    return run


def stored(db: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with Store.open(db, read_only=True) as store:
        runs = store.runs()
        assert runs.height == 1
        return runs.row(0, named=True), store.samples().to_dicts()


RUN = ("run", "--technique", "cot", "--budget", "64", "--limit", str(ITEMS),
       "--concurrency", "2", "-q")
CASES = {  # name: (faults before, fault after, model, extra flags, exit, status, attempts)
    "ok": ((), None, "fake", (), 0, "ok", (ITEMS, ITEMS)),
    "partial (one 429 with a long Retry-After)": (
        (Fault("rate_limit", retry_after=120),), None, "fake", (), 3, "partial",
        (ITEMS, ITEMS)),
    "all 429": ((), Fault("rate_limit", retry_after=0.01), "fake", (), 4, "failed",
                (4 * ITEMS, 4 * ITEMS)),
    "all 500": ((), Fault("server_error", status=500), "fake", ("--deadline", "1"), 4,
                "failed", (ITEMS, 3 * ITEMS)),
    "connection refused": ((), None, "nowhere", ("--deadline", "1"), 4, "failed", (0, 0)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_exit_code_and_status_per_failure_class(name: str, cli: Any, fake: FakeOpenAI,
                                                tmp_path: Path, report: Any) -> None:
    before, then, model, extra, code, status, (lo, hi) = CASES[name]
    fake.set_faults(*before, then=then)
    ran = cli(*RUN, "--model", model, *extra)
    attempts = fake.attempts
    run, samples = stored(tmp_path / "t.duckdb")
    failed = sum(s["error"] is not None for s in samples)
    report(f"exit code: {name}", attempts, f"{lo}-{hi}", ran.wall_s, 30.0,
           f"{len(samples)}/{ITEMS}", f"exit {ran.code}, status {run['status']}, "
           f"{failed} failed")
    assert ran.code == code, ran.text
    assert run["status"] == status and len(samples) == ITEMS
    assert lo <= attempts <= hi, attempts
    assert "Traceback" not in ran.text and "sk-test-secret" not in ran.text
    if code:
        first = next(s["error"] for s in samples if s["error"])
        assert f"{failed} of {ITEMS} sample(s) failed" in ran.text, ran.text
        assert f"{failed} x {first.split(':')[0]}" in ran.text  # first distinct errors, counted
        assert run["error"] and str(failed) in run["error"]
    else:
        assert run["error"] is None and failed == 0


FATAL = {"401 bad key": Fault("auth"), "403 no access": Fault("server_error", status=403),
         "404 unknown model": Fault("server_error", status=404)}


@pytest.mark.parametrize("name", list(FATAL))
def test_fatal_errors_stop_the_run_and_resume_sends_the_rest(
        name: str, cli: Any, fake: FakeOpenAI, tmp_path: Path, report: Any) -> None:
    items = 10
    fake.set_faults(then=FATAL[name])
    ran = cli(*RUN[:6], str(items), "--concurrency", "2", "-q", "--model", "fake")
    sent = fake.attempts
    run, samples = stored(tmp_path / "t.duckdb")
    report(f"exit code: {name}", sent, "<= 2 (in flight)", ran.wall_s, 30.0,
           f"{len(samples)}/{items}", f"exit {ran.code}, status {run['status']}, "
           f"{items - len(samples)} not sent")
    assert ran.code == 5, ran.text
    assert 1 <= sent <= 2  # only the items already in flight met the error
    assert len(samples) == sent and all(s["error"] for s in samples)
    assert run["status"] == "failed" and "not sent" in run["error"]
    assert f"--resume {run['run_id']}" in ran.text and "sk-test-secret" not in ran.text
    assert "Traceback" not in ran.text

    fake.set_faults(then=None)  # the key is fixed
    again = cli("run", "--resume", run["run_id"], "-q")
    run2, samples2 = stored(tmp_path / "t.duckdb")
    assert fake.attempts - sent == items - len(samples)  # only what was never sent
    assert len(samples2) == items and len({s["item_index"] for s in samples2}) == items
    assert again.code == 3 and run2["status"] == "partial", again.text  # the refused stay


def test_runs_lists_status_counts_and_accuracy(cli: Any, fake: FakeOpenAI,
                                               tmp_path: Path) -> None:
    assert cli(*RUN, "--model", "fake").code == 0
    fake.set_faults(then=Fault("rate_limit", retry_after=0.01))
    assert cli(*RUN, "--model", "fake").code == 4
    listed = cli("runs", "--format", "json")
    assert listed.code == 0, listed.text
    rows = json.loads(listed.out)
    assert [(r["status"], r["items"], r["done"], r["failed"]) for r in rows] == [
        ("ok", ITEMS, ITEMS, 0), ("failed", ITEMS, ITEMS, ITEMS)]
    assert rows[0]["accuracy"] is not None and rows[1]["accuracy"] == 0.0
    table = cli("runs", "--last", "1")
    assert table.code == 0 and rows[1]["run_id"] in table.text
    assert rows[0]["run_id"] not in table.text
    missing = cli("runs", "--db", str(tmp_path / "none.duckdb"))
    assert missing.code == 2 and "No trace database" in missing.text
    assert not (tmp_path / "none.duckdb").exists()
    nosuch = cli("run", "--resume", "nosuch")
    assert nosuch.code == 2 and "workbench runs" in nosuch.text
    mixed = cli("run", "--resume", rows[0]["run_id"], "--model", "fake", "--limit", "9")
    assert mixed.code == 2 and "drop --model, --limit" in mixed.text, mixed.text


STALL = Fault("stall_mid", after_chunks=2, stall_s=30.0)


@pytest.mark.parametrize(("flags", "entry", "config", "expected_s"), [
    (("--stall-timeout", "0.5"), "", "", 0.5),
    ((), "", "[run]\nstall_timeout = 0.6", 0.6),
    ((), "stall_timeout = 0.7", "[run]\nstall_timeout = 9", 0.7),
    (("--stall-timeout", "0.5"), "stall_timeout = 9", "[run]\nstall_timeout = 9", 0.5),
], ids=["flag", "run table", "model entry over run table", "flag over both"])
def test_stall_clock_is_settable(flags: tuple[str, ...], entry: str, config: str,
                                 expected_s: float, cli: Any, fake: FakeOpenAI,
                                 tmp_path: Path) -> None:
    fake.set_faults(then=Fault("stall_mid", after_chunks=2, stall_s=30.0))
    ran = cli(*RUN[:6], "1", "-q", "--model", "fake", *flags, entry=entry, config=config)
    _, samples = stored(tmp_path / "t.duckdb")
    assert ran.code == 4, ran.text
    assert f"stall timeout after {expected_s:g} s" in samples[0]["error"], samples[0]
    assert ran.wall_s < 15  # the 30 s stall was cut by the configured clock


def test_bad_clock_values_are_usage_errors(cli: Any, fake: FakeOpenAI) -> None:
    for flags, config, message in [
            (("--deadline", "0"), "", "--deadline must be a positive number"),
            (("--stall-timeout", "-1"), "", "--stall-timeout must be a positive number"),
            ((), '\n[run]\ndeadline = "soon"\n', "[run] deadline: Input should be a valid number"),
            ((), '\n[run]\ndeadline = -3\n', "[run] deadline: Input should be greater than 0")]:
        ran = cli(*RUN, "--model", "fake", *flags, config=config)
        assert ran.code == 2 and message in ran.text, ran.text
    assert fake.attempts == 0
