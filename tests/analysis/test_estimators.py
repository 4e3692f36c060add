"""pass@k and maj@k against brute-force enumeration of every k-subset."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from scipy.stats import hypergeom

from workbench.analysis import estimators as est
from workbench.analysis import maj_at_k, maj_at_k_curve, pass_at_k, pass_at_k_curve
from workbench.errors import WorkbenchError


def brute_maj(answers: Sequence[str | None], ok: set[str], k: int) -> float:
    """Mean over all k-subsets: fraction of tied top answers that are correct; none -> 0."""
    total, count = Fraction(0), 0
    for sub in itertools.combinations(range(len(answers)), k):
        votes: dict[str, int] = {}
        for i in sub:
            a = answers[i]
            if a is not None:
                votes[a] = votes.get(a, 0) + 1
        count += 1
        if votes:
            top = max(votes.values())
            tied = [a for a, v in votes.items() if v == top]
            total += Fraction(sum(a in ok for a in tied), len(tied))
    return float(total / count)


def brute_pass(n: int, c: int, k: int) -> float:
    hits = sum(any(i < c for i in sub) for sub in itertools.combinations(range(n), k))
    return hits / comb(n, k)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_matches_enumeration(n: int) -> None:
    for c in range(n + 1):
        curve = pass_at_k_curve(n, c)
        for k in range(1, n + 1):
            expected = brute_pass(n, c, k)
            assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)
            assert curve[k - 1] == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_stable_at_ten_thousand() -> None:
    for c, k in [(1, 1), (37, 500), (3, 9999), (9990, 5), (500, 10000)]:
        exact = 1 - Fraction(comb(10000 - c, k), comb(10000, k))
        assert pass_at_k(10000, c, k) == pytest.approx(float(exact), rel=1e-12, abs=1e-15)
    curve = pass_at_k_curve(10000, 37)
    assert np.all(np.diff(curve) >= -1e-15) and curve[-1] == 1.0
    assert curve[499] == pytest.approx(pass_at_k(10000, 37, 500), rel=1e-12)


@pytest.mark.parametrize("args", [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_pass_at_k_rejects_bad_arguments(args: tuple[int, int, int]) -> None:
    with pytest.raises(WorkbenchError):
        pass_at_k(*args)


def test_maj_at_k_matches_enumeration_on_random_items() -> None:
    rng = random.Random(7)
    for _ in range(250):
        n = rng.randint(1, 10)
        pools: list[list[str | None]] = [["a", "b"], ["a", "b", "c", None], ["a", None],
                                         ["a", "b", "c", "d"]]
        pool = rng.choice(pools)
        answers = [rng.choice(pool) for _ in range(n)]
        curve = maj_at_k_curve(answers, "a")
        for k in range(1, n + 1):
            assert curve[k - 1] == pytest.approx(brute_maj(answers, {"a"}, k), abs=1e-12)


def test_ties_count_the_fraction_of_correct_tied_answers() -> None:
    assert maj_at_k(["a", "b"], "a", 2) == pytest.approx(0.5)
    assert maj_at_k(["a", "b", "c"], "a", 3) == pytest.approx(1 / 3)
    # two correct spellings in a three-way tie: 2/3 of tie-breaks are right
    assert maj_at_k(["a", "A", "b"], {"a", "A"}, 3) == pytest.approx(2 / 3)
    answers = ["a", "a", "b", "b", "c", None]
    for k in range(1, 7):
        assert maj_at_k(answers, "b", k) == pytest.approx(brute_maj(answers, {"b"}, k))


def test_abstentions_do_not_vote_and_all_abstain_is_wrong() -> None:
    # k=2 from [a, None, None]: {a,N} twice (right), {N,N} once (no vote: wrong)
    assert maj_at_k(["a", None, None], "a", 2) == pytest.approx(2 / 3)
    # a single wrong vote beats any number of abstentions
    assert maj_at_k(["b", None, None], "a", 3) == 0.0
    assert maj_at_k([None, None, "a"], "a", 3) == 1.0
    assert list(maj_at_k_curve([None, None, None], "a")) == [0.0, 0.0, 0.0]


def test_gold_may_be_a_set_or_a_predicate() -> None:
    answers = ["4", "4.0", "5", "5", None]
    by_set = maj_at_k_curve(answers, {"4", "4.0"})
    by_fn = maj_at_k_curve(answers, lambda a: float(a) == 4.0)
    for k in range(1, 6):
        assert by_set[k - 1] == pytest.approx(brute_maj(answers, {"4", "4.0"}, k))
    assert np.allclose(by_set, by_fn)


def test_maj_at_k_rejects_k_out_of_range() -> None:
    with pytest.raises(WorkbenchError):
        maj_at_k(["a", "b"], "a", 3)
    with pytest.raises(WorkbenchError):
        maj_at_k([], "a", 1)


def test_many_distinct_answers_stay_exact_and_fast() -> None:
    # 64 paths: one correct answer x20 against 30 recurring and singleton wrong answers
    answers: list[str | None] = ["g"] * 20
    answers += [f"w{i % 15}" for i in range(30)] + [f"s{i}" for i in range(9)] + [None] * 5
    curve = maj_at_k_curve(answers, "g")
    assert curve.shape == (64,)
    assert curve[0] == pytest.approx(20 / 64)
    assert curve[-1] == 1.0  # all 64: "g" has 20 votes, each w has 2
    small = answers[:3] + answers[20:24] + answers[-2:]
    for k in range(1, len(small) + 1):
        assert maj_at_k(small, "g", k) == pytest.approx(brute_maj(small, {"g"}, k))


def test_monte_carlo_agrees_with_exact_within_its_stated_error() -> None:
    answers = ["a"] * 9 + ["b"] * 7 + ["c"] * 3 + [None] * 2
    counts, ok, n_abs = est.answer_counts(answers, "a")
    exact = maj_at_k_curve(answers, "a")
    mc = est._maj_monte_carlo(counts, ok, n_abs, 20_000, np.random.default_rng(3))[1:]
    se = 0.5 / np.sqrt(20_000)
    assert np.max(np.abs(mc - exact)) < 5 * se


def test_large_n_falls_back_to_monte_carlo_with_bounded_error() -> None:
    # two answers only: for odd k, maj@k = P(more than k/2 correct) (hypergeometric)
    n, c = 1200, 660
    answers = ["a"] * c + ["b"] * (n - c)
    ks = [1, 11, 101]
    got = maj_at_k_curve(answers, "a", ks, draws=4000, seed=1)
    truth = [hypergeom.sf(k // 2, n, c, k) for k in ks]
    assert np.max(np.abs(got - truth)) < 5 * 0.5 / np.sqrt(4000)


def test_exact_at_n_1000_matches_the_hypergeometric_closed_form() -> None:
    # two answers: odd k wins with a strict majority; even k adds half of the exact ties
    n, c = 1000, 520
    curve = maj_at_k_curve(["a"] * c + ["b"] * (n - c), "a")
    ks = np.arange(1, n + 1)
    truth = hypergeom.sf(ks // 2, n, c, ks) + np.where(
        ks % 2 == 0, 0.5 * hypergeom.pmf(ks // 2, n, c, ks), 0.0)
    assert np.max(np.abs(curve - truth)) < 1e-9
