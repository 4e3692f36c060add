"""Unbiased estimators of pass@k and majority-vote accuracy (maj@k) from N stored paths.

Why estimators and not re-sampling: N stored paths of an item already contain every
k-subset, so the expected score of k fresh paths (drawn without replacement from those N)
is an exact function of the stored answers. That turns "what would SC@k score?" into
arithmetic on the store instead of hours of model calls.

maj@k is computed exactly with multivariate hypergeometric generating functions. Write
``c_i`` for the number of paths giving distinct answer ``i`` and ``c_0`` for abstentions
(no parsable answer). For a correct answer ``j`` drawn ``t`` times, every other answer
must be drawn at most ``t`` times, and each one drawn exactly ``t`` times joins a tie that
``j`` wins with probability ``1/(1+ties)``. Answers with ``c_i < t`` can never tie or win,
so they merge with the abstentions into one binomial pool (Vandermonde); only answers with
``c_i >= t`` (at most N/t of them) are tracked one by one. The cost therefore grows with N,
not with the number of distinct answers, and stays exact even with many distinct answers.

Counts are float64 binomials, exact to rounding while C(N, N/2) fits in a double
(N <= ``EXACT_MAX_N``). Beyond that, or when one item would cost more than
``EXACT_MAX_COST`` multiply-adds (hundreds of paths spread over many recurring answers),
maj@k falls back to Monte Carlo over ``MC_DRAWS`` random orderings of the paths (the first
k of each ordering is one k-draw): standard error <= 0.5/sqrt(draws) at every k (0.0035
for the default 20,000).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from functools import lru_cache

import numpy as np
from scipy.special import comb

from workbench.errors import WorkbenchError

EXACT_MAX_N = 1000
"""Largest path count per item for the exact maj@k (float64 range of C(N, k))."""

EXACT_MAX_COST = 4e8
"""Above this many estimated multiply-adds for one item the exact sum gives way to Monte
Carlo (reached only by hundreds of paths split over many answers that each recur)."""

MC_DRAWS = 20_000
"""Monte Carlo orderings when exact is out of reach; standard error <= 0.5/sqrt(MC_DRAWS)."""

Gold = str | Collection[str] | Callable[[str], bool]
"""A gold answer (compared by equality), a set of accepted answers, or a predicate."""


def require_int(value: object, name: str) -> int:
    """``value`` as an int, or a clear error: counts and k are whole numbers.

    Python and numpy integers are accepted; bools (``True`` is not a count), floats (even
    ``2.0``: a float k is usually a bug upstream, e.g. a mean where a count was meant) and
    strings are refused rather than truncated.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise WorkbenchError(f"{name} must be an integer, got {value!r} "
                             f"({type(value).__name__}); pass a whole number such as "
                             f"{name}=4.")
    return int(value)


def require_int_array(values: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    """``values`` as an int64 array, refusing floats and bools instead of truncating them."""
    arr = np.asarray(values)
    if arr.dtype == object:
        return np.asarray([require_int(v, name) for v in arr.ravel()], dtype=np.int64)
    if arr.size and (arr.dtype.kind not in "iu"):
        bad = arr.ravel()[0]
        raise WorkbenchError(f"{name} must hold integers, got {arr.dtype} values such as "
                             f"{bad!r}; pass whole numbers such as {name}=[1, 2, 4].")
    return arr.astype(np.int64).ravel()


def _check_nck(n: int, c: int, k: int) -> None:
    for value, name in ((n, "n"), (c, "c"), (k, "k")):
        require_int(value, name)
    if not 0 <= c <= n:
        raise WorkbenchError(f"pass@k needs 0 <= c <= n, got n={n}, c={c}: "
                             "c counts the correct paths among the n sampled.")
    if not 1 <= k <= n:
        raise WorkbenchError(f"pass@k needs 1 <= k <= n, got n={n}, k={k}: "
                             "k cannot exceed the number of stored paths.")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k = 1 - C(n-c, k)/C(n, k) (Chen et al. 2021) for n paths, c correct.

    Evaluated as 1 - prod_{i=n-c+1..n} (1 - k/i) in log space, which never forms the huge
    binomials and stays accurate for n in the tens of thousands.
    """
    _check_nck(n, c, k)
    n, c, k = int(n), int(c), int(k)
    if n - c < k:
        return 1.0
    if c == 0:
        return 0.0
    log_ratio = float(np.sum(np.log1p(-k / np.arange(n - c + 1, n + 1, dtype=np.float64))))
    return float(-np.expm1(log_ratio))


def pass_at_k_curve(n: int, c: int) -> np.ndarray:
    """pass@k for k = 1..n at once (index k-1), the same estimator as :func:`pass_at_k`.

    Uses C(n-c,k)/C(n,k) = prod_{i<k} (1 - c/(n-i)), a cumulative product in log space.
    """
    _check_nck(n, c, 1)
    n, c = int(n), int(c)
    if c == 0:
        return np.zeros(n)
    i = np.arange(n, dtype=np.float64)
    with np.errstate(divide="ignore"):  # -inf once n - i <= c: the ratio is 0 from there
        log_terms = np.log1p(np.maximum(-c / (n - i), -1.0))
    return -np.expm1(np.cumsum(log_terms))


def _correct_fn(gold: Gold) -> Callable[[str], bool]:
    if callable(gold):
        return gold
    if isinstance(gold, str):
        return lambda a: a == gold
    accepted = frozenset(gold)
    return lambda a: a in accepted


def answer_counts(answers: Iterable[str | None], gold: Gold
                  ) -> tuple[list[int], list[bool], int]:
    """Collapse paths to (count per distinct answer, is-correct per answer, abstentions)."""
    items = list(answers)
    tally = Counter(a for a in items if a is not None)
    n_abstain = len(items) - sum(tally.values())
    is_correct = _correct_fn(gold)
    keys = list(tally)
    return [tally[a] for a in keys], [bool(is_correct(a)) for a in keys], n_abstain


@lru_cache(maxsize=8)
def _binom_table(n: int) -> np.ndarray:
    """C(a, b) for 0 <= a, b <= n as float64 (row a, column b)."""
    a = np.arange(n + 1, dtype=np.float64)
    return np.asarray(comb(a[:, None], a[None, :]), dtype=np.float64)


def _conv_z(kernel: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Multiply every column of ``poly`` (axis 0 = degree in z) by ``kernel``, truncated.

    Short kernels or large N: one shifted add per kernel coefficient (N*len(kernel) work);
    otherwise one product with the Toeplitz matrix, a strided view built without a copy.
    """
    n = poly.shape[0] - 1
    if len(kernel) <= 4 or n > 128:
        out = kernel[0] * poly
        for x in range(1, len(kernel)):
            out[x:] += kernel[x] * poly[: n + 1 - x]
        return out
    rev = np.zeros(2 * n + 1)
    rev[n - len(kernel) + 1: n + 1] = kernel[::-1]  # rev[n - d] = kernel[d]
    step = rev.strides[0]  # toeplitz[a, b] = rev[n - a + b], a view into rev
    toeplitz = np.lib.stride_tricks.as_strided(rev[n:], shape=(n + 1, n + 1),
                                               strides=(-step, step), writeable=False)
    return toeplitz @ poly


def _contested(binom: np.ndarray, cj: int, t: int, others: Sequence[int], n_abstain: int,
               n: int) -> np.ndarray:
    """Sum over draws with x_j = t that j wins, weighted 1/(1+ties); a vector over k."""
    free = n_abstain + sum(c for c in others if c < t)
    rivals = [c for c in others if c >= t]
    if t == 1:  # each rival contributes 1 + c*y*z: elementary symmetric polynomials in c
        esym = np.zeros(len(rivals) + 1)
        esym[0] = 1.0
        for r, c in enumerate(rivals, start=1):
            esym[1: r + 1] += c * esym[:r].copy()
        wins = np.zeros(n + 1)
        wins[1: len(rivals) + 2] = cj * esym / np.arange(1, len(rivals) + 2)
        return np.convolve(wins, binom[free, : free + 1])[: n + 1]
    poly = np.zeros((n + 1, len(rivals) + 1))  # axis 0: paths drawn, axis 1: rivals tied
    poly[t, 0] = binom[cj, t]
    for c in rivals:
        nxt = _conv_z(binom[c, :t], poly)
        nxt[t:, 1:] += binom[c, t] * poly[: n + 1 - t, :-1]
        poly = nxt
    wins = poly @ (1.0 / np.arange(1, len(rivals) + 2))
    return np.convolve(wins, binom[free, : free + 1])[: n + 1]


def _exact_cost(counts: Sequence[int], correct: Sequence[bool], n_abstain: int) -> float:
    """Rough count of multiply-adds :func:`_maj_exact` will do (to decide on Monte Carlo)."""
    n = sum(counts) + n_abstain
    cost = 0.0
    for j, (cj, ok) in enumerate(zip(counts, correct, strict=True)):
        others = list(counts[:j]) + list(counts[j + 1:])
        for t in range(2, min(cj, max(others, default=0)) + 1) if ok else ():
            r = sum(1 for c in others if c >= t)
            cost += r * (r + 1) / 2 * (n + 1) * ((n + 1) if n <= 128 else t)
    return cost


def _maj_exact(counts: Sequence[int], correct: Sequence[bool], n_abstain: int) -> np.ndarray:
    """Expected maj@k for k = 0..N (index k) by exact enumeration over count vectors."""
    n = sum(counts) + n_abstain
    binom = _binom_table(n)
    total = np.zeros(n + 1)
    for j, (cj, ok) in enumerate(zip(counts, correct, strict=True)):
        if not ok:
            continue
        others = list(counts[:j]) + list(counts[j + 1:])
        top_rival = max(others, default=0)
        if top_rival < cj:  # x_j > top_rival: j wins outright (hypergeometric tail)
            tail = np.zeros(cj + 1)
            tail[top_rival + 1:] = binom[cj, top_rival + 1: cj + 1]
            total += np.convolve(tail, binom[n - cj, : n - cj + 1])[: n + 1]
        for t in range(1, min(cj, top_rival) + 1):
            total += _contested(binom, cj, t, others, n_abstain, n)
    out = np.zeros(n + 1)
    out[1:] = total[1:] / binom[n, 1:]
    return out


def _maj_monte_carlo(counts: Sequence[int], correct: Sequence[bool], n_abstain: int,
                     draws: int, rng: np.random.Generator) -> np.ndarray:
    """maj@k for k = 0..N from ``draws`` random orderings of the paths (prefix k = a draw).

    Each ordering is walked once, keeping per-answer votes, the top count, how many answers
    share it and how many of those are correct, so every k costs O(draws).
    """
    m = len(counts)
    labels = np.repeat(np.arange(m + 1), [*counts, n_abstain])  # label m = abstain
    ok = np.asarray([*correct, False], dtype=np.float64)
    n = len(labels)
    total = np.zeros(n + 1)
    for start in range(0, draws, 2000):
        size = min(2000, draws - start)
        rows = np.arange(size)
        order = labels[np.argsort(rng.random((size, n)), axis=1)]
        votes = np.zeros((size, m + 1), dtype=np.int64)
        top = np.zeros(size, dtype=np.int64)
        n_top = np.zeros(size)
        ok_top = np.zeros(size)
        for k in range(1, n + 1):
            lab = order[:, k - 1]
            votes[rows, lab] += lab < m
            v = votes[rows, lab]
            up, tie = v > top, (v == top) & (lab < m)
            top = np.where(up, v, top)
            n_top = np.where(up, 1.0, n_top + tie)
            ok_top = np.where(up, ok[lab], ok_top + tie * ok[lab])
            total[k] += float(np.sum(np.divide(ok_top, n_top, where=n_top > 0,
                                               out=np.zeros(size))))
    return total / draws


def maj_at_k_curve(answers: Sequence[str | None], gold: Gold, ks: Sequence[int] | np.ndarray | None = None,
                   *, draws: int = MC_DRAWS, seed: int = 0) -> np.ndarray:
    """Expected majority-vote accuracy of k paths drawn without replacement, for each k.

    ``ks`` defaults to 1..N; the result has one value per entry of ``ks``. Exact for
    N <= ``EXACT_MAX_N`` (and cost <= ``EXACT_MAX_COST``); otherwise Monte Carlo with
    ``draws`` orderings and ``seed`` (see the module docstring for the error).
    """
    counts, correct, n_abstain = answer_counts(answers, gold)
    return maj_curve_from_counts(counts, correct, n_abstain, ks, draws=draws, seed=seed)


def maj_curve_from_counts(counts: Sequence[int], correct: Sequence[bool], n_abstain: int,
                          ks: Sequence[int] | np.ndarray | None = None, *, draws: int = MC_DRAWS,
                          seed: int = 0) -> np.ndarray:
    """:func:`maj_at_k_curve` from answer counts (the form the frame functions collect)."""
    n = sum(counts) + require_int(n_abstain, "n_abstain")
    kk = np.arange(1, n + 1) if ks is None else require_int_array(ks, "k")
    if n == 0 or (kk.size and (kk.min() < 1 or kk.max() > n)):
        raise WorkbenchError(f"maj@k needs 1 <= k <= N paths; got N={n}, k={kk.tolist()}. "
                             "Ask only for k up to the number of stored paths.")
    if not any(correct):
        return np.zeros(len(kk))
    if n <= EXACT_MAX_N and _exact_cost(counts, correct, n_abstain) <= EXACT_MAX_COST:
        return _maj_exact(counts, correct, n_abstain)[kk]
    rng = np.random.default_rng(seed)
    return _maj_monte_carlo(counts, correct, n_abstain, draws, rng)[kk]


def maj_at_k(answers: Sequence[str | None], gold: Gold, k: int) -> float:
    """Expected majority-vote accuracy of k of the item's paths drawn without replacement.

    A tie between top answers scores the fraction of tied answers that are correct (a
    uniform random tie-break); ``None`` answers abstain; a draw where all abstain is wrong.
    ``gold`` is compared by equality (normalise first), or is a set or a predicate.
    """
    return float(maj_at_k_curve(answers, gold, [require_int(k, "k")])[0])
