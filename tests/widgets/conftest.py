"""Fixtures for the widget tests: a scripted backend for the toy task, an in-memory store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from widget_toys import toy_script

from workbench.backends.scripted import ScriptedBackend
from workbench.store.store import Store


@pytest.fixture(autouse=True)
def default_db_in_tmp(tmp_path, monkeypatch) -> None:
    """An Explorer built without db= records into the default file: keep it out of the repo."""
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "default-traces.duckdb"))


@pytest.fixture
def scripted() -> ScriptedBackend:
    return ScriptedBackend(toy_script(), delay_s=0.001)


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store.open(":memory:")
    yield s
    s.close()
