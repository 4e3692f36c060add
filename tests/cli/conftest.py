"""Fixtures for the command-line tests: the fake model configured by file, and an
``invoke`` that runs the real typer app in-process with a hard timeout
(:func:`cli_kit.run_cli`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_kit import Done, Invoke, run_cli
from fakes.fake_openai import FakeOpenAI
from faults.fault_kit import warm_litellm


@pytest.fixture(scope="session")
def warm_cli() -> None:
    warm_litellm()


def fake_script(body: dict[str, Any], attempt: int, choice: int) -> str:
    """A model that reasons, answers, and (as verifier) never accepts."""
    prompt = str(body["messages"][-1]["content"])
    if prompt.startswith("Check the proposed solution"):
        return "Step two looks wrong to me. VERDICT: INCORRECT"
    return "I worked through it carefully. The answer is 5"


@pytest.fixture
def fake_model(warm_cli: None, tmp_path: Path) -> Iterator[tuple[FakeOpenAI, Path]]:
    """The fake server, and a workbench.toml naming it "fake" (plus a keyed cloud model)."""
    with FakeOpenAI(texts=fake_script) as server:
        config = tmp_path / "workbench.toml"
        config.write_text(f'[models.fake]\nmodel = "openai/fake"\napi_base = '
                          f'"{server.base_url}"\n\n[models.cloud]\nmodel = '
                          '"openai/gpt-4o-mini"\napi_key_env = "WB_TEST_CLOUD_KEY"\n')
        yield server, config


@pytest.fixture
def invoke(fake_model: tuple[FakeOpenAI, Path], tmp_path: Path) -> Invoke:
    """``invoke(*args, env=None, timeout=120)``: run ``workbench ARGS`` in-process."""
    _, config = fake_model

    def run(*args: str, env: dict[str, str | None] | None = None,
            timeout: float = 120.0) -> Done:
        full_env: dict[str, str | None] = {"WORKBENCH_CONFIG": str(config),
                                           "WORKBENCH_DB": str(tmp_path / "cli.duckdb"),
                                           "COLUMNS": "200", **(env or {})}
        return run_cli(list(args), full_env, timeout)

    return run
