"""A deterministic backend for tests and offline demos of the UI.

A script maps a request (and the choice index) to a text; the text streams word by word,
is cut at ``max_tokens`` words (finish reason "length"), and usage counts words as tokens.
Errors can be scripted too, to test how techniques record failures, and so can per-token
logprobs (``token_logprobs``: one :class:`TokenLogprob` per word, for requests that ask).
Stop strings end the text where they first occur and are not returned, as
OpenAI-compatible servers do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from workbench.backends.base import (
    DeltaCallback,
    GenRequest,
    GenResult,
    LogprobCallback,
    TokenLogprob,
)

Script = Callable[[GenRequest, int], str]
TokenScript = Callable[[GenRequest, int, int, str], TokenLogprob]
"""(request, choice index, word position, word) -> that word's logprobs."""


@dataclass
class ScriptedCall:
    request: GenRequest
    choices: int


class ScriptedBackend:
    """Answers every request from ``script(request, choice_index)``.

    A script may return a string starting with ``"!error:"`` to simulate a provider fault
    after the text before it has streamed (e.g. ``"partial text!error:stream cut"``).
    """

    def __init__(self, script: Script, delay_s: float = 0.0, logprob: float | None = None,
                 token_logprobs: TokenScript | None = None) -> None:
        self.script = script
        self.delay_s = delay_s
        self.logprob = logprob
        self.token_logprobs = token_logprobs
        self.calls: list[ScriptedCall] = []
        self._counter = 0

    @property
    def call_count(self) -> int:
        return len(self.calls)

    async def generate(self, req: GenRequest, on_delta: DeltaCallback | None = None, *,
                       on_logprobs: LogprobCallback | None = None) -> list[GenResult]:
        self.calls.append(ScriptedCall(req, req.n))
        results = await asyncio.gather(*(self._one(req, i, on_delta, on_logprobs)
                                         for i in range(req.n)))
        return list(results)

    async def _one(self, req: GenRequest, index: int, on_delta: DeltaCallback | None,
                   on_logprobs: LogprobCallback | None = None) -> GenResult:
        raw = self.script(req, index)
        text, _, error = raw.partition("!error:")
        text = _until_stop(text, req.stop)
        words = text.split(" ") if text else []
        cut = len(words) > req.max_tokens
        words = words[: req.max_tokens]
        out: list[str] = []
        tokens: list[TokenLogprob] = []
        scored = self.token_logprobs if req.logprobs else None
        for i, w in enumerate(words):
            piece = w if i == 0 else " " + w
            out.append(piece)
            if on_delta:
                on_delta(index, piece)
            if scored is not None:
                tokens.append(scored(req, index, i, w))
                if on_logprobs is not None:
                    on_logprobs(index, tokens[-1:])
            if self.delay_s or on_logprobs is not None:  # a real stream yields per read:
                await asyncio.sleep(self.delay_s)  # a caller may stop it between tokens
        prompt_tokens = sum(len(m["content"].split()) for m in req.messages)
        return GenResult(index=index, text="".join(out),
                         finish_reason="error" if error else ("length" if cut else "stop"),
                         tokens_in=prompt_tokens, tokens_out=len(words),
                         logprob_mean=self.logprob if self.logprob is not None or not tokens
                         else sum(t.logprob for t in tokens) / len(tokens),
                         latency_ms=1.0, ttft_ms=0.5, error=error or None,
                         token_logprobs=tuple(tokens))


def _until_stop(text: str, stop: tuple[str, ...] | None) -> str:
    """``text`` up to (not including) the first stop string, as a server would return it."""
    cuts = [text.find(s) for s in stop or () if s and s in text]
    return text[:min(cuts)] if cuts else text
