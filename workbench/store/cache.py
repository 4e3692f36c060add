"""Look up stored paths by request key, for :class:`workbench.backends.cache.CachingBackend`.

Only paths that finished without an error are reused (a failed or cancelled path is worth
retrying). Each key maps to its earliest stored path.
"""

from __future__ import annotations

from collections.abc import Sequence

from workbench.backends.base import GenResult
from workbench.backends.cache import Lookup
from workbench.store.store import Store
from workbench.store.textcodec import decode_text

_SQL = """
SELECT pr.request_key, p.text, p.finish_reason, p.tokens_in, p.tokens_out,
       p.tokens_reasoning, p.cost_usd, p.logprob_mean, p.ttft_ms, p.latency_ms
FROM path_requests pr JOIN paths p USING (run_id, path_id)
WHERE list_contains(?, pr.request_key) AND p.error IS NULL AND NOT coalesce(pr.cached, false)
QUALIFY row_number() OVER (PARTITION BY pr.request_key ORDER BY p.finished_at) = 1
"""


def stored_lookup(store: Store) -> Lookup:
    """A lookup function over ``store`` (one query per request, not per path)."""

    def lookup(keys: Sequence[str]) -> dict[str, GenResult]:
        df = store.query(_SQL, [list(keys)])
        return {row["request_key"]: GenResult(
            index=0, text=decode_text(row["text"] or ""), finish_reason=row["finish_reason"],
            tokens_in=row["tokens_in"] or 0, tokens_out=row["tokens_out"] or 0,
            tokens_reasoning=row["tokens_reasoning"] or 0, cost_usd=row["cost_usd"] or 0.0,
            logprob_mean=row["logprob_mean"], ttft_ms=row["ttft_ms"],
            latency_ms=row["latency_ms"] or 0.0) for row in df.iter_rows(named=True)}

    return lookup
