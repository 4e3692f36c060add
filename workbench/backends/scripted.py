"""A deterministic backend for tests and offline demos of the UI.

A script maps a request (and the choice index) to a text; the text streams word by word,
is cut at ``max_tokens`` words (finish reason "length"), and usage counts words as tokens.
Errors can be scripted too, to test how techniques record failures. Stop strings end the
text where they first occur and are not returned, as OpenAI-compatible servers do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from workbench.backends.base import DeltaCallback, GenRequest, GenResult

Script = Callable[[GenRequest, int], str]


@dataclass
class ScriptedCall:
    request: GenRequest
    choices: int


class ScriptedBackend:
    """Answers every request from ``script(request, choice_index)``.

    A script may return a string starting with ``"!error:"`` to simulate a provider fault
    after the text before it has streamed (e.g. ``"partial text!error:stream cut"``).
    """

    def __init__(self, script: Script, delay_s: float = 0.0, logprob: float | None = None
                 ) -> None:
        self.script = script
        self.delay_s = delay_s
        self.logprob = logprob
        self.calls: list[ScriptedCall] = []
        self._counter = 0

    @property
    def call_count(self) -> int:
        return len(self.calls)

    async def generate(self, req: GenRequest, on_delta: DeltaCallback | None = None
                       ) -> list[GenResult]:
        self.calls.append(ScriptedCall(req, req.n))
        results = await asyncio.gather(*(self._one(req, i, on_delta) for i in range(req.n)))
        return list(results)

    async def _one(self, req: GenRequest, index: int, on_delta: DeltaCallback | None
                   ) -> GenResult:
        raw = self.script(req, index)
        text, _, error = raw.partition("!error:")
        text = _until_stop(text, req.stop)
        words = text.split(" ") if text else []
        cut = len(words) > req.max_tokens
        words = words[: req.max_tokens]
        out = []
        for i, w in enumerate(words):
            piece = w if i == 0 else " " + w
            out.append(piece)
            if on_delta:
                on_delta(index, piece)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        prompt_tokens = sum(len(m["content"].split()) for m in req.messages)
        return GenResult(index=index, text="".join(out),
                         finish_reason="error" if error else ("length" if cut else "stop"),
                         tokens_in=prompt_tokens, tokens_out=len(words),
                         logprob_mean=self.logprob, latency_ms=1.0, ttft_ms=0.5,
                         error=error or None)


def _until_stop(text: str, stop: tuple[str, ...] | None) -> str:
    """``text`` up to (not including) the first stop string, as a server would return it."""
    cuts = [text.find(s) for s in stop or () if s and s in text]
    return text[:min(cuts)] if cuts else text
