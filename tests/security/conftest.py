"""Fixtures for the security tests: the armed network log, a warm litellm."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from faults.fault_kit import warm_litellm
from security_kit import NetLog, arm, disarm


@pytest.fixture
def net_log() -> Iterator[NetLog]:
    """Every (event, host) of network activity in this process while the test runs."""
    log: NetLog = []
    arm(log)
    try:
        yield log
    finally:
        disarm(log)


@pytest.fixture(scope="session")
def warm_security() -> None:
    warm_litellm()
