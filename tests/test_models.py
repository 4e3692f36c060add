"""Model names from workbench.toml become configs; a bad entry is a clear error."""

from __future__ import annotations

import pytest

from workbench.errors import WorkbenchError
from workbench.models import configured


def test_configured_openai_compatible_models_choose_their_transport() -> None:
    cfg = {"models": {
        "vllm": {"model": "hosted_vllm/Qwen/Qwen2.5-7B", "api_base": "http://127.0.0.1:8000/v1"},
        "via-litellm": {"model": "openai/q", "api_base": "http://127.0.0.1:8000/v1",
                        "transport": "litellm"},
        "bad": {"model": "openai/q", "transport": "carrier-pigeon"}}}
    vllm, slow = configured("vllm", cfg), configured("via-litellm", cfg)
    assert vllm is not None and vllm.uses_http
    assert slow is not None and not slow.uses_http
    with pytest.raises(WorkbenchError, match=r"\[models.bad\].*transport"):
        configured("bad", cfg)
