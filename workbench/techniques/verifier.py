"""Verifier calls shared by refinement, best-of-N and verifier-weighted voting.

The verifier is a separate model by default (``RunSettings.verifier``); it may be the same
model by choice. Its calls are stored as paths with role "critique" or "verify".
"""

from __future__ import annotations

import re

from workbench.context import Ctx, Path
from workbench.prompts import render
from workbench.techniques.base import Outcome

_VERDICT = re.compile(r"VERDICT\s*[:\-]?\s*\**\s*(CORRECT|INCORRECT|WRONG|RIGHT)", re.I)
_SCORE = re.compile(r"SCORE\s*[:\-]?\s*\**\s*(\d+(?:\.\d+)?)", re.I)


def parse_verdict(text: str) -> bool | None:
    """True for CORRECT, False for INCORRECT, None when the verifier gave no verdict."""
    found = _VERDICT.findall(text)
    if not found:
        return None
    return found[-1].upper() in {"CORRECT", "RIGHT"}


def parse_score(text: str) -> float | None:
    """A 0..10 score scaled to 0..1, or None when none was given."""
    found = _SCORE.findall(text)
    if not found:
        return None
    return max(0.0, min(1.0, float(found[-1]) / 10.0))


async def critique(ctx: Ctx, solution: Outcome, *, budget: int, round: int) -> Path:
    """Ask the verifier to check ``solution``; the verdict is parsed by the caller."""
    prompt = render(ctx.prompts.verifier, question=ctx.problem.question, solution=solution.text)
    (path,) = await ctx.generate(ctx.base_messages(prompt), role="critique", max_tokens=budget,
                                 temperature=0.0, model=ctx.settings.verifier,
                                 parent_id=solution.path_id, round=round,
                                 index=solution.index, grade=False)
    return path


async def score(ctx: Ctx, candidate: Outcome, *, budget: int) -> float:
    """Verifier score in 0..1 for one candidate (0 when the verifier gives none)."""
    prompt = render(ctx.prompts.scorer, question=ctx.problem.question, solution=candidate.text)
    (path,) = await ctx.generate(ctx.base_messages(prompt), role="verify", max_tokens=budget,
                                 temperature=0.0, model=ctx.settings.verifier,
                                 parent_id=candidate.path_id, index=candidate.index,
                                 grade=False, score_parser=parse_score)
    return path.score if path.score is not None else 0.0
