"""The retry policy on its own: back-off schedule, Retry-After parsing, classification."""

from __future__ import annotations

import asyncio
import email.utils
import random

import pytest

from workbench.backends.retry import (
    Clock,
    RetryPolicy,
    StreamTimeout,
    is_retryable,
    retry_after_of,
)


class _Resp:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


class _HTTPError(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"status {status}")
        self.status_code = status
        self.response = _Resp(headers or {})


class AuthenticationError(Exception):
    status_code = 401


class APIConnectionError(Exception):
    pass


def test_backoff_is_exponential_capped_and_jittered() -> None:
    p = RetryPolicy(backoff_base_s=0.5, backoff_max_s=3.0, jitter=0.0)
    assert [p.backoff_s(a) for a in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    jittered = RetryPolicy(backoff_base_s=1.0, jitter=0.25)
    rng = random.Random(0)
    delays = [jittered.backoff_s(1, rng=rng) for _ in range(200)]
    assert 0.75 <= min(delays) < 0.8 and 1.2 < max(delays) <= 1.25


def test_retry_after_wins_over_the_schedule() -> None:
    assert RetryPolicy(backoff_base_s=10).backoff_s(1, retry_after_s=0.3) == 0.3


def test_retry_after_header_forms() -> None:
    assert retry_after_of(_HTTPError(429, {"Retry-After": "2.5"})) == 2.5
    assert retry_after_of(_HTTPError(429, {"retry-after-ms": "150"})) == 0.15
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry_after_of(_HTTPError(429, {"Retry-After": when}), now=1_000_000) == 30
    assert retry_after_of(_HTTPError(429)) is None
    assert retry_after_of(ValueError("no headers")) is None


@pytest.mark.parametrize(("exc", "retry"), [
    (_HTTPError(429), True), (_HTTPError(500), True), (_HTTPError(503), True),
    (_HTTPError(408), True), (_HTTPError(400), False), (_HTTPError(404), False),
    (AuthenticationError(), False), (APIConnectionError(), True),
    (TimeoutError(), True), (StreamTimeout("stall", 1.0), True), (ValueError(), False)])
def test_classification(exc: BaseException, retry: bool) -> None:
    assert is_retryable(exc) is retry


def test_policy_validates() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


async def test_clock_arms_the_earliest_deadline() -> None:
    p = RetryPolicy(deadline_s=10, attempt_timeout_s=5, first_token_timeout_s=2,
                    stall_timeout_s=1)
    clock = Clock(p)
    clock.start_attempt(100.0)
    async with asyncio.timeout(None) as cm:
        assert clock.arm(cm, 100.0, streamed=False) == ("first-token", 2)
        assert cm.when() == 102.0
        assert clock.arm(cm, 101.0, streamed=True) == ("stall", 1)
        assert cm.when() == 102.0
        assert clock.arm(cm, 104.5, streamed=True) == ("attempt", 5)
        clock.start_attempt(109.5)  # a later attempt: the total deadline stays at 110
        assert clock.arm(cm, 109.5, streamed=False) == ("total deadline", 10)
        cm.reschedule(None)
