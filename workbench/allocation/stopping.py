"""Stopping rules for sequential self-consistency: pure functions over the answers so far.

Why pure and answer-level: the same rule must decide live (``sc-stop`` through ``ctx``)
and offline (replaying stored pools), and a test must be able to say "on this sequence
it stops after sample 5". A rule sees the sequence of vote keys drawn so far (``None``
for a draw that gave no answer) and says whether to stop now. Equivalent answers must be
mapped to one key before (the live technique uses the task's equivalence, replay uses
the stored ``answer_key``).

The rules:

* ``beta`` — Adaptive-Consistency (Aggarwal et al. 2023): with ``a`` votes for the leader
  and ``b`` for the runner-up, stop once P(p_a > p_b) = 1 - I_0.5(a+1, b+1) reaches the
  threshold. The same formula as ``adaptive-sc``
  (:func:`workbench.techniques.voting.leader_confidence`).
* ``dirichlet`` — the same question over *all* answers: under a Dirichlet(counts + 1)
  posterior over the answers seen plus one bucket for answers not seen yet, P(the leader
  has the largest share). Computed exactly as a one-dimensional integral over the Gamma
  representation (no Monte Carlo, so a rule replays identically everywhere). With one
  answer seen it equals the Beta rule (the unseen bucket plays the runner-up).
* ``sprt`` — Wald's sequential probability ratio test on the leader vs the runner-up:
  among their votes, H0: the leader's share is 1/2, H1: it is ``SPRT_P1``; stop when the
  log-likelihood ratio crosses log((1 - beta) / alpha) with alpha = beta = 1 - threshold.
  Only acceptance of H1 stops (accepting "no clear leader" keeps sampling up to n).
* ``esc`` — Early-Stopping Self-Consistency (Li et al. 2024): sample in windows of ``w``;
  stop after a window whose ``w`` answers all agree (no abstention).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache

from workbench.techniques.params import STOP_RULES
from workbench.techniques.voting import leader_confidence

Answers = Sequence[str | None]
Rule = Callable[[Answers], bool]
"""answers drawn so far (vote keys, ``None`` = abstained) -> stop now?"""

SPRT_P1 = 0.75
"""The leader's share among leader + runner-up votes under the SPRT's alternative."""


def top_counts(answers: Answers) -> list[int]:
    """Votes per distinct answer, high to low (abstentions do not vote)."""
    return sorted(Counter(a for a in answers if a is not None).values(), reverse=True)


def beta_confidence(answers: Answers) -> float:
    """P(leader's share > runner-up's) under the Beta posterior (Adaptive-Consistency)."""
    return leader_confidence([float(c) for c in top_counts(answers)])


def dirichlet_confidence(answers: Answers) -> float:
    """P(the leader has the largest share) under Dirichlet(counts + 1) over the answers
    seen plus one unseen bucket; 0.5 when nothing has been answered yet."""
    counts = top_counts(answers)
    if not counts:
        return 0.5
    return leader_is_max(tuple(float(c + 1) for c in counts) + (1.0,))


@lru_cache(maxsize=65536)
def leader_is_max(shapes: tuple[float, ...]) -> float:
    """P(G_0 > G_j for all j) for independent G_j ~ Gamma(shapes[j]): the probability that
    the first Dirichlet(shapes) component is the largest (p_j = G_j / sum G)."""
    from scipy import integrate
    from scipy.special import gammainc, gammaln

    a0, rest = float(shapes[0]), [float(s) for s in shapes[1:]]

    def density(x: float) -> float:
        if x <= 0.0:
            return 0.0
        log_pdf = (a0 - 1.0) * math.log(x) - x - float(gammaln(a0))
        prod = 1.0
        for s in rest:
            prod *= float(gammainc(s, x))
        return math.exp(log_pdf) * prod

    hi = a0 + 40.0 * math.sqrt(a0) + 40.0  # the Gamma(a0) tail beyond is < 1e-12
    value, _err = integrate.quad(density, 0.0, hi, limit=200, epsabs=1e-12, epsrel=1e-10)
    return float(min(1.0, max(0.0, value)))


def sprt_llr(answers: Answers, p1: float = SPRT_P1) -> float:
    """Log-likelihood ratio of H1 (leader's share p1) against H0 (1/2) on the votes of the
    leader and the runner-up."""
    counts = top_counts(answers)
    a = counts[0] if counts else 0
    b = counts[1] if len(counts) > 1 else 0
    return a * math.log(2.0 * p1) + b * math.log(2.0 * (1.0 - p1))


def sprt_bound(threshold: float) -> float:
    """Wald's upper boundary log((1 - beta) / alpha) with alpha = beta = 1 - threshold."""
    alpha = 1.0 - threshold
    return math.log((1.0 - alpha) / alpha)


def window_agrees(answers: Answers, window: int) -> bool:
    """ESC's test: a whole window just finished and its answers are one answer."""
    if window < 1 or len(answers) < window or len(answers) % window:
        return False
    last = answers[-window:]
    return last[0] is not None and all(a == last[0] for a in last)


def make_rule(rule: str, threshold: float = 0.95, *, window: int = 4,
              min_samples: int = 2) -> Rule:
    """The named rule with its setting. ``threshold`` (0.5 < t < 1) applies to beta,
    dirichlet and sprt; ``window`` to esc; no rule stops before ``min_samples`` draws
    (ESC: before one whole window)."""
    if rule not in STOP_RULES:
        raise ValueError(f"unknown stopping rule {rule!r}; choose one of {STOP_RULES}")
    if rule == "esc":
        return lambda answers: window_agrees(answers, window)
    if not 0.5 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0.5, 1) (got {threshold!r})")
    if rule == "sprt":
        bound = sprt_bound(threshold)
        return lambda answers: len(answers) >= min_samples and sprt_llr(answers) >= bound
    conf = beta_confidence if rule == "beta" else dirichlet_confidence
    return lambda answers: len(answers) >= min_samples and conf(answers) >= threshold


def stop_point(answers: Answers, rule: Rule, *, wave: int = 1,
               n_max: int | None = None) -> int:
    """How many of ``answers`` (drawn in order, ``wave`` at a time) a sampler that asks
    ``rule`` after each wave would draw: the first wave end where it fires, else all
    (``n_max`` caps the sequence)."""
    n = len(answers) if n_max is None else min(n_max, len(answers))
    wave = max(1, wave)
    seen = 0
    while seen < n:
        seen = min(n, seen + wave)
        if rule(answers[:seen]):
            return seen
    return n
