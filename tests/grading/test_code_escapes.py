"""Escape attempts against the code grader: every one must be graded incorrect and
contained, as root and as an unprivileged user, while honest code still grades right.

Each attack is a HumanEval/0 completion whose function is wrong (``return False``), so
only the attack itself could make it pass. The completions run through a separate grader
process (``escape_driver.py``) started with a canary API key in its environment, a trace
database in its cwd and home, and a listener on 127.0.0.1; the non-root tier runs that
grader as uid 65534 through ``setpriv``. Evidence is checked on the host: files that must
not appear or change, the listener, what the candidate printed, and the processes it
started (seen while grading, gone afterwards).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from escape_attacks import ATTACKS, BODY_ATTACKS, MARKED

from workbench.tasks import get_task

DRIVER = Path(__file__).with_name("escape_driver.py")
REPO = Path(__file__).resolve().parents[2]
CANARY = "sk-canary-3f9d1c7be0a24d6e"
SECRET = "trace-secret-6b1e0f"
NOBODY = 65534
LIMITS = {"wall_s": 3.0, "cpu_s": 3, "memory_mb": 512, "max_procs": 16, "tmpfs_mb": 16}
WRONG = "\n\ndef has_close_elements(numbers, threshold):\n    return False\n"



def _completion(code: str) -> str:
    return f"```python\n{code}{WRONG}```"


def _cases(env: dict[str, str]) -> list[dict[str, Any]]:
    cases = []
    for i, (name, code) in enumerate(ATTACKS.items()):
        marker = f"wbx{os.getpid() % 10000}{i:03d}"[:15]
        filled = code
        for key, value in {**env, "MARKER": marker}.items():
            filled = filled.replace("{" + key + "!r}", repr(value)).replace("{" + key + "}", value)
        cases.append({"name": name, "completion": _completion(filled),
                      "marker": marker if name in MARKED else None})
    for name, body in BODY_ATTACKS.items():
        completion = f"```python\ndef has_close_elements(numbers, threshold):\n{body}```"
        cases.append({"name": name, "completion": completion, "marker": None})
    return cases


def _nobody_python() -> str | None:
    """An interpreter whose sandbox uid 65534 can build (root's pyenv under /root is
    mode 0700, so an unprivileged bwrap cannot bind it: the system Python then)."""
    probe_code = "from workbench.grading.code import run_program; assert run_program('pass').passed"
    for exe in ("/usr/bin/python3", os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)):
        if not os.path.exists(exe):
            continue
        probe = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                                "--clear-groups", exe, "-c", probe_code],
                               capture_output=True, cwd="/", env={"PYTHONPATH": str(REPO)})
        if probe.returncode == 0:
            return exe
    return None


@pytest.fixture(scope="module", params=["as-current-user", "as-nobody"])
def tier(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run every case through one grader process; the evidence it left on the host."""
    if request.param == "as-nobody" and (os.geteuid() != 0 or shutil.which("setpriv") is None):
        pytest.skip("the non-root tier is started by root through setpriv")
    home = tmp_path_factory.mktemp(f"grader-{request.param}")
    home.chmod(0o755)
    trace_db = home / "traces.duckdb"
    with duckdb.connect(str(trace_db)) as con:
        con.execute("create table secrets(v varchar)")
        con.execute("insert into secrets values (?)", [SECRET])
    config = home / "workbench.toml"
    config.write_text(f'[providers.openai]\napi_key = "{CANARY}"\n')
    for path in (trace_db, config):
        path.chmod(0o644)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    env = {"HOST_FILE": str(home / "pwned.txt"), "HOST_DB": str(home / "pwned.sqlite"),
           "TRACE_DB": str(trace_db), "CONFIG": str(config),
           "PORT": str(listener.getsockname()[1])}
    before = hashlib.sha256(trace_db.read_bytes()).hexdigest()
    item = get_task("humaneval").load()[0].meta
    cases = _cases(env)
    honest = [{"name": "honest_canonical", "marker": None,
               "completion": get_task("humaneval").load()[0].answer},
              {"name": "honest_wrong", "marker": None, "completion": _completion("")}]
    argv = [sys.executable, str(DRIVER)]
    if request.param == "as-nobody":
        exe = _nobody_python()
        if exe is None:
            pytest.fail("no Python interpreter that uid 65534 can run")
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                exe, str(DRIVER)]
    job = {"item": {k: item[k] for k in ("prompt", "test", "entry_point")},
           "cases": honest + cases, "limits": LIMITS}
    proc = subprocess.run(argv, input=json.dumps(job), capture_output=True, text=True,
                          cwd=home, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(REPO),
                               "OPENAI_API_KEY": CANARY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    try:
        conn, _ = listener.accept()
        conn.close()
        connections = 1
    except TimeoutError:
        connections = 0
    listener.close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {r["name"]: r for r in map(json.loads, proc.stdout.splitlines())}
    return {"results": results, "home": home, "trace_before": before, "connections": connections,
            "trace_after": hashlib.sha256(trace_db.read_bytes()).hexdigest(), "env": env,
            "names": [c["name"] for c in cases], "tier": request.param}


def test_honest_code_still_grades_right(tier: dict[str, Any]) -> None:
    results = tier["results"]
    assert results["honest_canonical"]["passed"], results["honest_canonical"]
    assert results["honest_wrong"]["reason"] == "failed"
    assert results["honest_wrong"]["error_type"] == "AssertionError"
    if tier["tier"] == "as-nobody":
        assert results["honest_canonical"]["grader_uid"] == NOBODY
        assert "userns" in results["honest_canonical"]["layers"]


def test_every_escape_attempt_is_graded_incorrect(tier: dict[str, Any]) -> None:
    results = tier["results"]
    assert set(tier["names"]) | set(BODY_ATTACKS) <= set(results)
    passed = [name for name in [*tier["names"], *BODY_ATTACKS] if results[name]["passed"]]
    print(f"\n{tier['tier']}: {len(tier['names']) + len(BODY_ATTACKS)} escape attempts, "
          f"{len(passed)} graded as passing")
    assert passed == []
    assert results["module_raise_systemexit"]["error_type"] == "SystemExit"
    assert results["infinite_loop_in_function"]["reason"] == "timeout"
    assert results["memory_bomb"]["error_type"] == "MemoryError"


def test_nothing_reached_the_host(tier: dict[str, Any]) -> None:
    home: Path = tier["home"]
    assert not (home / "pwned.txt").exists() and not (home / "pwned.sqlite").exists()
    assert tier["trace_before"] == tier["trace_after"]  # mmap / r+b did not change it
    assert tier["connections"] == 0  # nothing reached the listener on 127.0.0.1


def _output(result: dict[str, Any]) -> str:
    return result["stdout_tail"] + result["stderr_tail"]


def test_secrets_stay_unread(tier: dict[str, Any]) -> None:
    results = tier["results"]
    trace_db = Path(tier["env"]["TRACE_DB"])
    digest = hashlib.sha256(trace_db.read_bytes()).hexdigest()
    reads = _output(results["read_trace_db_and_config"])
    assert "No such file" in reads  # it ran, and found nothing to read
    assert digest not in reads and "DUCK" not in reads and CANARY not in reads
    env_dump = _output(results["read_parent_environment"])
    assert "/proc/1/environ" in env_dump and CANARY not in env_dump
    shadow = _output(results["read_shadow"])
    assert "root:" not in shadow and "FileNotFoundError" in shadow
    if os.geteuid() == 0:
        assert "root:" in Path("/etc/shadow").read_text()  # the control: it is there to read


def test_network_is_absent_not_just_filtered(tier: dict[str, Any]) -> None:
    public = tier["results"]["socket_to_public_ip"]["stdout_tail"]
    assert "ifaces ['lo']" in public  # no interface a packet could leave through
    assert "tcp_errno 101" in public and "udp_errno 101" in public  # ENETUNREACH
    loopback = tier["results"]["socket_to_host_loopback"]["stdout_tail"]
    assert "refused 111" in loopback  # the sandbox's own, empty loopback


def test_no_process_outlives_the_grade(tier: dict[str, Any]) -> None:
    for name in sorted(MARKED):
        result = tier["results"][name]
        assert result["peak"] >= 1, (name, "the attack never started its processes")
        assert result["alive_after"] == [], (name, result["alive_after"])
    bomb = tier["results"]["fork_bomb"]
    assert 2 <= bomb["peak"] <= LIMITS["max_procs"] + 1  # RLIMIT_NPROC held


def test_the_candidate_sees_only_its_own_processes(tier: dict[str, Any]) -> None:
    visible = tier["results"]["find_and_trace_the_checker"]["stdout_tail"]
    assert visible.strip() == "pids [1, 2]"  # bwrap's init and itself: no checker, no host


def test_no_new_namespaces_or_tracing(tier: dict[str, Any]) -> None:
    out = tier["results"]["new_namespaces_and_ptrace"]["stdout_tail"].splitlines()
    assert len(out) == 4 and all(" -1 " in line for line in out), out


def test_the_tmpfs_and_answer_data_are_bounded(tier: dict[str, Any]) -> None:
    fill = tier["results"]["fill_the_tmpfs"]["stdout_tail"]
    assert "stopped 28" in fill  # ENOSPC
    assert int(fill.split()[-1]) <= LIMITS["tmpfs_mb"]
    assert "found []" in tier["results"]["look_up_the_answers"]["stdout_tail"]
    assert (REPO / "data" / "humaneval" / "test.jsonl.gz").exists()  # the answers are on the host
