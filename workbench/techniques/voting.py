"""Voting over answers: majority, weighted, and the adaptive stopping rule.

Pure functions (no model calls) so that analysis and widgets can re-vote stored paths.
Ties are broken deterministically and the rule is recorded: among tied answers the one
first produced (lowest path index) wins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Same = Callable[[str, str], bool]


@dataclass(frozen=True)
class VoteResult:
    """Votes per distinct answer (first-seen spelling), the winner and how a tie was broken."""

    counts: dict[str, float] = field(default_factory=dict)
    winner: str | None = None
    tie: bool = False
    tie_break: str | None = None
    n_votes: int = 0


def group_answers(answers: Sequence[str | None], same: Same) -> list[tuple[str, list[int]]]:
    """Group equivalent answers; returns (representative, positions) in first-seen order."""
    groups: list[tuple[str, list[int]]] = []
    for pos, ans in enumerate(answers):
        if ans is None:
            continue
        for rep, members in groups:
            if rep == ans or same(rep, ans):
                members.append(pos)
                break
        else:
            groups.append((ans, [pos]))
    return groups


def vote(answers: Sequence[str | None], same: Same,
         weights: Sequence[float] | None = None) -> VoteResult:
    """Majority vote (``weights`` None) or weighted vote. ``None`` answers abstain."""
    groups = group_answers(answers, same)
    if not groups:
        return VoteResult(n_votes=0)
    counts = {}
    for rep, members in groups:
        counts[rep] = float(sum(weights[m] for m in members) if weights else len(members))
    best = max(counts.values())
    tied = [rep for rep, _ in groups if counts[rep] == best]
    tie_break = None
    if len(tied) > 1 and weights:
        by_count = {rep: len(m) for rep, m in groups if rep in tied}
        top = max(by_count.values())
        tied2 = [rep for rep in tied if by_count[rep] == top]
        tie_break = "more votes" if len(tied2) == 1 else "more votes, then first-seen"
        tied = tied2
    elif len(tied) > 1:
        tie_break = "first-seen"
    return VoteResult(counts=counts, winner=tied[0], tie=tie_break is not None,
                      tie_break=tie_break, n_votes=sum(len(m) for _, m in groups))


def leader_confidence(counts: Sequence[float]) -> float:
    """P(the current leader is the true majority answer) under a Beta posterior.

    Adaptive-Consistency's Beta stopping rule (Aggarwal et al. 2023): with ``a`` votes for
    the leader and ``b`` for the runner-up, P(p_a > p_b) = 1 - I_0.5(a + 1, b + 1).
    """
    from scipy.special import betainc  # lazy: scipy costs ~0.25 s, the CLI imports this

    ordered = sorted(counts, reverse=True)
    if not ordered:
        return 0.0
    a = ordered[0]
    b = ordered[1] if len(ordered) > 1 else 0.0
    return float(1.0 - betainc(a + 1.0, b + 1.0, 0.5))
