"""Stopping rules, exact on given answer sequences (numbers worked by hand in comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workbench.allocation.stopping import (
    beta_confidence,
    dirichlet_confidence,
    leader_is_max,
    make_rule,
    sprt_bound,
    sprt_llr,
    stop_point,
    window_agrees,
)


def test_beta_rule_stops_where_the_posterior_crosses() -> None:
    # unanimous a votes: 1 - I_0.5(a+1, 1) = 1 - 0.5^(a+1): 0.875, 0.9375, 0.96875
    assert beta_confidence(["a"] * 4) == pytest.approx(0.96875)
    assert stop_point(["a"] * 10, make_rule("beta", 0.95)) == 4
    # a=5, b=1: 1 - P(Bin(7, .5) >= 6) = 1 - 8/128; a=6, b=1: 1 - 9/256 crosses 0.95
    seq = ["a", "b", "a", "a", "a", "a", "a", "a"]
    assert beta_confidence(seq[:6]) == pytest.approx(1 - 8 / 128)
    assert stop_point(seq, make_rule("beta", 0.95)) == 7


def test_abstentions_do_not_vote_and_min_samples_holds() -> None:
    assert beta_confidence([None, None]) == 0.0  # no leader yet
    assert stop_point([None, "a", "a", "a", "a"], make_rule("beta", 0.95)) == 5
    assert stop_point(["a"] * 5, make_rule("beta", 0.7, min_samples=3)) == 3
    assert stop_point(["a"] * 5, make_rule("beta", 0.7)) == 2  # 0.875 >= 0.7 at 2


def test_dirichlet_matches_beta_with_one_answer_and_monte_carlo_otherwise() -> None:
    for a in range(1, 6):
        assert dirichlet_confidence(["x"] * a) == pytest.approx(1 - 0.5 ** (a + 1), abs=1e-9)
    rng = np.random.default_rng(0)
    g = rng.gamma([4.0, 2.0, 1.0], size=(400_000, 3))
    mc = float((g[:, 0] > g[:, 1:].max(axis=1)).mean())
    assert dirichlet_confidence(["a", "a", "a", "b"]) == pytest.approx(mc, abs=0.004)
    assert leader_is_max((2.0, 2.0)) == pytest.approx(0.5, abs=1e-9)
    # a third answer makes the leader less sure than the Beta rule (which ignores it)
    assert dirichlet_confidence(list("aaabc")) < beta_confidence(list("aaabc"))


def test_sprt_uses_walds_boundary() -> None:
    assert sprt_bound(0.95) == pytest.approx(math.log(19))
    assert sprt_llr(["a", "a", "b"]) == pytest.approx(2 * math.log(1.5) + math.log(0.5))
    # unanimous: a * log 1.5 >= log 19 first at a = 8
    assert stop_point(["a"] * 12, make_rule("sprt", 0.95)) == 8
    # one dissent costs log 2 / log 1.5 = 1.7 more votes: a = 9, so 10 draws
    assert stop_point(["b"] + ["a"] * 12, make_rule("sprt", 0.95)) == 10


def test_esc_checks_whole_windows_only() -> None:
    rule = make_rule("esc", window=3)
    assert stop_point(list("abcddd"), rule, wave=3) == 6
    assert stop_point(list("abaaac"), rule, wave=3) == 6  # no window agreed: all drawn
    assert stop_point(list("adddxx"), rule, wave=1) == 6  # 'ddd' straddles two windows
    assert stop_point(["a", "a", "a", None, "a", "a"], rule, wave=3) == 3
    assert not window_agrees([None, None], 2)
    assert stop_point(list("abcdef"), rule, wave=3, n_max=4) == 4


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown stopping rule"):
        make_rule("magic")
    with pytest.raises(ValueError, match="threshold"):
        make_rule("beta", 1.0)
