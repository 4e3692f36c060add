"""The one stream of typed, frozen events that every consumer reads.

A run emits these in order; the DuckDB recorder, console progress, notebook widgets and
tests all consume the same objects, and a stored run replays as the same sequence. New
fields must be optional (have defaults) so that old stored runs still replay.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


def _now() -> float:
    return time.time()


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event: which run it belongs to and when it happened."""

    kind: ClassVar[str] = "event"
    run_id: str
    ts: float = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict including the ``kind`` tag (used for replay and widgets)."""
        d = asdict(self)
        d["kind"] = self.kind
        return d


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Every knob of a run as a typed value: what a budget slider set travels as this, from
    the widget to its column (``runs.budget_tokens``), with no dict to fish it out of.

    ``technique_tree`` is the built technique's own description, nested for compositions
    (``sc`` over ``cot``), with every budget it uses, the verifier's included."""

    technique: str
    budget_tokens: int | None = None
    n_samples: int = 1
    rounds: int = 0
    temperature: float = 0.0
    seed: int = 0
    verifier: str | None = None
    vote: str | None = None
    thinking_budget: int | None = None
    logprobs: bool = False
    prompt_hash: str = ""
    sweep_id: str | None = None
    technique_tree: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RequestSettings:
    """What one generation asked the model for (the request key is a hash of these)."""

    max_tokens: int
    temperature: float
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """A run began: the full spec is recorded before any model call."""

    kind: ClassVar[str] = "run_started"
    technique: str
    model: str
    task: str
    params: dict[str, Any] = field(default_factory=dict)
    n_items: int = 0
    seed: int = 0
    verifier: str | None = None
    prompt_hash: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    resumed: bool = False  # True when a sweep resumes an existing run_id
    grader_version: str | None = None  # workbench.grading.extract.GRADER_VERSION
    config: RunConfig | None = None  # the typed knobs (None: a run stored before 0.2)


@dataclass(frozen=True, kw_only=True)
class PathStarted(Event):
    """A generation (reasoning path, critique, refinement round…) began."""

    kind: ClassVar[str] = "path_started"
    sample_id: str
    path_id: str
    role: str  # "path" | "forced_answer" | "critique" | "refine" | "verify" | "direct" |
    #            "step" (one reasoning step of a search) | "score" (a step scorer's call) |
    #            "extension" (a think-longer continuation)
    parent_id: str | None = None
    model: str = ""
    round: int = 0
    index: int = 0
    prompt: str = ""
    request_key: str | None = None  # cache key: request + sample index (see backends.cache)
    step: int | None = None  # search: index of this reasoning step in its chain (0 = first)
    request: RequestSettings | None = None  # None: stored before 0.2


@dataclass(frozen=True, kw_only=True)
class TokenDelta(Event):
    """New text for one path. Batched by the producer; consumers must concatenate."""

    kind: ClassVar[str] = "token_delta"
    sample_id: str
    path_id: str
    text: str


@dataclass(frozen=True, kw_only=True)
class PathFinished(Event):
    """A generation ended (ok, truncated, or with an error and its partial text)."""

    kind: ClassVar[str] = "path_finished"
    sample_id: str
    path_id: str
    text: str
    answer: str | None = None
    finish_reason: str | None = None
    truncated: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_reasoning: int = 0
    cost_usd: float = 0.0
    flops: float = 0.0
    logprob_mean: float | None = None
    ttft_ms: float | None = None
    latency_ms: float = 0.0
    error: str | None = None
    score: float | None = None
    correct: bool | None = None
    cached: bool = False  # reused from an earlier stored path, not generated now
    answer_rule: str | None = None  # extraction rule that decided (workbench.grading.extract)
    answer_key: str | None = None  # canonical key: equivalent answers of an item share it
    served_by: str | None = None  # the deployment that answered (model@host:port), if known
    reasoning: str = ""  # the provider's streamed thinking (Anthropic thinking, Gemini thoughts)
    scorer: str | None = None  # who gave ``score`` ("judge:<model>", "prm:<model>", "logprob")
    kept: bool | None = None  # search: the step survived pruning (None: no search decision)
    queue_ms: float | None = None  # waiting for a free slot, apart from generating time


@dataclass(frozen=True, kw_only=True)
class Voted(Event):
    """A vote over paths: counts per answer, winner, and how the tie (if any) was broken."""

    kind: ClassVar[str] = "voted"
    sample_id: str
    method: str  # "majority" | "weighted" | "verifier" | "adaptive" | "deepconf[-online]"
    counts: dict[str, float] = field(default_factory=dict)
    winner: str | None = None
    tie: bool = False
    tie_break: str | None = None
    n_paths: int = 0
    stopped_early: bool = False
    samples_saved: int = 0
    tokens_saved_est: int = 0


@dataclass(frozen=True, kw_only=True)
class RoundFinished(Event):
    """One refinement round: answer before/after and the verifier's verdict."""

    kind: ClassVar[str] = "round_finished"
    sample_id: str
    round: int
    path_id: str
    critique_path_id: str | None = None
    answer: str | None = None
    accepted: bool = False
    critique: str = ""
    correct: bool | None = None


@dataclass(frozen=True, kw_only=True)
class SampleScored(Event):
    """One task item is finished: final answer, correctness and its metered compute."""

    kind: ClassVar[str] = "sample_scored"
    sample_id: str
    item_id: str
    item_index: int
    question: str = ""
    gold: str = ""
    answer: str | None = None
    correct: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_reasoning: int = 0
    cost_usd: float = 0.0
    flops: float = 0.0
    latency_ms: float = 0.0
    n_calls: int = 0
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    """The run ended: status is "ok", "error" or "cancelled"."""

    kind: ClassVar[str] = "run_finished"
    status: str
    n_samples: int = 0
    n_correct: int = 0
    error: str | None = None
    wall_ms: float = 0.0


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (RunStarted, PathStarted, TokenDelta, PathFinished, Voted, RoundFinished,
                SampleScored, RunFinished)
}


def event_from_dict(d: dict[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output, ignoring unknown keys."""
    cls = EVENT_TYPES[d["kind"]]
    names = {f.name for f in fields(cls)}
    kept = {k: v for k, v in d.items() if k in names}
    for key, value_type in _NESTED.items():
        if isinstance(kept.get(key), dict):
            kept[key] = _value_from_dict(value_type, kept[key])
    return cls(**kept)


_NESTED: dict[str, type[RunConfig] | type[RequestSettings]] = {
    "config": RunConfig, "request": RequestSettings}


def _value_from_dict(value_type: type[RunConfig] | type[RequestSettings], d: dict[str, Any]
                     ) -> RunConfig | RequestSettings:
    names = {f.name for f in fields(value_type)}
    kept = {k: v for k, v in d.items() if k in names}
    if "stop" in kept:
        kept["stop"] = tuple(kept["stop"] or ())
    return value_type(**kept)
