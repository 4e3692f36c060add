"""Run outcomes: status names, exit codes and the failure summary agree everywhere."""

from __future__ import annotations

from workbench import runstatus
from workbench.runner import RunResult


def result(status: str, samples: int = 4, errors: int = 0, **kw: object) -> RunResult:
    return RunResult(run_id="r", status=status, n_samples=samples, n_errors=errors,
                     **kw)  # type: ignore[arg-type]


def test_final_status_from_counts() -> None:
    assert runstatus.final_status(10, 0, fatal=False) == "ok"
    assert runstatus.final_status(10, 3, fatal=False) == "partial"
    assert runstatus.final_status(10, 10, fatal=False) == "failed"
    assert runstatus.final_status(3, 1, fatal=True) == "failed"  # stopped early
    assert runstatus.final_status(0, 0, fatal=True) == "failed"


def test_exit_codes_are_distinct_per_failure_class() -> None:
    codes = {
        "ok": runstatus.exit_code(result("ok")),
        "partial": runstatus.exit_code(result("partial", errors=1)),
        "failed": runstatus.exit_code(result("failed", errors=4)),
        "fatal": runstatus.exit_code(result("failed", errors=1, fatal="401")),
        "error": runstatus.exit_code(result("error")),
    }
    assert codes == {"ok": 0, "partial": 3, "failed": 4, "fatal": 5, "error": 1}
    assert len(set(runstatus.EXIT_CODES)) == len(runstatus.EXIT_CODES)
    assert 2 in runstatus.EXIT_CODES and 130 in runstatus.EXIT_CODES


def test_worst_run_decides_the_exit_code() -> None:
    runs = [result("ok"), result("failed", errors=4), result("partial", errors=1)]
    assert runstatus.worst_exit_code(runs) == 4
    assert runstatus.worst_exit_code([result("ok"), result("failed", fatal="x")]) == 5
    assert runstatus.worst_exit_code([]) == 0


def test_errors_that_differ_only_in_numbers_group_together() -> None:
    a = "RateLimitError: HTTP 429: slow down (after 3 attempt(s))"
    b = "RateLimitError: HTTP 429: slow down (after 4 attempt(s))"
    c = "APIConnectionError: Cannot connect to host 127.0.0.1:5555"
    assert runstatus.signature(a) == runstatus.signature(b) != runstatus.signature(c)
    lines = runstatus.error_lines({a: 5, c: 2, "x": 1, "y": 1}, limit=2)
    assert lines[0] == f"5 x {a}" and lines[1] == f"2 x {c}"
    assert lines[2] == "2 more in 2 other distinct error(s)"


def test_describe_says_what_failed_and_what_was_not_sent() -> None:
    assert runstatus.describe(result("ok")) == ""
    text = runstatus.describe(result("failed", samples=2, errors=2, fatal="bad key",
                                     n_not_run=8, error_counts={"AuthenticationError": 2}))
    assert "8 item(s) not sent" in text and "2 of 2 sample(s) failed" in text
    assert "2 x AuthenticationError" in text
