"""The recorder and replay against the real runner and techniques (scripted backend)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.events import Event
from workbench.runner import RunSpec, run
from workbench.store.recorder import Recorder
from workbench.store.replay import normalize, replay
from workbench.store.store import Store


def script(req: GenRequest, choice: int) -> str:
    text = req.messages[-1]["content"]
    if text.startswith("Check the proposed solution"):
        return "checked VERDICT: INCORRECT" if choice == 0 else "VERDICT: CORRECT"
    m = re.search(r"(\d+)\+(\d+)", text)
    total = int(m.group(1)) + int(m.group(2)) if m else 0
    return f"Adding gives {total + choice % 2}. The answer is {total + choice % 2}"


@pytest.mark.parametrize(("technique", "extra"), [
    ("sc", {"n": 5}), ("refine", {"rounds": 2}), ("cot", {"budget": 3})])
async def test_live_run_replays_identically(toy_task: object, mem_store: Store,
                                            technique: str, extra: dict[str, Any]) -> None:
    live: list[Event] = []
    spec = RunSpec(task="toy", technique=technique, limit=3, concurrency=3, **extra)
    result = await run(spec, ScriptedBackend(script, delay_s=0.0005),
                       [Recorder(mem_store), live.append], task=toy_task)  # type: ignore[arg-type]
    assert mem_store.samples(result.run_id).height == 3
    assert normalize(replay(mem_store, result.run_id)) == normalize(live)
