"""Every provider fault, end to end: fake server -> litellm -> runner -> Recorder -> DuckDB.

For each fault mode the test checks what a user relies on after a bad night:

* the number of HTTP attempts is exactly what the retry policy says (faults before any
  text are retried up to ``max_attempts``; faults after text are never retried);
* the clocks hold (a stalled server cannot make a generation outlive its deadline);
* every item ends in the file exactly once: ok, or with its error text and the partial
  text that streamed before the fault. Nothing missing, nothing duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_openai import FakeOpenAI, Fault
from faults.fault_kit import POLICY, assert_each_sample_once, fake_backend, run_into_file

from workbench.backends.retry import RetryPolicy
from workbench.runner import RunSpec

ITEMS = 3
SLACK_S = 2.5  # scheduling noise on a loaded 2-core machine
STALL = RetryPolicy(max_attempts=3, backoff_base_s=0.02, jitter=0.0, deadline_s=20.0,
                    first_token_timeout_s=10.0, stall_timeout_s=0.8)
DEADLINE = RetryPolicy(max_attempts=10, backoff_base_s=0.02, jitter=0.0, deadline_s=2.0,
                       first_token_timeout_s=0.6, stall_timeout_s=0.6)
PARTIAL = "Adding the two numbers"  # role chunk + 4 tokens arrive before the fault


@dataclass
class Case:
    mode: str
    faults: tuple[Fault | None, ...] = ()
    then: Fault | None = None
    attempts: tuple[int, int] = (ITEMS, ITEMS)  # inclusive range of total HTTP attempts
    ok: bool = True  # every sample ends without error
    policy: RetryPolicy = POLICY
    spec: dict[str, Any] = field(default_factory=dict)
    partial: str | None = None  # text every errored path must hold
    error_has: str = ""
    limit_s: float = POLICY.deadline_s or 0.0
    items: int = ITEMS


CASES = [
    Case("429 twice (Retry-After 0.3 s), then ok",
         faults=(Fault("rate_limit", retry_after=0.3),) * 2, attempts=(ITEMS + 2, ITEMS + 2),
         spec={"concurrency": 1}),
    Case("429 on every attempt", then=Fault("rate_limit", retry_after=0.05),
         attempts=(3 * ITEMS, 3 * ITEMS), ok=False, error_has="after 3 attempt(s)"),
    Case("500 once, then ok", faults=(Fault("server_error"),),
         attempts=(ITEMS + 1, ITEMS + 1), spec={"concurrency": 1}),
    Case("500 on every attempt", then=Fault("server_error"), attempts=(3 * ITEMS, 3 * ITEMS),
         ok=False, error_has="after 3 attempt(s)"),
    Case("stall before first token, forever", then=Fault("stall_first", stall_s=30),
         attempts=(2 * ITEMS, 4 * ITEMS), ok=False, policy=DEADLINE,
         error_has="timeout", limit_s=DEADLINE.deadline_s or 0.0),
    Case("stream cut mid-way", then=Fault("cut", after_chunks=5), ok=False, partial=PARTIAL),
    Case("garbage chunk", then=Fault("garbage", after_chunks=5), ok=False, partial=PARTIAL),
    Case("stall mid-stream", then=Fault("stall_mid", after_chunks=5, stall_s=30), ok=False,
         policy=STALL, partial=PARTIAL, error_has="stall timeout", limit_s=0.8),
    Case("fewer choices than n (2 of 4)", then=Fault("few_choices", choices=2),
         spec={"technique": "sc", "n": 4}),
    Case("empty content", then=Fault("empty")),
    Case(">= 2 MB output", then=Fault("huge", size_bytes=2_100_000), items=2,
         attempts=(2, 2)),
]


@pytest.mark.parametrize("transport", ["http", "litellm"])
@pytest.mark.parametrize("case", CASES, ids=[c.mode for c in CASES])
async def test_fault_ends_in_the_store_exactly_once(
        case: Case, transport: str, fake: FakeOpenAI, toy_task: Any, tmp_path: Path,
        report: Any) -> None:
    """Every fault, through both routes to an OpenAI-compatible server (our HTTP client,
    the default there, and litellm, every other provider's)."""
    fake.set_faults(*case.faults, then=case.then)
    knobs: dict[str, Any] = {"technique": "cot", "concurrency": case.items, **case.spec}
    spec = RunSpec(task="toy", model="fake", limit=case.items, budget=64, **knobs)
    backend = fake_backend(fake, case.policy, transport=transport)
    out = await run_into_file(spec, backend, tmp_path / "t.duckdb", toy_task)
    attempts = fake.attempts
    errors = out.samples.height - out.samples["error"].null_count()
    report(f"{case.mode} ({transport})", attempts, _range(case.attempts), out.wall_s, case.limit_s,
           f"{out.samples.height}/{case.items}",
           f"{out.samples.height - errors} ok, {errors} error")

    assert_each_sample_once(out, case.items)
    lo, hi = case.attempts
    assert lo <= attempts <= hi, (attempts, case.attempts)
    # provider faults never abort a run; the status says how many samples they cost
    expected = "ok" if errors == 0 else "failed" if errors == case.items else "partial"
    assert out.result.status == expected, (out.result.status, errors)
    latencies = out.paths["latency_ms"].drop_nulls().to_list()
    assert max(latencies) <= (case.limit_s + SLACK_S) * 1000, latencies  # the clock held
    if case.ok:
        assert errors == 0, out.samples["error"].to_list()
    else:
        _check_errors(case, out)


def _range(bounds: tuple[int, int]) -> str:
    return str(bounds[0]) if bounds[0] == bounds[1] else f"{bounds[0]}-{bounds[1]}"


def _check_errors(case: Case, out: Any) -> None:
    """Failed samples carry the error; failed paths keep the text that streamed."""
    assert out.samples["error"].null_count() == 0, out.samples
    assert not any(out.samples["correct"].to_list())
    assert out.samples["answer"].null_count() == case.items
    paths = out.paths
    assert paths["error"].null_count() == 0
    for err in paths["error"].to_list() + out.samples["error"].to_list():
        assert case.error_has in err, err
    if case.partial is not None:
        assert paths["text"].to_list() == [case.partial] * case.items
        assert paths["finish_reason"].to_list() == ["error"] * case.items


async def test_fewer_choices_are_recorded_as_error_paths(
        fake: FakeOpenAI, toy_task: Any, tmp_path: Path) -> None:
    fake.set_faults(then=Fault("few_choices", choices=2))
    spec = RunSpec(task="toy", model="fake", technique="sc", n=4, limit=2, budget=64)
    out = await run_into_file(spec, fake_backend(fake), tmp_path / "t.duckdb", toy_task)
    assert out.paths.height == 8 and fake.attempts == 2  # native n: one request per item
    assert out.paths["error"].null_count() == 4  # two ok paths per item
    assert all("no text for choice" in e for e in out.paths["error"].drop_nulls())
    assert out.samples["correct"].to_list() == [True, True]  # voted over the two that came


async def test_empty_and_huge_outputs_are_stored_as_they_came(
        fake: FakeOpenAI, toy_task: Any, tmp_path: Path) -> None:
    fake.set_faults(Fault("empty"), Fault("huge", size_bytes=2_100_000))
    spec = RunSpec(task="toy", model="fake", technique="cot", limit=2, budget=64,
                   concurrency=1)
    out = await run_into_file(spec, fake_backend(fake), tmp_path / "t.duckdb", toy_task)
    texts = out.paths.sort("sample_id")["text"].to_list()
    assert texts[0] == "" and len(texts[1]) >= 2_000_000
    assert texts[1].startswith("0 lorem ipsum dolor")
    assert out.samples["answer"].to_list() == [None, None]  # recorded, explained: no answer
    assert out.samples["error"].to_list() == [None, None]
    assert out.paths["finish_reason"].to_list() == ["stop", "stop"]
