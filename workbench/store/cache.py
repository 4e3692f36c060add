"""Look up stored paths by request key, for :class:`workbench.backends.cache.CachingBackend`.

Only paths that finished without an error are reused (a failed or cancelled path is worth
retrying). Each key maps to its earliest stored path. The rows come back as plain data
(``workbench.backends.cache.lookup_from`` turns them into results): the store depends on
no backend type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.store.store import Store
from workbench.store.textcodec import decode_text

_SQL = """
SELECT pr.request_key, p.text, p.finish_reason, p.tokens_in, p.tokens_out,
       p.tokens_reasoning, p.cost_usd, p.logprob_mean, p.ttft_ms, p.latency_ms
FROM path_requests pr JOIN paths p USING (run_id, path_id)
WHERE list_contains(?, pr.request_key) AND p.error IS NULL AND NOT coalesce(pr.cached, false)
QUALIFY row_number() OVER (PARTITION BY pr.request_key ORDER BY p.finished_at) = 1
"""


def stored_paths(store: Store, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Request key -> the stored path's text and usage (one query for all ``keys``)."""
    df = store.query(_SQL, [list(keys)])
    out: dict[str, dict[str, Any]] = {}
    for row in df.iter_rows(named=True):
        key = row.pop("request_key")
        row["text"] = decode_text(row["text"] or "")
        out[key] = row
    return out
