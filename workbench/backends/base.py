"""What a model backend is: one request in, n streamed choices out.

Every backend (the litellm adapter, the scripted test backend, replay) implements
:class:`Backend`. Techniques never see a backend directly; they go through
:class:`workbench.context.Ctx`, which meters and emits events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

DeltaCallback = Callable[[int, str], None]
"""Called with (choice index, new text) as text streams in."""


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token's log-probability and those of the top alternatives the provider
    returned at that position (``top`` is empty when only the chosen token's was sent)."""

    logprob: float
    top: tuple[float, ...] = ()


LogprobCallback = Callable[[int, Sequence[TokenLogprob]], None]
"""Called with (choice index, the new tokens' logprobs) right after the text they belong
to went to the :data:`DeltaCallback`; only for requests with ``logprobs`` set."""


@dataclass(frozen=True)
class GenRequest:
    """One call to a model. ``n`` choices are wanted; the backend decides native vs fan-out."""

    model: str
    messages: tuple[dict[str, str], ...]
    max_tokens: int
    temperature: float = 0.0
    n: int = 1
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    logprobs: bool = False
    thinking_budget: int | None = None
    top_p: float | None = None
    sample_index: int = 0
    """Index of choice 0 among the item's samples (choice i is sample ``sample_index + i``);
    with ``run_seed`` it keys the path cache, so repeated samples are never collapsed."""
    run_seed: int | None = None
    top_logprobs: int | None = None
    """Alternatives per token wanted with ``logprobs`` (None: the backend's minimum, 1)."""
    continue_final: bool = False
    """The last message is an assistant message to continue (prefill), not a finished turn;
    a backend whose engine cannot continue one raises :class:`WorkbenchError`."""


@dataclass
class GenResult:
    """One finished choice with its own metered usage (never shared across choices)."""

    index: int
    text: str
    finish_reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_reasoning: int = 0
    cost_usd: float = 0.0
    logprob_mean: float | None = None
    ttft_ms: float | None = None
    latency_ms: float = 0.0
    error: str | None = None
    reasoning_text: str = ""
    token_logprobs: tuple[TokenLogprob, ...] = ()
    """Per generated token, when the request asked for ``logprobs`` and the provider sent
    them (empty otherwise: cached, batched without logprobs, or a provider without them)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


class Backend(Protocol):
    """A source of completions. Must never raise for provider faults: it returns results
    with ``error`` set (and any partial text) so the trace is kept."""

    async def generate(self, req: GenRequest, on_delta: DeltaCallback | None = None, *,
                       on_logprobs: LogprobCallback | None = None) -> list[GenResult]:
        """``on_logprobs`` (optional; callers pass it only with ``req.logprobs``) sees the
        tokens' logprobs as they stream, so a caller can stop a path mid-stream by
        cancelling the call (``Ctx.generate``'s ``should_stop``)."""
        ...


REQUEST_ORIGIN: ContextVar[tuple[str, str] | None] = ContextVar("request_origin", default=None)
"""(run_id, sample_id) of the request being made; set by ``Ctx.generate`` so a backend
that records requests (provider batches) knows whose they are."""


@dataclass(frozen=True)
class ScoreRequest:
    """Score a partial solution, step by step, with a reward model (a PRM or any server
    that returns a score). ``steps`` are the solution's steps so far, in order."""

    model: str
    question: str
    steps: tuple[str, ...]


@dataclass
class ScoreResult:
    """A reward model's answer: one score per step where the model gives them (a PRM), or
    a single score for the whole prefix (a classifier or ``/score``). ``error`` set means
    no usable score came back (HTTP error, timeout, malformed body); never raised."""

    scores: tuple[float, ...] = ()
    tokens_in: int = 0
    latency_ms: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> float | None:
        """The score of the last step (what a step-level search ranks on)."""
        return self.scores[-1] if self.error is None and self.scores else None


class ScoringBackend(Protocol):
    """A backend that can also score steps (see :mod:`workbench.backends.reward`)."""

    async def score(self, req: ScoreRequest) -> ScoreResult:
        ...
