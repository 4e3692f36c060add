"""What one streamed request produced, per choice, and the usage each choice is billed.

Split out of :mod:`workbench.backends.litellm_adapter` (which keeps the litellm calls) so
both stay small; nothing here imports litellm. Why the numbers look like this:

* Per-choice usage sums to what the call is billed: ``tokens_out`` (visible text) is the
  provider's count for single requests; with native ``n`` it is counted per choice from
  the stream (logprob entries when asked for, else content deltas: one token per delta on
  OpenAI and llama.cpp), scaled up to the provider's total when that is larger (llama.cpp
  reports only one choice's tokens, so then our count stands). The prompt is billed once
  per request, so with native ``n`` its tokens are split evenly over the choices.
  ``tokens_reasoning`` is separate from ``tokens_out``; cost bills both as output. A
  provider that reports thinking only inside its output count (Anthropic) gets the split
  estimated from the streamed text (:func:`reasoning_share`, ``reasoning_tokens_estimated``).
* With native ``n`` litellm keeps only one choice's finish reason, so per-choice finish is
  inferred: "length" if the choice reached ``max_tokens``, else "stop".
* A stream that died before usage arrived estimates the prompt at ~4 characters per token
  and says so (``extra["tokens_estimated"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from workbench.backends.base import (
    DeltaCallback,
    GenRequest,
    GenResult,
    LogprobCallback,
    TokenLogprob,
)
from workbench.backends.pricing import Price, cost_usd, is_priced


@dataclass
class Choice:
    """What one choice streamed during one attempt."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    deltas: int = 0
    reasoning_deltas: int = 0
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish: str | None = None
    ttft_s: float | None = None


class StreamState:
    """What one attempt received, per choice (indices local to the request)."""

    def __init__(self, n: int, offset: int, on_logprobs: LogprobCallback | None = None
                 ) -> None:
        self.n, self.offset = n, offset
        self.on_logprobs = on_logprobs
        self.choices: dict[int, Choice] = {}
        self.usage: Any = None
        self.streamed = False  # any text (answer or reasoning) arrived: no more retries

    def total_deltas(self) -> int:
        return sum(c.deltas + c.reasoning_deltas for c in self.choices.values())

    def absorb(self, chunk: Any, t_s: float, on_delta: DeltaCallback | None) -> None:
        """Take one chunk: litellm's objects, or the plain dicts of
        :mod:`workbench.backends.openai_http`."""
        if isinstance(chunk, dict):
            self.absorb_dict(chunk, t_s, on_delta)
            return
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        for c in getattr(chunk, "choices", None) or ():
            delta = getattr(c, "delta", None)
            lp = getattr(getattr(c, "logprobs", None), "content", None)
            self._choice(int(getattr(c, "index", 0) or 0),
                         getattr(delta, "reasoning_content", None),
                         getattr(delta, "content", None),
                         [_token(x.logprob, getattr(x, "top_logprobs", None) or (),
                                 lambda t: t.logprob) for x in lp] if lp else None,
                         getattr(c, "finish_reason", None), t_s, on_delta)

    def _choice(self, idx: int, thought: str | None, content: str | None,
                logprobs: list[TokenLogprob] | None, finish: str | None, t_s: float,
                on_delta: DeltaCallback | None) -> None:
        """What one chunk says about one choice, whichever shape the chunk had."""
        if idx >= self.n:
            return
        ch = self.choices.get(idx)
        if ch is None:
            ch = self.choices[idx] = Choice()
        if thought:
            ch.reasoning.append(thought)
            ch.reasoning_deltas += 1
        if content:
            ch.text.append(content)
            ch.deltas += 1
            if on_delta is not None:
                on_delta(self.offset + idx, content)
        if (thought or content) and ch.ttft_s is None:
            ch.ttft_s = t_s
            self.streamed = True
        if logprobs:
            ch.logprobs.extend(logprobs)
            if self.on_logprobs is not None:
                self.on_logprobs(self.offset + idx, logprobs)
        if finish:
            ch.finish = str(finish)

    def absorb_batch(self, chunks: list[Any], t_s: float,
                     on_delta: DeltaCallback | None) -> None:
        """Take the chunks of one network read: the same as :meth:`absorb` on each, but
        one ``on_delta`` per choice with their text joined, so a burst of tokens costs one
        event per path rather than one per token (consumers see the same text)."""
        if on_delta is None or len(chunks) == 1:
            for chunk in chunks:
                self.absorb(chunk, t_s, on_delta)
            return
        pending: dict[int, list[str]] = {}
        tokens: dict[int, list[TokenLogprob]] = {}
        deliver, self.on_logprobs = self.on_logprobs, (
            None if self.on_logprobs is None
            else lambda choice, lps: tokens.setdefault(choice, []).extend(lps))

        def collect(choice: int, text: str) -> None:
            pending.setdefault(choice, []).append(text)

        try:
            for chunk in chunks:
                self.absorb(chunk, t_s, collect)
        finally:
            self.on_logprobs = deliver
        for choice, parts in pending.items():
            on_delta(choice, "".join(parts))
            if deliver is not None and choice in tokens:
                deliver(choice, tokens.pop(choice))
        for choice, lps in tokens.items():  # logprobs of chunks that carried no text
            if deliver is not None:
                deliver(choice, lps)

    def absorb_dict(self, chunk: dict[str, Any], t_s: float,
                    on_delta: DeltaCallback | None) -> None:
        """:meth:`absorb` for a chunk parsed straight from the wire (no object per chunk:
        this runs once per token of every path)."""
        usage = chunk.get("usage")
        if usage:
            self.usage = _namespace(usage)
        for c in chunk.get("choices") or ():
            delta = c.get("delta") or {}
            lp = (c.get("logprobs") or {}).get("content")
            self._choice(int(c.get("index") or 0),
                         delta.get("reasoning_content") or delta.get("reasoning"),
                         delta.get("content"),
                         [_token(x["logprob"], x.get("top_logprobs") or (),
                                 lambda t: t["logprob"]) for x in lp] if lp else None,
                         c.get("finish_reason"), t_s, on_delta)


def _token(logprob: Any, top: Any, value: Any) -> TokenLogprob:
    """One token's logprob and its alternatives', from either chunk shape."""
    return TokenLogprob(float(logprob), tuple(float(value(t)) for t in top))


def _namespace(value: Any) -> Any:
    """A usage dict as attributes, the shape :func:`usage_split` reads."""
    if isinstance(value, dict):
        return SimpleNamespace(**{str(k): _namespace(v) for k, v in value.items()})
    return value


def split(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder);
    evenly when all weights are zero. The parts always sum to ``total``."""
    w = weights if sum(weights) > 0 else [1] * len(weights)
    raw = [total * x / sum(w) for x in w]
    parts = [int(r) for r in raw]
    order = sorted(range(len(w)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def reasoning_share(chs: list[Choice], completion_tokens: int) -> int:
    """Thinking tokens of a provider that bills them inside the output count and reports no
    split (Anthropic's ``output_tokens`` includes thinking): the streamed thinking text's
    share of all streamed characters. An estimate, flagged as one; where the provider
    streams a summary of longer thinking (Claude 4), it undercounts."""
    thought = sum(len(t) for c in chs for t in c.reasoning)
    said = sum(len(t) for c in chs for t in c.text)
    return round(completion_tokens * thought / max(1, thought + said))


def usage_split(s: StreamState, req: GenRequest, extra: dict[str, Any]
                 ) -> tuple[list[int], list[int], list[int]]:
    """Per-choice (tokens_in, tokens_out, tokens_reasoning); see the module docstring."""
    chs = [s.choices.get(i, Choice()) for i in range(s.n)]
    counted = [len(c.logprobs) or c.deltas for c in chs]
    u = s.usage
    details = getattr(u, "completion_tokens_details", None) if u is not None else None
    r_total = int(getattr(details, "reasoning_tokens", 0) or 0)
    if u is not None and getattr(u, "prompt_tokens", None) is not None:
        p_total = int(u.prompt_tokens)
    else:  # stream died before usage: estimate ~4 characters per token, and say so
        p_total = sum(len(str(m.get("content", ""))) for m in req.messages) // 4
        extra["tokens_estimated"] = True
    c_total = getattr(u, "completion_tokens", None) if u is not None else None
    if c_total is not None and r_total == 0 and any(c.reasoning for c in chs):
        r_total = reasoning_share(chs, int(c_total))
        extra["reasoning_tokens_estimated"] = True
    out_total = None if c_total is None else max(0, int(c_total) - r_total)
    if out_total is None:
        outs = counted
        extra["tokens_estimated"] = True
    elif s.n == 1 or out_total > sum(counted):
        outs = split(out_total, counted)
    else:  # llama.cpp with n > 1 reports only one choice's tokens: our count is better
        outs = counted
    reasoning = split(r_total, [c.reasoning_deltas for c in chs])
    return split(p_total, [1] * s.n), outs, reasoning


def results(s: StreamState, req: GenRequest, model: str, price: Price | None,
            error: str | None, extra: dict[str, Any], latency_ms: float) -> list[GenResult]:
    """One GenResult per choice of the request, in index order (see the module docstring)."""
    ins, outs, reasons = usage_split(s, req, extra)
    if price is None and not is_priced(model):
        extra["cost_unknown"] = True
    results = []
    for i in range(s.n):
        ch = s.choices.get(i)
        text = "".join(ch.text) if ch else ""
        if ch is None:
            err: str | None = error or (
                f"no text for choice {i} of {s.n}: the provider returned fewer choices, or "
                "an empty one (litellm drops empty choices when n > 1)")
            finish: str | None = "error"
        elif error is not None and ch.finish is None:
            err, finish = error, "error"
        else:
            err = None
            finish = ch.finish if s.n == 1 and ch.finish else (
                "length" if outs[i] >= req.max_tokens else "stop")
        results.append(GenResult(
            index=s.offset + i, text=text, finish_reason=finish, tokens_in=ins[i],
            tokens_out=outs[i], tokens_reasoning=reasons[i],
            cost_usd=cost_usd(model, ins[i], outs[i] + reasons[i], price),
            logprob_mean=_mean(ch.logprobs) if ch and ch.logprobs else None,
            token_logprobs=tuple(ch.logprobs) if ch else (),
            ttft_ms=None if ch is None or ch.ttft_s is None else ch.ttft_s * 1000.0,
            latency_ms=latency_ms, error=err,
            reasoning_text="".join(ch.reasoning) if ch else "",
            extra=dict(extra, finish_reason_inferred=s.n > 1)))
    return results


def _mean(tokens: list[TokenLogprob]) -> float:
    return sum(t.logprob for t in tokens) / len(tokens)
