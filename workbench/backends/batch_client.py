"""Provider batch APIs (files + batches) through litellm, as plain dicts.

litellm is reached only through :func:`workbench.backends.litellm_adapter._lib` (the one
module that imports it). Every call passes the model's ``api_base`` and key, so the same
code talks to OpenAI, Azure, a vLLM server with the batch API, or the test fake.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BATCH_PROVIDERS = frozenset({"openai", "azure", "vertex_ai", "bedrock", "hosted_vllm",
                             "mistral", "xai"})
"""Providers whose batches litellm 1.110 can create (``litellm.acreate_batch``)."""
TERMINAL = frozenset({"completed", "expired", "cancelled", "failed"})


@dataclass(frozen=True)
class BatchState:
    """What a poll returns."""

    status: str
    completed: int
    failed: int
    total: int
    output_file_id: str | None
    error_file_id: str | None
    errors: str | None


@dataclass(frozen=True)
class BatchClient:
    """One provider account: where to send files and batches."""

    provider: str
    api_base: str | None
    api_key: str | None

    def _kw(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"custom_llm_provider": self.provider}
        if self.api_base:
            kw["api_base"] = self.api_base
        if self.api_key:
            kw["api_key"] = self.api_key
        return kw

    async def submit(self, lines: Sequence[dict[str, Any]]) -> tuple[str, str]:
        """Upload the JSONL and create the batch; returns ``(batch_id, input_file_id)``."""
        from workbench.backends.litellm_adapter import _lib

        blob = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
        lib = _lib()
        fo = await lib.acreate_file(file=("workbench-batch.jsonl", blob), purpose="batch",
                                    **self._kw())
        b = await lib.acreate_batch(completion_window="24h",
                                    endpoint="/v1/chat/completions", input_file_id=fo.id,
                                    **self._kw())
        return str(b.id), str(fo.id)

    async def poll(self, batch_id: str) -> BatchState:
        from workbench.backends.litellm_adapter import _lib

        b = await _lib().aretrieve_batch(batch_id=batch_id, **self._kw())
        counts = getattr(b, "request_counts", None)
        errs = getattr(b, "errors", None)
        data = getattr(errs, "data", None) if errs is not None else None
        text = "; ".join(f"{getattr(e, 'code', '')}: {getattr(e, 'message', '')}"
                         for e in (data or [])) or None
        return BatchState(status=str(b.status),
                          completed=int(getattr(counts, "completed", 0) or 0),
                          failed=int(getattr(counts, "failed", 0) or 0),
                          total=int(getattr(counts, "total", 0) or 0),
                          output_file_id=getattr(b, "output_file_id", None),
                          error_file_id=getattr(b, "error_file_id", None), errors=text)

    async def lines(self, file_id: str | None) -> list[dict[str, Any]]:
        """The parsed JSONL of an output or error file (empty when there is none)."""
        if not file_id:
            return []
        from workbench.backends.litellm_adapter import _lib

        content = await _lib().afile_content(file_id=file_id, **self._kw())
        raw = content.content if hasattr(content, "content") else bytes(content)
        out = []
        for line in raw.decode("utf-8", "replace").splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue  # a torn line: its request reads as missing, then errors
        return out
