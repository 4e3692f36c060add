"""Cost from token counts with litellm's pinned table; never raises."""

from __future__ import annotations

import pytest

from workbench.backends.pricing import Price, cost_usd, is_priced, price_of


def test_known_model_is_priced_from_the_table_with_or_without_prefix() -> None:
    p = price_of("gpt-4o-mini")
    assert p is not None and p.input_per_token > 0 and p.output_per_token > 0
    assert price_of("openai/gpt-4o-mini") == p
    assert cost_usd("gpt-4o-mini", 1000, 500) == pytest.approx(
        1000 * p.input_per_token + 500 * p.output_per_token)


def test_unknown_and_local_models_cost_zero_and_are_flagged() -> None:
    assert cost_usd("openai/my-local-qwen", 10_000, 10_000) == 0.0
    assert not is_priced("openai/my-local-qwen")
    assert is_priced("gpt-4o-mini")


def test_override_and_bad_counts() -> None:
    price = Price.per_million(1.0, 2.0)
    assert cost_usd("anything", 1_000_000, 500_000, price) == pytest.approx(2.0)
    assert cost_usd("gpt-4o-mini", -5, -5) == 0.0
