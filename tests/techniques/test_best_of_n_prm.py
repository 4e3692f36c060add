"""best-of-n-prm: candidates split into steps, ranked by their aggregated PRM step scores."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))
from fake_reward import FakeReward  # noqa: E402

from workbench.backends.model_config import ModelConfig  # noqa: E402
from workbench.backends.reward import RewardClient, WithReward  # noqa: E402
from workbench.backends.scripted import ScriptedBackend  # noqa: E402
from workbench.events import Event, PathFinished, PathStarted, SampleScored  # noqa: E402
from workbench.runner import RunSpec, run  # noqa: E402
from workbench.techniques import best_of_n_prm  # noqa: E402

# candidate 0: good, bad, good = [.9, .1, .9]; candidate 1: plain x3 = [.5, .5, .5]
TEXTS = ["a good start\n\na bad slip\n\ngood: The answer is 7",
         "plain step\n\nplain step\n\nplain: The answer is 4"]


@pytest.mark.parametrize(("how", "winner"), [("last", "7"), ("min", "4"), ("mean", "7"),
                                             ("product", "4")])
async def test_the_aggregate_picks_the_candidate(toy_task, how, winner):
    with FakeReward() as prm:
        cfg = ModelConfig(litellm_model="prm-7b", api_base=prm.base_url, reward_api="pooling")
        b = WithReward(ScriptedBackend(lambda req, i: TEXTS[(req.sample_index + i) % 2]),
                       RewardClient({"prm": cfg}))
        events: list[Event] = []
        await run(RunSpec(task="toy", technique="best-of-n-prm", n=2, limit=1, offset=2,
                          verifier="prm", scorer="prm"), b, [events.append], task=toy_task,
                  technique=best_of_n_prm(n=2, scorer="prm", aggregate=how))
        assert [len(body["messages"][-1]["content"].split("<extra_0>")) - 1
                for _, body in prm.requests] == [3, 3]  # one call per candidate, all steps
    (scored,) = [e for e in events if isinstance(e, SampleScored)]
    assert scored.answer == winner
    roles = {e.path_id: e.role for e in events if isinstance(e, PathStarted)}
    chains = [e for e in events if isinstance(e, PathFinished) and roles[e.path_id] == "path"]
    assert sorted(c.kept for c in chains) == [False, True]
    assert all(c.scorer == "prm:prm" and c.score is not None for c in chains)
