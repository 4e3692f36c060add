"""The reward-model client against a fake vLLM server on 127.0.0.1: the three request
shapes, usage, and every fault ending as an unscored result (never an exception)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))
from fake_reward import FakeReward  # noqa: E402

from workbench.backends.base import ScoreRequest  # noqa: E402
from workbench.backends.model_config import ModelConfig  # noqa: E402
from workbench.backends.retry import RetryPolicy  # noqa: E402
from workbench.backends.reward import RewardClient, endpoint, request_body  # noqa: E402

REQ = ScoreRequest(model="prm", question="What is 2+2?",
                   steps=("2 and 2, good", "so bad", "The answer is 4"))


@pytest.fixture
def server():
    with FakeReward() as fake:
        yield fake


def client(server: FakeReward, api: str = "pooling", timeout: float = 5.0) -> RewardClient:
    cfg = ModelConfig(litellm_model="Qwen/Qwen2.5-Math-PRM-7B", api_base=server.base_url + "/v1",
                      reward_api=api, retry=RetryPolicy(deadline_s=timeout))
    return RewardClient({"prm": cfg})


async def test_pooling_scores_every_step(server):
    r = await client(server).score(REQ)
    assert r.error is None and r.scores == (0.9, 0.1, 0.5) and r.last == 0.5
    route, body = server.requests[-1]
    assert route == "pooling" and body["model"] == "Qwen/Qwen2.5-Math-PRM-7B"
    assert body["messages"][-1] == {"role": "assistant", "content":
                                    "2 and 2, good<extra_0>so bad<extra_0>The answer is 4<extra_0>"}
    assert body["messages"][1]["content"] == "What is 2+2?"
    assert r.tokens_in > 0 and not r.extra and r.latency_ms > 0


@pytest.mark.parametrize("api", ["classify", "score"])
async def test_classify_and_score_give_one_score(server, api):
    r = await client(server, api).score(REQ)
    assert r.error is None and r.scores == (0.5,)
    assert server.requests[-1][0] == api


@pytest.mark.parametrize(("fault", "message"), [
    ("500", "HTTP 500"), ("garbage", "malformed"), ("no_data", "malformed"),
    ("wrong_count", "2 step scores for 3 steps"), ("nan", "finite")])
async def test_faults_are_unscored_results(server, fault, message):
    server.set_faults(fault)
    r = await client(server).score(REQ)
    assert r.scores == () and r.last is None and message in (r.error or "")
    ok = await client(server).score(REQ)  # the next call behaves again
    assert ok.error is None


async def test_timeout_is_an_unscored_result(server):
    server.set_faults("timeout")
    r = await client(server, timeout=0.3).score(REQ)
    assert r.last is None and "timed out after 0.3 s" in (r.error or "")


async def test_refused_connection_and_unknown_model():
    cfg = ModelConfig(litellm_model="m", api_base="http://127.0.0.1:9", reward_api="pooling")
    r = await RewardClient({"prm": cfg}).score(REQ)
    assert r.last is None and "cannot reach" in (r.error or "")
    r = await RewardClient({}).score(REQ)
    assert "not a configured reward model" in (r.error or "")


def test_request_shapes_and_endpoint():
    assert endpoint("http://h:8000/v1/", "pooling") == "http://h:8000/pooling"
    assert endpoint("http://h:8000", "score") == "http://h:8000/score"
    assert request_body("score", "m", REQ, "<t>")["text_2"].endswith("The answer is 4")
    with pytest.raises(ValueError, match="reward_api"):
        request_body("rerank", "m", REQ, "<t>")
    with pytest.raises(ValueError, match="reward_api"):
        ModelConfig(litellm_model="m", api_base="http://h", reward_api="rerank")
    with pytest.raises(ValueError, match="api_base"):
        ModelConfig(litellm_model="m", reward_api="pooling")


def test_config_entry_reaches_the_model_config():
    from workbench.models import configured

    cfg = configured("prm", {"models": {"prm": {
        "model": "Qwen/Qwen2.5-Math-PRM-7B", "api_base": "http://127.0.0.1:8001",
        "reward_api": "pooling", "step_tag": "<extra_0>"}}})
    assert cfg is not None and cfg.reward_api == "pooling" and cfg.step_tag == "<extra_0>"
    from workbench.config_schema import ModelEntry

    with pytest.raises(ValueError, match="reward_api"):
        ModelEntry(model="m", reward_api="nope")  # type: ignore[arg-type]
