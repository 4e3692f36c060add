"""Dollar cost from token counts, with a price table pinned to the installed litellm.

Why not ``litellm.completion_cost``: it raises for models missing from its table, prices
by whatever name it was given, and would need ``import litellm`` (3.5 s). We store raw token
counts in every trace and derive cost from them here, reading litellm's bundled JSON price
table directly (about 45 ms, once), so cost is reproducible for a given litellm version and
never raises. Unknown and local models cost 0 and are *flagged* via :func:`is_priced`.

This is the workbench's one price lookup: the adapter's per-call cost and the analysis
price table (which receives :func:`prices_for` output as plain data) both go through
:func:`price_entry`.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_TABLE_FILE = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True)
class Price:
    """US dollars per single token (the unit of litellm's table)."""

    input_per_token: float
    output_per_token: float

    @classmethod
    def per_million(cls, usd_in: float, usd_out: float) -> Price:
        """Build from the per-million-token prices that provider pages quote."""
        return cls(usd_in / 1e6, usd_out / 1e6)


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    """litellm's bundled price table, read as a plain file (no ``import litellm``)."""
    try:
        spec = importlib.util.find_spec("litellm")
        if spec is None or not spec.submodule_search_locations:
            return {}
        path = Path(next(iter(spec.submodule_search_locations))) / _TABLE_FILE
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, StopIteration) as exc:  # never raise for pricing
        log.warning("litellm price table unavailable (%s); all costs will be 0", exc)
        return {}


def _candidates(model: str) -> list[str]:
    """Names to try: as given, then without the provider prefix ("openai/gpt-4o" -> "gpt-4o")."""
    names = [model]
    if "/" in model:
        names.append(model.split("/", 1)[1])
    return names


PriceEntry = Mapping[str, Any]
"""One model's row of litellm's price table (``input_cost_per_token``, ...)."""


def price_entry(model: str, table: Mapping[str, Any] | None = None) -> PriceEntry | None:
    """``model``'s row of ``table`` (default: the bundled one), trying the name as given,
    then without its provider prefix; None when the table does not know it."""
    source = _table() if table is None else table
    for name in _candidates(model):
        entry = source.get(name)
        if isinstance(entry, Mapping):
            return entry
    return None


def prices_for(models: Iterable[str], table: Mapping[str, Any] | None = None
               ) -> dict[str, PriceEntry | None]:
    """Each model's price row (None if unknown): the data the analysis price table takes."""
    return {m: price_entry(m, table) for m in models}


@functools.lru_cache(maxsize=1024)
def price_of(model: str) -> Price | None:
    """The table's price for ``model``, or None when the table does not know it."""
    entry = price_entry(model)
    if entry is None:
        return None
    cin = entry.get("input_cost_per_token")
    cout = entry.get("output_cost_per_token")
    if isinstance(cin, int | float) and isinstance(cout, int | float):
        return Price(float(cin), float(cout))
    return None


def is_priced(model: str) -> bool:
    """False for local and unknown models, whose cost is reported as 0."""
    return price_of(model) is not None


def cost_usd(model: str, tokens_in: int, tokens_out: int, price: Price | None = None
             ) -> float:
    """Cost of ``tokens_in`` prompt and ``tokens_out`` output tokens; 0.0 if unknown.

    ``tokens_out`` should include reasoning tokens: providers bill them as output.
    ``price`` overrides the table (a model config's price, or ``Price(0, 0)`` for local).
    """
    p = price if price is not None else price_of(model)
    if p is None:
        return 0.0
    return max(0, tokens_in) * p.input_per_token + max(0, tokens_out) * p.output_per_token


BATCH_DISCOUNT = 0.5
"""Batch jobs are billed at about half the streamed price (OpenAI, Anthropic, Gemini);
used where litellm's table has no ``*_cost_per_token_batches`` entry for the model."""


@functools.lru_cache(maxsize=1024)
def batch_price_of(model: str, fallback: Price | None = None) -> Price | None:
    """The batch-API price: the table's batch entry, else ``BATCH_DISCOUNT`` times the
    streamed price (``fallback`` when given: a config's own price), else ``None``."""
    if fallback is None:
        for name in _candidates(model):
            entry = _table().get(name)
            if not isinstance(entry, dict):
                continue
            cin = entry.get("input_cost_per_token_batches")
            cout = entry.get("output_cost_per_token_batches")
            if isinstance(cin, int | float) and isinstance(cout, int | float):
                return Price(float(cin), float(cout))
    base = fallback if fallback is not None else price_of(model)
    if base is None:
        return None
    return Price(base.input_per_token * BATCH_DISCOUNT, base.output_per_token * BATCH_DISCOUNT)
