"""The one door from a technique to a model.

``Ctx.generate`` assigns path ids, streams token deltas as events, meters tokens / cost /
FLOPs for the sample, extracts and grades the answer, and emits ``PathFinished``. Techniques
never import a backend, litellm, DuckDB or any UI: everything they do to a model goes
through here, so every consumer (recorder, progress, widgets, tests) sees the same stream.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from workbench.backends.base import (
    REQUEST_ORIGIN,
    Backend,
    GenRequest,
    GenResult,
    ScoreRequest,
    ScoreResult,
    TokenLogprob,
)
from workbench.backends.cache import request_key
from workbench.errors import WorkbenchError
from workbench.events import Event, PathFinished, PathStarted, RequestSettings, TokenDelta
from workbench.grading.extract import Extraction
from workbench.grading.keys import ItemKeys
from workbench.prompts import CODE_REASONING, DEFAULT_REASONING, Prompts
from workbench.tasks.base import Problem, Task

Emit = Callable[[Event], None]
StopRule = Callable[[Sequence[TokenLogprob]], bool]
"""Given a path's tokens so far (with their logprobs), True to stop it now (deepconf)."""
TokenScorer = Callable[[Sequence[TokenLogprob]], float | None]
"""A finished path's tokens -> its score (deepconf's confidence)."""
UNFINISHED = ("length", "error", "stopped")
"""Finish reasons of a chain that did not end by itself: its text holds no trusted answer."""

__all__ = ["UNFINISHED", "Ctx", "Emit", "Meter", "Path", "RunSettings", "StopRule",
           "TokenLogprob", "TokenScorer"]


@dataclass
class Path:
    """One finished generation as a technique sees it."""

    path_id: str
    index: int
    role: str
    text: str
    answer: str | None
    correct: bool | None
    finish_reason: str | None
    truncated: bool
    tokens_in: int
    tokens_out: int
    tokens_reasoning: int
    error: str | None = None
    logprob_mean: float | None = None
    score: float | None = None
    answer_rule: str | None = None  # the extraction rule that found ``answer``
    step: int | None = None  # search: this step's index in its chain
    step_scores: tuple[float, ...] = ()  # a reward model's score of every step (ctx.score)
    token_logprobs: tuple[TokenLogprob, ...] = ()
    """Per token, when logprobs were asked for (``top_logprobs``) and the provider sent them."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Meter:
    """What one sample spent, summed over all its calls."""

    tokens_in: int = 0
    tokens_out: int = 0
    tokens_reasoning: int = 0
    cost_usd: float = 0.0
    flops: float = 0.0
    n_calls: int = 0

    def add(self, r: GenResult, flops: float) -> None:
        self.tokens_in += r.tokens_in
        self.tokens_out += r.tokens_out
        self.tokens_reasoning += r.tokens_reasoning
        self.cost_usd += r.cost_usd
        self.flops += flops
        self.n_calls += 1


@dataclass
class RunSettings:
    """Per-run choices a technique reads through its context."""

    run_id: str
    model: str
    verifier: str | None
    temperature: float
    seed: int
    prompts: Prompts
    logprobs: bool = False
    params_count: dict[str, float] = field(default_factory=dict)
    thinking_budget: int | None = None  # the provider's own reasoning budget, per request


class Ctx:
    """Context for one task item. Create one per sample; it is cheap."""

    def __init__(self, *, settings: RunSettings, backend: Backend, emit: Emit, task: Task,
                 problem: Problem, sample_id: str) -> None:
        self.settings = settings
        self.backend = backend
        self.emit = emit
        self.task = task
        self.problem = problem
        self.sample_id = sample_id
        self.meter = Meter()
        self._counter = 0
        self._held: dict[str, PathFinished] = {}
        """Finished steps whose PathFinished waits for their score and pruning verdict."""
        key_fn = getattr(task, "answer_key", None)
        self._keys = ItemKeys(key_fn, task.same) if key_fn is not None else None
        """Answer keys of this item, merged with the task's equivalence as the vote is."""

    @property
    def prompts(self) -> Prompts:
        return self.settings.prompts

    def seed_for(self, index: int, salt: int = 0) -> int:
        """A reproducible per-path seed from the run seed, item and path index."""
        rng = random.Random(f"{self.settings.seed}:{self.problem.index}:{index}:{salt}")
        return rng.randrange(2**31)

    def _new_path_id(self) -> str:
        self._counter += 1
        return f"{self.sample_id}-{self._counter:03d}-{uuid.uuid4().hex[:6]}"

    async def generate(self, messages: list[dict[str, str]], *, role: str = "path",
                       n: int = 1, max_tokens: int = 256, temperature: float | None = None,
                       model: str | None = None, parent_id: str | None = None,
                       round: int = 0, index: int = 0, grade: bool = True,
                       stop: tuple[str, ...] | None = None,
                       score_parser: Callable[[str], float | None] | None = None,
                       answer_if_cut: bool = False, step: int | None = None,
                       hold: bool = False, top_logprobs: int | None = None,
                       continue_final: bool = False, should_stop: StopRule | None = None,
                       score_tokens: TokenScorer | None = None) -> list[Path]:
        """Generate ``n`` paths for ``messages``; indices are ``index .. index+n-1``.

        ``grade=False`` for verifier calls (their text holds no task answer);
        ``score_parser`` turns a verifier's text into a score stored with the path.
        A chain cut by the budget or by an error has no answer (a number in the middle of
        unfinished reasoning is not one) unless ``answer_if_cut``; budget forcing asks for it.
        ``step`` marks a search step; ``hold`` keeps each path's ``PathFinished`` until
        :meth:`release` gives it its score and pruning verdict (a step is finished when
        it is judged), so the stored row carries both.
        ``top_logprobs`` turns logprobs on for this request with that many alternatives per
        token (``Path.token_logprobs``); ``continue_final`` asks the model to continue the
        trailing assistant message (an engine that cannot raises WorkbenchError);
        ``should_stop`` (with ``n == 1``) sees the tokens as they stream and may end the
        path early: the request is cancelled and the path finishes as "stopped" with the
        text and tokens it had (no answer). ``score_tokens`` scores a path from its
        token logprobs (deepconf's confidence), stored as its score like a verifier's.
        """
        if should_stop is not None and n != 1:
            raise WorkbenchError("should_stop stops one path: call generate with n=1.")
        model = model or self.settings.model
        temp = self.settings.temperature if temperature is None else temperature
        req = GenRequest(model=model, messages=tuple(messages), max_tokens=max_tokens,
                         temperature=temp, n=n, seed=self.seed_for(index, round),
                         stop=stop, sample_index=index, run_seed=self.settings.seed,
                         logprobs=self.settings.logprobs or top_logprobs is not None
                         or should_stop is not None, top_logprobs=top_logprobs,
                         continue_final=continue_final,
                         thinking_budget=self.settings.thinking_budget)
        ids = self._start_paths(req, role=role, parent_id=parent_id, round=round, step=step)
        stream = _Stream(n, lambda i, text: self.emit(TokenDelta(
            run_id=self.settings.run_id, sample_id=self.sample_id, path_id=ids[i],
            text=text)), should_stop)
        t0 = time.perf_counter()
        REQUEST_ORIGIN.set((self.settings.run_id, self.sample_id))  # for batch records
        try:
            results = await stream.run(self.backend, req, t0)
        except asyncio.CancelledError:
            for i, pid in enumerate(ids):
                self._finish_cancelled(pid, stream.text(i), t0)
            raise
        except WorkbenchError as exc:  # a bad key, unknown model...: the path keeps why
            for i, pid in enumerate(ids):
                self._finish_cancelled(pid, stream.text(i), t0, error=str(exc))
            raise
        by_index = {r.index: r for r in results}
        paths = []
        for i, pid in enumerate(ids):
            r = by_index.get(i) or GenResult(index=i, text="", finish_reason="error",
                                            error="provider returned fewer choices than n")
            finished = r.error is None and r.finish_reason not in UNFINISHED
            found, correct = await self._grade(r.text, grade and (finished or answer_if_cut),
                                               grade)
            score = (score_parser(r.text) if score_parser is not None
                     else score_tokens(r.token_logprobs) if score_tokens is not None else None)
            paths.append(self._finish(pid, index + i, role, model, r, found, correct, score,
                                      hold))
            paths[-1].step = step
        return paths

    def _start_paths(self, req: GenRequest, *, role: str, parent_id: str | None,
                     round: int, step: int | None = None) -> list[str]:
        """Assign path ids and emit one PathStarted per choice."""
        ids = [self._new_path_id() for _ in range(req.n)]
        prompt_text = "\n\n".join(f"[{m['role']}] {m['content']}" for m in req.messages)
        asked = RequestSettings(max_tokens=req.max_tokens, temperature=req.temperature,
                                seed=req.seed, stop=tuple(req.stop or ()))
        for i, pid in enumerate(ids):
            self.emit(PathStarted(run_id=self.settings.run_id, sample_id=self.sample_id,
                                  path_id=pid, role=role, parent_id=parent_id, model=req.model,
                                  round=round, index=req.sample_index + i, prompt=prompt_text,
                                  request_key=request_key(req, i), step=step,
                                  request=asked))
        return ids

    def _extract(self, text: str) -> Extraction:
        """The answer with its rule; tasks without named rules report rule "task"."""
        full = getattr(self.task, "extract_answer", None)
        if full is not None:
            return full(text)  # type: ignore[no-any-return]
        return Extraction(self.task.extract(text), "task", None)

    async def _grade(self, text: str, extract: bool, grade: bool
                     ) -> tuple[Extraction | None, bool | None]:
        """Extract and grade off the event loop when grading runs code (it takes 0.1-0.3 s)."""
        if not grade:
            return None, None
        if not extract or not text:
            return Extraction(None, "none" if extract else "cut", None), False
        found = self._extract(text)
        if found.answer is None:
            return found, False
        if self.task.kind == "code":
            return found, await asyncio.to_thread(self.task.grade, self.problem, found.answer)
        return found, self.task.grade(self.problem, found.answer)

    def _finish(self, pid: str, index: int, role: str, model: str, r: GenResult,
                found: Extraction | None, correct: bool | None, score: float | None,
                hold: bool = False) -> Path:
        answer = found.answer if found is not None else None
        key = self._keys.key(answer) if self._keys is not None else None
        flops = 2.0 * self.settings.params_count.get(model, 0.0) * (r.tokens_in + r.tokens_out)
        self.meter.add(r, flops)
        truncated = r.finish_reason == "length"
        event = PathFinished(
            run_id=self.settings.run_id, sample_id=self.sample_id, path_id=pid, text=r.text,
            answer=answer, finish_reason=r.finish_reason, truncated=truncated,
            tokens_in=r.tokens_in, tokens_out=r.tokens_out, tokens_reasoning=r.tokens_reasoning,
            cost_usd=r.cost_usd, flops=flops, logprob_mean=r.logprob_mean, ttft_ms=r.ttft_ms,
            latency_ms=r.latency_ms, error=r.error, correct=correct, score=score,
            cached=bool(r.extra.get("cached")),
            answer_rule=found.rule if found is not None else None, answer_key=key,
            served_by=r.extra.get("served_by"), reasoning=r.reasoning_text,
            queue_ms=r.extra.get("queue_ms"))
        if hold:
            self._held[pid] = event
        else:
            self.emit(event)
        return Path(path_id=pid, index=index, role=role, text=r.text, answer=answer,
                    correct=correct, finish_reason=r.finish_reason, truncated=truncated,
                    tokens_in=r.tokens_in, tokens_out=r.tokens_out,
                    tokens_reasoning=r.tokens_reasoning, error=r.error,
                    logprob_mean=r.logprob_mean, score=score,
                    answer_rule=found.rule if found is not None else None,
                    token_logprobs=r.token_logprobs)

    def release(self, path_id: str, *, score: float | None = None, scorer: str | None = None,
                kept: bool | None = None) -> None:
        """Emit the held ``PathFinished`` of ``path_id`` with its step score and verdict
        (a no-op for a path not held, so callers may release in ``finally`` blocks)."""
        event = self._held.pop(path_id, None)
        if event is not None:
            self.emit(replace(event, ts=time.time(), score=score, scorer=scorer, kept=kept))

    def release_all(self) -> None:
        """Emit every held step as it is (unjudged): the search ended before judging it."""
        for pid in list(self._held):
            self.release(pid)

    async def score(self, steps: Sequence[str], *, model: str, parent_id: str | None,
                    step: int | None = None, index: int = 0) -> Path:
        """Score a partial solution with a reward model: the second door to a model.

        Stored and metered like a generation (a path with role ``score``, parent = the
        step it scores, its prompt tokens and latency counted in the sample's compute),
        so a process reward model sits on the same compute axis as sampling. A backend
        that cannot score, or a fault (HTTP error, timeout, malformed reply), gives a path
        with ``score`` None and ``error`` set; it never raises."""
        req = ScoreRequest(model=model, question=self.problem.question, steps=tuple(steps))
        pid = self._new_path_id()
        scorer = f"prm:{model}"
        self.emit(PathStarted(run_id=self.settings.run_id, sample_id=self.sample_id,
                              path_id=pid, role="score", parent_id=parent_id, model=model,
                              index=index, step=step, prompt=_score_prompt(req)))
        fn = getattr(self.backend, "score", None)
        result = (await fn(req) if fn is not None else ScoreResult(
            error=f"this backend cannot score steps: {model!r} is not a configured reward "
                  "model (workbench.toml [models.NAME] reward_api / api_base)"))
        r = GenResult(index=0, text=", ".join(f"{s:.4f}" for s in result.scores),
                      finish_reason="error" if result.error else "stop",
                      tokens_in=result.tokens_in, latency_ms=result.latency_ms,
                      error=result.error)
        flops = 2.0 * self.settings.params_count.get(model, 0.0) * r.tokens_in
        self.meter.add(r, flops)
        self.emit(PathFinished(run_id=self.settings.run_id, sample_id=self.sample_id,
                               path_id=pid, text=r.text, finish_reason=r.finish_reason,
                               tokens_in=r.tokens_in, flops=flops, latency_ms=r.latency_ms,
                               error=r.error, score=result.last, scorer=scorer))
        return Path(path_id=pid, index=index, role="score", text=r.text, answer=None,
                    correct=None, finish_reason=r.finish_reason, truncated=False,
                    tokens_in=r.tokens_in, tokens_out=0, tokens_reasoning=0, error=r.error,
                    score=result.last, step=step,
                    step_scores=result.scores if result.error is None else ())

    def _finish_cancelled(self, pid: str, text: str, t0: float, error: str | None = None
                          ) -> None:
        """End a path that got no result: cancelled, or refused with ``error``."""
        self.emit(PathFinished(run_id=self.settings.run_id, sample_id=self.sample_id,
                               path_id=pid, text=text,
                               finish_reason="cancelled" if error is None else "error",
                               latency_ms=(time.perf_counter() - t0) * 1000,
                               error=error or "cancelled"))

    def base_messages(self, user: str) -> list[dict[str, str]]:
        """System prompt (if any) plus one user turn."""
        msgs = []
        if self.prompts.system:
            msgs.append({"role": "system", "content": self.prompts.system})
        msgs.append({"role": "user", "content": user})
        return msgs

    def answer_format(self) -> str:
        return self.prompts.answer_format or self.task.answer_instruction()

    def reasoning(self) -> str:
        """The reasoning instruction; the plain-words default becomes a code-friendly one
        for code tasks (it would contradict "write the function")."""
        if self.task.kind == "code" and self.prompts.reasoning == DEFAULT_REASONING:
            return CODE_REASONING
        return self.prompts.reasoning


def _score_prompt(req: ScoreRequest) -> str:
    """What a score row stores as its prompt: the question and the numbered steps."""
    steps = "\n\n".join(f"[step {i}] {s}" for i, s in enumerate(req.steps))
    return f"[score] {req.question}\n\n{steps}"


class _Stream:
    """One request's text per choice as it streams and, with a :data:`StopRule`, its
    tokens' logprobs and the early stop: the rule is asked after each delivery of tokens;
    on True the request is cancelled and the path ends with what it had at that point."""

    def __init__(self, n: int, on_text: Callable[[int, str], None],
                 should_stop: StopRule | None) -> None:
        self.n, self.on_text, self.should_stop = n, on_text, should_stop
        self.parts: list[list[str]] = [[] for _ in range(n)]
        self.tokens: list[TokenLogprob] = []
        self.stopped = False
        self._task: asyncio.Future[list[GenResult]] | None = None

    def text(self, choice: int) -> str:
        return "".join(self.parts[choice])

    def on_delta(self, choice: int, text: str) -> None:
        if 0 <= choice < self.n and text and not self.stopped:
            self.parts[choice].append(text)
            self.on_text(choice, text)

    def on_logprobs(self, choice: int, tokens: Sequence[TokenLogprob]) -> None:
        if choice != 0 or self.stopped or self.should_stop is None:
            return
        self.tokens.extend(tokens)
        if self.should_stop(self.tokens):
            self.stopped = True
            if self._task is not None:
                self._task.cancel()

    async def run(self, backend: Backend, req: GenRequest, t0: float) -> list[GenResult]:
        if self.should_stop is None:
            return await backend.generate(req, self.on_delta)
        self._task = task = asyncio.ensure_future(
            backend.generate(req, self.on_delta, on_logprobs=self.on_logprobs))
        try:
            results = await task
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if not self.stopped or (me is not None and me.cancelling()):
                raise  # the caller was cancelled, not the path stopped
            results = []
        return [self._stopped(req, results, t0)] if self.stopped else results

    def _stopped(self, req: GenRequest, results: list[GenResult], t0: float) -> GenResult:
        """The stopped path as far as it got. Its prompt tokens are the backend's count if
        the call ended anyway, else estimated (~4 characters a token) and flagged."""
        done = results[0] if results else None
        extra: dict[str, object] = {"stopped_at_token": len(self.tokens)}
        if done is None:
            extra.update(tokens_estimated=True, cost_unknown=True)
        prompt = (done.tokens_in if done is not None
                  else sum(len(str(m.get("content", ""))) for m in req.messages) // 4)
        mean = (sum(t.logprob for t in self.tokens) / len(self.tokens)) if self.tokens else None
        return GenResult(index=0, text=self.text(0), finish_reason="stopped",
                         tokens_in=prompt, tokens_out=len(self.tokens), logprob_mean=mean,
                         latency_ms=(time.perf_counter() - t0) * 1000,
                         token_logprobs=tuple(self.tokens), extra=extra)
