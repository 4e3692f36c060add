"""Re-deciding a technique from stored samples: majority, adaptive stopping, best-of-N.

Why: each of these techniques is a *rule over a prefix of i.i.d. samples*. A stored run
with at least N samples per item already holds the prefix any smaller or adaptive run would
have drawn (same seed, budget, temperature and prompts), so the rule can be replayed on it
with the functions the live techniques use (``vote``, ``leader_confidence``,
``group_answers``) and give the same answer with no model call:

* SC@k (majority): the first k samples, voted.
* adaptive SC up to N: waves of ``wave`` samples, stop once ``leader_confidence`` reaches
  the threshold after ``min_samples`` (exactly :class:`~workbench.techniques.AdaptiveSC`).
* best-of-N: the first N candidates with their stored verifier scores; highest score wins,
  ties to the answer with more candidates, then the first seen (as
  :class:`~workbench.techniques.BestOfN`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from workbench.techniques.voting import VoteResult, group_answers, leader_confidence, vote

Same = Callable[[str, str], bool]


class Sample(Protocol):
    """What a rule needs of one stored sample."""

    @property
    def answer(self) -> str | None: ...

    @property
    def correct(self) -> bool: ...

    @property
    def score(self) -> float | None: ...


@dataclass
class Choice:
    """A rule's decision for one item: the vote, whether it is right, samples used."""

    result: VoteResult
    correct: bool
    used: int
    method: str
    extra: dict[str, Any] = field(default_factory=dict)


def _winner_correct(used: Sequence[Sample], winner: str | None, same: Same) -> bool:
    return winner is not None and any(
        s.correct for s in used if s.answer is not None
        and (s.answer == winner or same(s.answer, winner)))


def majority(samples: Sequence[Sample], k: int, same: Same) -> Choice:
    """SC@k: the majority vote of the first ``k`` samples."""
    used = list(samples[:k])
    result = vote([s.answer for s in used], same)
    return Choice(result, _winner_correct(used, result.winner, same), len(used), "majority")


def adaptive(samples: Sequence[Sample], n: int, same: Same, *, wave: int = 4,
             min_samples: int = 3, confidence: float = 0.95) -> Choice:
    """Adaptive SC: draw waves until the leader's Beta confidence reaches ``confidence``."""
    taken = 0
    result = VoteResult()
    while taken < n:
        taken += min(wave, n - taken)
        result = vote([s.answer for s in samples[:taken]], same)
        conf = leader_confidence(list(result.counts.values()))
        if taken >= min_samples and conf >= confidence:
            break
    used = list(samples[:taken])
    mean_tokens = sum(getattr(s, "tokens_out", 0) for s in used) / max(1, len(used))
    saved = n - taken
    return Choice(result, _winner_correct(used, result.winner, same), taken, "adaptive",
                  {"stopped_early": saved > 0, "samples_saved": saved,
                   "tokens_saved_est": int(saved * mean_tokens)})


def best_of(samples: Sequence[Sample], n: int, same: Same) -> Choice:
    """Best-of-N: the first ``n`` candidates, highest stored verifier score wins."""
    used = list(samples[:n])
    scores = [s.score if s.score is not None else 0.0 for s in used]
    groups = group_answers([s.answer for s in used], same)
    size = {pos: len(members) for _, members in groups for pos in members}
    ranked = sorted(range(len(used)), key=lambda i: (-scores[i], -size.get(i, 0), i))
    best = used[ranked[0]]
    top = [i for i in ranked if scores[i] == scores[ranked[0]]]
    tie = len({used[i].answer for i in top}) > 1
    counts = {rep: max(scores[m] for m in members) for rep, members in groups}
    result = VoteResult(counts=counts, winner=best.answer, tie=tie,
                        tie_break="more candidates, then first-seen" if tie else None,
                        n_votes=len(used))
    return Choice(result, bool(best.correct) and best.answer is not None, len(used),
                  "verifier")
