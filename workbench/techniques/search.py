"""The step-level search shared by ``beam`` and ``dvts``: expand, score, prune, repeat.

A chain is split into steps by a delimiter (``"\\n\\n"``, as in HF search-and-learn). One
step is one ``ctx.generate`` with ``stop=(delimiter,)`` and a per-step token budget,
continuing the chain so far as a prefilled assistant turn (llama.cpp, the embedded model,
continues it; vLLM needs ``continue_final_message``; an API that cannot continue an
assistant message starts a new answer instead, so search there is not step-level). Each
step is a stored path (role ``step``, parent = the previous step) held until it is scored
and judged, so its row carries ``score``, ``scorer`` and ``kept``.

Beams live in groups. Every step, each active beam is expanded ``expansions`` times, every
child is scored, and within each group the ``keep`` best children by aggregate score
survive (the rest are pruned). ``beam`` is one group keeping ``width``; DVTS is ``width``
independent groups keeping one each, so its subtrees never compete. A child that states a
final answer (or ends, or fails) stops expanding; the search ends when no beam is active
or after ``max_steps``. The answer comes from :func:`final_choice` over the surviving
leaves (the tree builder re-applies it to stored rows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

from workbench.context import Ctx, Path
from workbench.techniques.aggregation import aggregate, rank_key, top
from workbench.techniques.base import Outcome
from workbench.techniques.cot import force_answer, user_prompt
from workbench.techniques.scorers import StepScorer
from workbench.techniques.self_consistency import emit_vote
from workbench.techniques.voting import VoteResult, group_answers

FINAL_RULES = frozenset({"boxed", "answer_phrase", "hashes", "task"})
"""Extraction rules that mean "this step states the final answer" (fallbacks such as the
last number of a sentence do not: every intermediate step has one)."""
DEFAULT_DELIMITER = "\n\n"


@dataclass(frozen=True)
class SearchConfig:
    """The knobs of one search (validated by the techniques' constructors)."""

    expansions: int
    max_steps: int
    step_budget: int
    scorer: StepScorer
    how: str = "last"
    delimiter: str = DEFAULT_DELIMITER


@dataclass
class Beam:
    """One chain: its steps, their scores and the path of its last step."""

    group: int
    steps: tuple[str, ...] = ()
    scores: tuple[float | None, ...] = ()
    last: Path | None = None
    done: bool = False
    tokens: int = 0  # generated tokens of the chain's steps

    @property
    def answer(self) -> str | None:
        return self.last.answer if self.last is not None else None

    @property
    def order(self) -> int:
        return self.last.index if self.last is not None else -1

    def agg(self, how: str) -> float | None:
        return aggregate(self.scores, how)


def step_messages(ctx: Ctx, steps: Sequence[str], delimiter: str) -> list[dict[str, str]]:
    """The CoT prompt, plus the chain so far as an assistant turn to continue."""
    msgs = ctx.base_messages(user_prompt(ctx, ctx.reasoning()))
    if steps:
        msgs.append({"role": "assistant", "content": delimiter.join(steps) + delimiter})
    return msgs


def is_final(p: Path) -> bool:
    """The step ends its chain: it failed, came back empty, or states the final answer."""
    return (p.error is not None or not p.text.strip()
            or (p.answer is not None and p.answer_rule in FINAL_RULES))


async def expand(ctx: Ctx, cfg: SearchConfig, beam: Beam, step: int, index: int
                 ) -> list[Beam]:
    """``cfg.expansions`` scored children of ``beam`` (their paths held, unjudged)."""
    parent = beam.last.path_id if beam.last is not None else None
    paths = await ctx.generate(step_messages(ctx, beam.steps, cfg.delimiter), role="step",
                               n=cfg.expansions, max_tokens=cfg.step_budget, index=index,
                               parent_id=parent, stop=(cfg.delimiter,), step=step, hold=True)
    kids = [Beam(group=beam.group, steps=(*beam.steps, p.text), last=p, done=is_final(p),
                 tokens=beam.tokens + p.tokens_out) for p in paths]
    scores = await asyncio.gather(*(_score(ctx, cfg, k) for k in kids))
    for k, s in zip(kids, scores, strict=True):
        k.scores = (*beam.scores, s)
    return kids


async def _score(ctx: Ctx, cfg: SearchConfig, kid: Beam) -> float | None:
    assert kid.last is not None
    if kid.last.error is not None or not kid.last.text.strip():
        return None  # nothing to judge
    return await cfg.scorer.score(ctx, ctx.problem.question, kid.steps, kid.last)


def _prune(ctx: Ctx, cfg: SearchConfig, kids: list[Beam], keep: int) -> list[Beam]:
    """Keep the ``keep`` best children of each group; release every child's row with its
    score and verdict. Returns the survivors in generation order."""
    label = cfg.scorer.label(ctx)
    survivors: list[Beam] = []
    for group in sorted({k.group for k in kids}):
        members = [k for k in kids if k.group == group]
        kept = set(top([k.agg(cfg.how) for k in members], keep))
        for i, k in enumerate(members):
            assert k.last is not None
            ctx.release(k.last.path_id, score=k.scores[-1], scorer=label, kept=i in kept)
            if i in kept:
                survivors.append(k)
    return survivors


async def search(ctx: Ctx, cfg: SearchConfig, *, groups: int, per_group: int,
                 keep: int) -> list[Beam]:
    """Run the search; return the surviving leaves (finished or still open at the end).

    Each group draws its path indices (hence seeds and cache keys) from its own range, in
    a fixed order, so a run is reproducible and one subtree's fate never changes what
    another samples."""
    active = [Beam(group=g) for g in range(groups) for _ in range(per_group)]
    leaves: list[Beam] = []
    stride = max(per_group, keep) * cfg.expansions * cfg.max_steps
    used = [0] * groups
    try:
        for step in range(cfg.max_steps):
            if not active:
                break
            starts = []
            for b in active:
                starts.append(b.group * stride + used[b.group])
                used[b.group] += cfg.expansions
            kids = [k for ks in await asyncio.gather(*(
                expand(ctx, cfg, b, step, s) for b, s in zip(active, starts, strict=True)))
                for k in ks]
            survivors = _prune(ctx, cfg, kids, keep)
            leaves += [k for k in survivors if k.done]
            active = [k for k in survivors if not k.done]
    finally:
        ctx.release_all()  # cancelled or failed mid-step: the rows still get written
    return leaves + active


def final_choice(leaves: Sequence[Beam], how: str) -> Beam | None:
    """The answer's chain: the best aggregate among surviving leaves that have an answer,
    else the best leaf overall (its answer is then forced)."""
    pool = [b for b in leaves if b.answer is not None] or list(leaves)
    if not pool:
        return None
    return min(pool, key=lambda b: rank_key(b.agg(how), b.order))


async def conclude(ctx: Ctx, cfg: SearchConfig, leaves: list[Beam], index: int,
                   method: str) -> Outcome:
    """The outcome of a search: the chosen chain, force-answered where it has none, and
    a ``Voted`` event (best aggregate per answer) for every consumer of votes."""
    best = final_choice(leaves, cfg.how)
    if best is None or best.last is None:
        return Outcome(answer=None, text="", path_id=None, index=index,
                       error="the search produced no step")
    text = cfg.delimiter.join(best.steps)
    answer, path_id, forced = best.answer, best.last.path_id, False
    if answer is None and best.last.error is None:
        msgs = step_messages(ctx, (), cfg.delimiter)
        done = await force_answer(ctx, msgs, replace(best.last, text=text))
        answer, path_id, forced = done.answer, done.path_id, True
    groups = group_answers([b.answer for b in leaves], ctx.task.same)
    counts = {rep: max((leaves[m].agg(cfg.how) or 0.0) for m in members)
              for rep, members in groups}
    emit_vote(ctx, method, VoteResult(counts=counts, winner=answer,
                                      n_votes=len(leaves)), len(leaves))
    return Outcome(answer=answer, text=text, path_id=path_id, index=index,
                   score=best.agg(cfg.how), forced=forced, error=best.last.error,
                   tokens_out=best.tokens,
                   info={"leaves": len(leaves), "steps": len(best.steps)})
