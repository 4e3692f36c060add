"""Where provider batch jobs live in the trace file, so a killed sweep can re-attach.

A batch is written (its row and one ``batch_requests`` row per request line) and committed
*before* the client waits on it; its status is an append-only log (latest row wins). On a
restart :func:`inflight_keys` tells the batch backend which request keys already sit in a
submitted batch, so those requests are not paid for twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from workbench.store.store import Store


@dataclass(frozen=True)
class BatchRecord:
    """One submitted batch job, as stored."""

    batch_id: str
    provider: str
    model: str
    litellm_model: str
    api_base: str | None
    input_file_id: str
    n_requests: int


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def record_batch(store: Store, rec: BatchRecord,
                 requests: Sequence[tuple[str, str | None, str | None, int]]) -> None:
    """Commit the batch and its ``(custom_id, run_id, sample_id, idx)`` lines at once."""
    cur = store.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        cur.execute("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [rec.batch_id, rec.provider, rec.model, rec.litellm_model, rec.api_base,
                     rec.input_file_id, rec.n_requests, _now()])
        cur.executemany("INSERT INTO batch_requests VALUES (?, ?, ?, ?, ?)",
                        [[rec.batch_id, *r] for r in requests])
        cur.execute("INSERT INTO batch_status VALUES (?, 'submitted', 0, 0, NULL, NULL, ?)",
                    [rec.batch_id, _now()])
        cur.execute("COMMIT")
    finally:
        store.release(cur)


def record_status(store: Store, batch_id: str, status: str, completed: int, failed: int,
                  output_file_id: str | None, error_file_id: str | None) -> None:
    """Append one status row (each poll that changes something, and the final state)."""
    cur = store.cursor()
    try:
        cur.execute("INSERT INTO batch_status VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [batch_id, status, completed, failed, output_file_id, error_file_id,
                     _now()])
    finally:
        store.release(cur)


_INFLIGHT = """
SELECT r.custom_id, b.batch_id, b.provider, b.model, b.litellm_model, b.api_base,
       b.input_file_id, b.n_requests
FROM batch_requests r JOIN batches b USING (batch_id)
QUALIFY row_number() OVER (PARTITION BY r.custom_id ORDER BY b.submitted_at DESC) = 1
"""


def inflight_keys(store: Store) -> dict[str, BatchRecord]:
    """Each request key's newest stored batch (the one a restarted client re-attaches to)."""
    out: dict[str, BatchRecord] = {}
    records: dict[str, BatchRecord] = {}
    for row in store.query(_INFLIGHT).iter_rows(named=True):
        bid = row["batch_id"]
        rec = records.get(bid)
        if rec is None:
            rec = records[bid] = BatchRecord(
                batch_id=bid, provider=row["provider"], model=row["model"],
                litellm_model=row["litellm_model"], api_base=row["api_base"],
                input_file_id=row["input_file_id"], n_requests=row["n_requests"])
        out[row["custom_id"]] = rec
    return out


def batch_table(store: Store) -> Any:
    """Every batch with its latest status (for ``workbench sql`` users and tests)."""
    return store.query("""
        SELECT b.*, s.status, s.completed, s.failed, s.output_file_id, s.error_file_id,
               s."at" AS status_at
        FROM batches b JOIN (SELECT * FROM batch_status
                             QUALIFY row_number() OVER (PARTITION BY batch_id
                                                        ORDER BY "at" DESC) = 1) s
        USING (batch_id) ORDER BY b.submitted_at""")
