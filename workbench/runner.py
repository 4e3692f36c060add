"""Run a technique over a task's items and emit the event stream.

``run(spec, backend, sinks)`` is the one entry point used by the CLI, tests, sweeps and
the notebook widgets: it validates everything up front (so bad input fails before any
model call), then processes items concurrently, turning each item's technique outcome
into a ``SampleScored`` event. Provider faults never abort a run: a failed sample is
recorded with its error and partial text. Cancellation records what was produced.
"""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from workbench import runstatus
from workbench.backends.base import Backend
from workbench.backends.fatal import FatalModelError
from workbench.context import Ctx, RunSettings
from workbench.errors import WorkbenchError
from workbench.events import (
    Event,
    PathFinished,
    RunConfig,
    RunFinished,
    RunStarted,
    SampleScored,
)
from workbench.grading.extract import GRADER_VERSION
from workbench.prompts import Prompts
from workbench.tasks.base import Problem, Task
from workbench.techniques import Technique, build, find

Sink = Callable[[Event], None]


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a run. Pure data: widgets and sweeps build these."""

    task: str = "arithmetic"
    technique: str = "cot"
    model: str = "local"
    verifier: str | None = None
    budget: int = 256
    n: int = 8
    rounds: int = 3
    vote: str = "majority"
    temperature: float | None = None
    seed: int = 0
    limit: int | None = 20
    offset: int = 0
    items: tuple[int, ...] | None = None
    concurrency: int | None = None
    prompts: dict[str, Any] = field(default_factory=dict)
    task_options: dict[str, Any] = field(default_factory=dict)
    sweep_id: str | None = None
    thinking_budget: int | None = None
    """A reasoning model's own thinking budget per request (Anthropic ``budget_tokens``,
    Gemini ``thinkingBudget``, OpenAI ``reasoning_effort``; see backends/thinking.py)."""
    width: int = 4
    """Search (beam, dvts): beams kept per step, or independent subtrees; ``budget`` is
    then the token budget of one step."""
    expansions: int = 4
    max_steps: int = 8
    scorer: str = "judge"
    """Step scorer of beam / dvts / best-of-n-prm: judge | prm | logprob."""
    aggregate: str = "last"
    knobs: dict[str, Any] = field(default_factory=dict)
    """Any other registered knob by name (``{"min_tokens": 256, "rule": "esc"}``): what
    ``--set KEY=VALUE`` and the Explorer's generated controls fill; validated by the
    registry like every knob (an unknown name is an error that lists the known ones)."""

    def effective_temperature(self) -> float:
        if self.temperature is not None:
            return self.temperature
        info = find(self.technique)
        return info.default_temperature() if info else 0.0

    def effective_verifier(self) -> str | None:
        info = find(self.technique)
        return (self.verifier or self.model) if info and info.needs_verifier else None

    def samples_per_item(self) -> int:
        info = find(self.technique)
        return self.n if info and info.sampling else 1

    def applies(self, knob: str) -> bool:
        """Whether ``knob`` (budget, n, rounds, vote, verifier, ...) matters for this run."""
        info = find(self.technique)
        return bool(info and info.applies(knob))


def build_technique(spec: RunSpec) -> Technique:
    """The spec's technique, built (and its knobs validated) through the registry. Callers
    build it once and pass it along (``run(..., technique=...)``)."""
    common = {"budget": spec.budget, "n": spec.n, "rounds": spec.rounds, "vote": spec.vote,
              "width": spec.width, "expansions": spec.expansions, "max_steps": spec.max_steps,
              "scorer": spec.scorer, "aggregate": spec.aggregate}
    twice = sorted(set(spec.knobs) & set(common))
    if twice:
        raise WorkbenchError(f"knob(s) {twice} are RunSpec fields; set them there, not in "
                             "knobs (on the command line: --budget, --n, ..., not --set).")
    return build(spec.technique, **common, **spec.knobs)


@dataclass
class RunResult:
    """A finished run's headline numbers (the store holds everything else)."""

    run_id: str
    status: str
    n_samples: int = 0
    n_correct: int = 0
    n_errors: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    wall_ms: float = 0.0
    error: str | None = None
    n_not_run: int = 0
    """Items never sent because a fatal error stopped the run (resume sends them)."""
    fatal: str | None = None
    """The fatal error (bad key, no access, unknown model) that stopped the run, if any."""
    error_counts: dict[str, int] = field(default_factory=dict)
    """First text of each distinct sample error (see :func:`runstatus.signature`) -> count."""

    @property
    def accuracy(self) -> float:
        return self.n_correct / self.n_samples if self.n_samples else 0.0


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("inference-workbench", "litellm", "duckdb", "xllamacpp", "math-verify"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def check_spec(spec: RunSpec) -> None:
    """Validate knobs before any model call; raises WorkbenchError with what to do."""
    if spec.temperature is not None and not 0.0 <= spec.temperature <= 2.0:
        raise WorkbenchError(f"temperature must be between 0 and 2 (got {spec.temperature}).")
    if spec.limit is not None and spec.limit <= 0:
        raise WorkbenchError(f"limit must be positive (got {spec.limit}).")
    if spec.offset < 0:
        raise WorkbenchError(f"offset must be 0 or more (got {spec.offset}).")
    if spec.concurrency is not None and spec.concurrency <= 0:
        raise WorkbenchError(f"concurrency must be positive (got {spec.concurrency}).")


def select_problems(task: Task, spec: RunSpec) -> list[Problem]:
    if spec.items is not None:
        everything = task.load(None, 0)
        bad = [i for i in spec.items if not 0 <= i < len(everything)]
        if bad:
            raise WorkbenchError(f"item indices {bad} are outside 0..{len(everything) - 1}.")
        return [everything[i] for i in spec.items]
    problems = task.load(spec.limit, spec.offset)
    if not problems:
        raise WorkbenchError(f"task {task.name!r} has no items at offset {spec.offset}.")
    return problems


class _Tally:
    """Running totals for RunResult, fed by the same events as every other sink."""

    def __init__(self, result: RunResult) -> None:
        self.result = result
        self.pending_errors: dict[str, list[str]] = {}
        self._first: dict[str, str] = {}  # error signature -> its first text

    def __call__(self, event: Event) -> None:
        if isinstance(event, PathFinished) and event.error:
            self.pending_errors.setdefault(event.sample_id, []).append(event.error)
        elif isinstance(event, SampleScored):
            r = self.result
            r.n_samples += 1
            r.n_correct += int(event.correct)
            r.n_errors += int(event.error is not None)
            if event.error is not None:
                first = self._first.setdefault(runstatus.signature(event.error), event.error)
                r.error_counts[first] = r.error_counts.get(first, 0) + 1
            r.tokens_out += event.tokens_out
            r.cost_usd += event.cost_usd


async def run(spec: RunSpec, backend: Backend, sinks: Sequence[Sink] = (), *,
              task: Task | None = None, technique: Technique | None = None,
              params_count: dict[str, float] | None = None,
              run_id: str | None = None, resumed: bool = False,
              only: Collection[int] | None = None,
              prior: tuple[int, int] = (0, 0)) -> RunResult:
    """Run ``spec`` against ``backend``; every event goes to every sink, in order.

    ``run_id`` with ``resumed=True`` continues an existing run (a sweep or ``--resume``
    after a crash): only ``spec.items`` are run and the run's row is not written again;
    ``prior`` is (samples, failed samples) already stored, so the final status
    (``ok`` / ``partial`` / ``failed``, see :mod:`workbench.runstatus`) covers the whole run.
    ``only`` runs just those item indices of the run ``spec`` describes (one shard of a
    sweep): the run is recorded as the whole spec, so every shard writes the same run row.
    """
    check_spec(spec)
    if task is None:
        from workbench.tasks import get_task
        task = get_task(spec.task, **spec.task_options)
    technique = technique or build_technique(spec)
    prompts = Prompts().with_overrides(**spec.prompts)
    problems = select_problems(task, spec)
    n_items = len(problems)
    if only is not None:
        problems = [p for p in problems if p.index in set(only)]
    run_id = run_id or uuid.uuid4().hex[:12]
    result = RunResult(run_id=run_id, status="running")
    tally = _Tally(result)
    all_sinks: list[Sink] = [*sinks, tally]

    def emit(event: Event) -> None:
        for sink in all_sinks:
            sink(event)

    settings = RunSettings(run_id=run_id, model=spec.model, verifier=spec.effective_verifier(),
                           temperature=spec.effective_temperature(), seed=spec.seed,
                           prompts=prompts, logprobs=_wants_logprobs(spec),
                           params_count=params_count or {},
                           thinking_budget=spec.thinking_budget)
    described = technique.describe()
    params = {**asdict(spec), **described,
              "budget_tokens": described.get("max_tokens", spec.budget),
              "n": spec.samples_per_item(), "temperature": settings.temperature,
              "prompts": prompts.to_dict(),
              "rounds": spec.rounds if spec.applies("rounds") else 0}
    config = RunConfig(
        technique=spec.technique, budget_tokens=params["budget_tokens"],
        n_samples=params["n"], rounds=params["rounds"], temperature=settings.temperature,
        seed=spec.seed, verifier=settings.verifier,
        vote=spec.vote if spec.applies("vote") else None,
        thinking_budget=spec.thinking_budget, logprobs=settings.logprobs,
        prompt_hash=prompts.hash(), sweep_id=spec.sweep_id, technique_tree=described)
    emit(RunStarted(run_id=run_id, technique=spec.technique, model=spec.model,
                    task=task.name, params=params, n_items=n_items, seed=spec.seed,
                    verifier=settings.verifier, prompt_hash=config.prompt_hash,
                    versions=versions(), resumed=resumed, grader_version=GRADER_VERSION,
                    config=config))
    t0 = time.perf_counter()
    try:
        await _run_items(problems, spec, settings, backend, emit, task, technique, tally)
        _conclude(result, prior)
    except asyncio.CancelledError:
        result.status = "cancelled"
        raise
    except Exception as exc:  # a bug or a sink failure: record it, then surface it
        result.status, result.error = "error", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        result.wall_ms = (time.perf_counter() - t0) * 1000
        emit(RunFinished(run_id=run_id, status=result.status, n_samples=result.n_samples,
                         n_correct=result.n_correct, error=result.error,
                         wall_ms=result.wall_ms))
    return result


def _wants_logprobs(spec: RunSpec) -> bool:
    """Logprobs cost bandwidth: asked for only where a vote or a step scorer reads them."""
    return (spec.applies("vote") and spec.vote == "logprob") or (
        spec.applies("scorer") and spec.scorer == "logprob")


def _conclude(result: RunResult, prior: tuple[int, int]) -> None:
    """Final status and its explanation (the first distinct errors with counts)."""
    samples, failed = prior[0] + result.n_samples, prior[1] + result.n_errors
    result.status = runstatus.final_status(samples, failed, result.fatal is not None)
    if result.status != runstatus.OK:
        result.error = runstatus.describe(result)
        if result.fatal is not None:
            result.error = f"{result.fatal} ({result.error})"


async def _run_items(problems: Iterable[Problem], spec: RunSpec, settings: RunSettings,
                     backend: Backend, emit: Sink, task: Task, technique: Technique,
                     tally: _Tally) -> None:
    # a batch backend wants every item in flight (that is what fills its batches)
    wide = getattr(backend, "item_concurrency", None)
    limit = asyncio.Semaphore(spec.concurrency or wide or max(1, 16 // spec.samples_per_item()))
    result = tally.result

    async def one(problem: Problem) -> None:
        async with limit:
            if result.fatal is not None:  # a bad key or unknown model: send nothing more
                result.n_not_run += 1
                return
            await run_item(problem, settings, backend, emit, task, technique, tally)

    async with asyncio.TaskGroup() as group:
        for problem in problems:
            group.create_task(one(problem))


async def run_item(problem: Problem, settings: RunSettings, backend: Backend, emit: Sink,
                   task: Task, technique: Technique, tally: _Tally) -> None:
    """Run the technique on one item and emit its ``SampleScored`` (even on failure)."""
    sample_id = f"{settings.run_id}-{problem.index:05d}"
    ctx = Ctx(settings=settings, backend=backend, emit=emit, task=task, problem=problem,
              sample_id=sample_id)
    t0 = time.perf_counter()
    answer, error = None, None
    try:
        outcome = await technique(ctx, 0)
        answer = outcome.answer
    except FatalModelError as exc:
        error = str(exc)
        if tally.result.fatal is None:
            tally.result.fatal = error
    except WorkbenchError as exc:
        error = str(exc)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=3)[-400:]}"
    path_errors = tally.pending_errors.pop(sample_id, [])
    if error is None and path_errors and answer is None:
        error = "; ".join(dict.fromkeys(path_errors))[:1000]
    correct = False
    if answer is not None:
        correct = (await asyncio.to_thread(task.grade, problem, answer) if task.kind == "code"
                   else task.grade(problem, answer))
    m = ctx.meter
    emit(SampleScored(
        run_id=settings.run_id, sample_id=sample_id, item_id=problem.id,
        item_index=problem.index, question=problem.question, gold=problem.answer,
        answer=answer, correct=bool(correct),
        tokens_in=m.tokens_in, tokens_out=m.tokens_out, tokens_reasoning=m.tokens_reasoning,
        cost_usd=m.cost_usd, flops=m.flops, latency_ms=(time.perf_counter() - t0) * 1000,
        n_calls=m.n_calls, error=error, meta=dict(problem.meta)))
