"""``workbench techniques`` prints the registry, and a CLI run builds its technique once."""

from __future__ import annotations

import dataclasses

import pytest
from cli_kit import Invoke

from workbench.techniques import PARAMS, REGISTRY


def test_techniques_command_lists_every_registered_technique(invoke: Invoke) -> None:
    done = invoke("techniques")
    assert done.code == 0, done
    for name, info in REGISTRY.items():
        assert name in done.text
        for knob in info.params:
            assert f"{knob}=" in done.text
    assert f"{PARAMS['n'].default}" in done.text and "1..1000" in done.text


def test_a_cli_run_builds_its_technique_once(invoke: Invoke,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    count = {"builds": 0}
    for name, info in list(REGISTRY.items()):
        def counted(_factory=info.factory, **kwargs):  # type: ignore[no-untyped-def]
            count["builds"] += 1
            return _factory(**kwargs)
        monkeypatch.setitem(REGISTRY, name, dataclasses.replace(info, factory=counted))
    done = invoke("run", "--model", "fake", "--technique", "sc", "--n", "2", "--limit", "2",
                  "--quiet")
    assert done.code == 0, done
    assert count["builds"] == 1  # was 3: run_specs' check, api.prepare's, the runner's
