"""The DuckDB sink: turns the event stream into rows, committed in whole samples.

Why this shape:

* Rows are buffered per sample; at ``SampleScored`` the sample's rows (paths, votes,
  rounds, request keys and the samples row) are handed to a background writer
  (:mod:`workbench.store.writer`) that commits them with DuckDB's appender (one flush per
  table, ~2x faster than an Arrow ``INSERT ... SELECT`` for these wide rows). Everything
  of a sample becomes durable in one transaction, milliseconds after it is scored; a
  crash loses only samples not yet committed, never half a sample. The event loop never
  waits for the disk, except at ``RunStarted`` (the run row is durable before any model
  call), ``RunFinished`` and :meth:`Recorder.flush` / :meth:`Recorder.close` (barriers).
* ``TokenDelta`` text is kept only for paths in flight: a finished path stores its full
  text from ``PathFinished``; a path still open when the run ends (cancelled, error) is
  stored with the text streamed so far and ``error`` set, so partial traces are kept.
* ``PathStarted.request_key`` / ``PathFinished.cached`` go to ``path_requests`` (the
  cache index of :mod:`workbench.backends.cache`), written with the path in the same commit.
* Recording the same path id (or sample id) twice for a run writes it once; a resumed run
  (``RunStarted`` for an id already in the file) loads the ids already stored.
* The writer thread lives while a run is in progress: it stops after the last
  ``RunFinished`` (or :meth:`Recorder.close`) and restarts with the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from workbench.errors import WorkbenchError
from workbench.events import (
    Event,
    PathFinished,
    PathStarted,
    RoundFinished,
    RunFinished,
    RunStarted,
    SampleScored,
    TokenDelta,
    Voted,
)
from workbench.store.liveness import this_process
from workbench.store.store import Store
from workbench.store.textcodec import dumps_json, encode_opt, encode_text
from workbench.store.writer import Batch, Row, Writer

COLUMNS: dict[str, tuple[str, ...]] = {
    "runs": ("run_id", "created_at", "technique", "model", "verifier", "task", "budget_tokens",
             "n_samples", "rounds", "temperature", "seed", "n_items", "params", "prompt_hash",
             "prompts", "versions", "sweep_id", "grader_version", "vote", "thinking_budget",
             "logprobs", "technique_tree"),
    "run_status": ("run_id", "status", "at", "wall_ms", "error", "pid", "host", "proc_started"),
    "paths": ("run_id", "sample_id", "path_id", "parent_id", "role", "model", "round", "idx",
              "prompt", "text", "answer", "correct", "finish_reason", "truncated", "tokens_in",
              "tokens_out", "tokens_reasoning", "cost_usd", "flops", "logprob_mean", "score",
              "ttft_ms", "latency_ms", "error", "started_at", "finished_at", "answer_rule",
              "answer_key", "served_by", "reasoning", "step", "scorer", "kept", "max_tokens",
              "temperature", "seed", "stop", "queue_ms"),
    "votes": ("run_id", "sample_id", "method", "counts", "winner", "tie", "tie_break",
              "n_paths", "stopped_early", "samples_saved", "tokens_saved_est", "created_at"),
    "rounds": ("run_id", "sample_id", "round", "path_id", "critique_path_id", "answer",
               "accepted", "critique", "correct", "created_at"),
    "path_requests": ("run_id", "path_id", "request_key", "cached"),
    "samples": ("run_id", "sample_id", "item_id", "item_index", "question", "gold", "answer",
                "correct", "tokens_in", "tokens_out", "tokens_reasoning", "cost_usd", "flops",
                "latency_ms", "n_calls", "error", "meta", "created_at"),
}
UNFINISHED = "unfinished: the run ended ({status}) before this path finished"


_EPOCH = datetime(1970, 1, 1)


def to_timestamp(ts: float) -> datetime:
    """Event time (epoch seconds) as the naive-UTC datetime stored in TIMESTAMP columns
    (same microsecond as ``datetime.fromtimestamp(ts, UTC)``, a third cheaper)."""
    return _EPOCH + timedelta(seconds=ts)


def _as_int(value: Any) -> int | None:
    """An int column filled from a free-form params value (None when it is not a number)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _batch() -> Batch:
    return Batch(COLUMNS)


@dataclass
class _RunState:
    """What the recorder remembers about one run while it is in progress."""

    seen_paths: set[str] = field(default_factory=set)
    seen_samples: set[str] = field(default_factory=set)
    started: dict[str, PathStarted] = field(default_factory=dict)
    partial: dict[str, list[str]] = field(default_factory=dict)
    pending: dict[str, Batch] = field(default_factory=dict)

    def batch(self, sample_id: str) -> Batch:
        found = self.pending.get(sample_id)
        if found is None:
            found = self.pending[sample_id] = _batch()
        return found


class Recorder:
    """A sink (``recorder(event)``) writing a run's events into a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        if store.read_only:
            raise WorkbenchError(f"The store {store.path} is open read-only; open it with "
                                 "Store.open(path) to record runs.")
        self.store = store
        self._runs: dict[str, _RunState] = {}
        self._writer: Writer | None = None
        self.commits = 0
        """Transactions committed so far (several samples may share one under load)."""

    # ---- the sink --------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        """Record one event (unknown event kinds are ignored)."""
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _state(self, run_id: str) -> _RunState:
        state = self._runs.get(run_id)
        if state is None:
            state = self._runs[run_id] = _RunState()
        return state

    def _run_started(self, e: RunStarted) -> None:
        state = self._state(e.run_id)
        batch = _batch()
        if self._run_exists(e.run_id):
            self._load_seen(e.run_id, state)
        else:
            batch.rows["runs"].append(_run_row(e))
        batch.rows["run_status"].append((e.run_id, "running", to_timestamp(e.ts), None, None,
                                         *this_process().cells()))
        self._submit(batch)
        self.flush()

    def _path_started(self, e: PathStarted) -> None:
        state = self._state(e.run_id)
        state.started[e.path_id] = e
        state.partial[e.path_id] = []

    def _token_delta(self, e: TokenDelta) -> None:
        state = self._runs.get(e.run_id)
        parts = state.partial.get(e.path_id) if state is not None else None
        if parts is not None:
            parts.append(e.text)

    def _path_finished(self, e: PathFinished) -> None:
        state = self._state(e.run_id)
        start = state.started.pop(e.path_id, None)
        state.partial.pop(e.path_id, None)
        if e.path_id in state.seen_paths:
            return
        state.seen_paths.add(e.path_id)
        rows = state.batch(e.sample_id).rows
        rows["paths"].append(_path_row(start, e))
        key = start.request_key if start is not None else None
        if key is not None or e.cached:
            rows["path_requests"].append((e.run_id, e.path_id, key, e.cached))

    def _voted(self, e: Voted) -> None:
        self._state(e.run_id).batch(e.sample_id).rows["votes"].append((
            e.run_id, e.sample_id, e.method, dumps_json(e.counts), encode_opt(e.winner), e.tie,
            encode_opt(e.tie_break), e.n_paths, e.stopped_early, e.samples_saved,
            e.tokens_saved_est, to_timestamp(e.ts)))

    def _round_finished(self, e: RoundFinished) -> None:
        self._state(e.run_id).batch(e.sample_id).rows["rounds"].append((
            e.run_id, e.sample_id, e.round, e.path_id, e.critique_path_id,
            encode_opt(e.answer), e.accepted, encode_text(e.critique), e.correct,
            to_timestamp(e.ts)))

    def _sample_scored(self, e: SampleScored) -> None:
        state = self._state(e.run_id)
        batch = state.pending.pop(e.sample_id, None) or _batch()
        if e.sample_id in state.seen_samples:
            batch.rows["votes"].clear()  # a repeated recording of a stored sample
            batch.rows["rounds"].clear()
        else:
            state.seen_samples.add(e.sample_id)
            for table in ("votes", "rounds"):  # an event delivered twice is one row
                batch.rows[table] = list(dict.fromkeys(batch.rows[table]))
            batch.rows["samples"].append(_sample_row(e))
        self._submit(batch)

    def _run_finished(self, e: RunFinished) -> None:
        state = self._runs.pop(e.run_id, None) or _RunState()
        batch = _leftovers(e.run_id, state, e.status)
        batch.rows["run_status"].append(
            (e.run_id, e.status, to_timestamp(e.ts), e.wall_ms, encode_opt(e.error),
             *this_process().cells()))
        self._submit(batch)
        if self._runs:
            self.flush()
        else:
            self._stop_writer()

    # ---- writing ---------------------------------------------------------------------
    def flush(self) -> None:
        """Block until every sample handed over so far is committed."""
        if self._writer is not None:
            self._writer.wait()
            self.commits = self._writer.commits

    def close(self) -> None:
        """Write everything still buffered, unfinished samples included, and stop the
        writer thread (also done by ``Store.close()``)."""
        for run_id, state in list(self._runs.items()):
            self._submit(_leftovers(run_id, state, "recorder closed"))
        self._runs.clear()
        self._stop_writer()

    def pending_rows(self) -> int:
        """Rows handed to the writer and not yet committed."""
        return self._writer.pending_rows() if self._writer is not None else 0

    def _submit(self, batch: Batch) -> None:
        if not batch.size():
            return
        if self._writer is None:
            self._writer = Writer(self.store, COLUMNS)
            self._writer.commits = self.commits
            self.store.on_close(self.close)
        self._writer.submit(batch)

    def _stop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        self.store.remove_on_close(self.close)
        try:
            writer.close()
        finally:
            self.commits = writer.commits

    def _run_exists(self, run_id: str) -> bool:
        self.flush()  # a run started earlier by this recorder may still be in the queue
        found = self.store.query("SELECT count(*) AS n FROM runs WHERE run_id = ?", [run_id])
        return bool(found["n"][0])

    def _load_seen(self, run_id: str, state: _RunState) -> None:
        q = self.store.query
        state.seen_paths.update(q("SELECT path_id FROM paths WHERE run_id = ?",
                                  [run_id])["path_id"].to_list())
        state.seen_samples.update(q("SELECT sample_id FROM samples WHERE run_id = ?",
                                    [run_id])["sample_id"].to_list())


def _leftovers(run_id: str, state: _RunState, status: str) -> Batch:
    """Rows of samples never scored, plus paths still open, so partial traces are kept."""
    out = _batch()
    for batch in state.pending.values():
        out.extend(batch)
    for path_id, start in state.started.items():
        if path_id in state.seen_paths:
            continue
        text = "".join(state.partial.get(path_id, ()))
        out.rows["paths"].append(_open_path_row(start, text, UNFINISHED.format(status=status)))
        if start.request_key is not None:
            out.rows["path_requests"].append((run_id, path_id, start.request_key, False))
    state.pending.clear()
    state.started.clear()
    return out


def _row(table: str, values: dict[str, Any]) -> Row:
    """A row in :data:`COLUMNS` order from named values (a missing name is NULL), so a
    column is added in one place: the migration, its name here, and where it comes from."""
    unknown = set(values) - set(COLUMNS[table])
    if unknown:
        raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
    return tuple(values.get(c) for c in COLUMNS[table])


def _run_row(e: RunStarted) -> Row:
    """From the typed :class:`RunConfig` where the event has one; events of runs stored
    before it (replayed from an old file) carry the knobs in ``params`` only."""
    p, c = e.params, e.config
    sweep = c.sweep_id if c is not None else p.get("sweep_id")
    knobs: dict[str, Any] = (
        {"budget_tokens": c.budget_tokens, "n_samples": c.n_samples, "rounds": c.rounds,
         "temperature": c.temperature, "vote": c.vote, "thinking_budget": c.thinking_budget,
         "logprobs": c.logprobs, "technique_tree": dumps_json(c.technique_tree)}
        if c is not None else
        {"budget_tokens": _as_int(p.get("budget_tokens")), "n_samples": _as_int(p.get("n")),
         "rounds": _as_int(p.get("rounds")), "temperature": _as_float(p.get("temperature"))})
    return _row("runs", {
        "run_id": e.run_id, "created_at": to_timestamp(e.ts), "technique": e.technique,
        "model": e.model, "verifier": e.verifier, "task": e.task, **knobs, "seed": e.seed,
        "n_items": e.n_items, "params": dumps_json(p), "prompt_hash": e.prompt_hash,
        "prompts": dumps_json(p.get("prompts")), "versions": dumps_json(e.versions),
        "sweep_id": None if sweep is None else str(sweep), "grader_version": e.grader_version})


def _started_values(s: PathStarted) -> dict[str, Any]:
    q = s.request
    asked = ({} if q is None else {"max_tokens": q.max_tokens, "temperature": q.temperature,
                                   "seed": q.seed, "stop": dumps_json(list(q.stop))})
    return {"parent_id": s.parent_id, "role": s.role, "model": s.model, "round": s.round,
            "idx": s.index, "prompt": encode_text(s.prompt), "started_at": to_timestamp(s.ts),
            "step": s.step, **asked}


def _path_row(s: PathStarted | None, e: PathFinished) -> Row:
    return _row("paths", {
        "run_id": e.run_id, "sample_id": e.sample_id, "path_id": e.path_id,
        **(_started_values(s) if s is not None else {}),
        "text": encode_text(e.text), "answer": encode_opt(e.answer), "correct": e.correct,
        "finish_reason": encode_opt(e.finish_reason), "truncated": e.truncated,
        "tokens_in": e.tokens_in, "tokens_out": e.tokens_out,
        "tokens_reasoning": e.tokens_reasoning, "cost_usd": e.cost_usd, "flops": e.flops,
        "logprob_mean": e.logprob_mean, "score": e.score, "ttft_ms": e.ttft_ms,
        "latency_ms": e.latency_ms, "error": encode_opt(e.error),
        "finished_at": to_timestamp(e.ts), "answer_rule": e.answer_rule,
        "answer_key": encode_opt(e.answer_key), "served_by": e.served_by,
        "reasoning": encode_text(e.reasoning) if e.reasoning else None, "scorer": e.scorer,
        "kept": e.kept, "queue_ms": e.queue_ms})


def _open_path_row(s: PathStarted, text: str, error: str) -> Row:
    """A path the run never finished: what it asked and what streamed before the end."""
    return _row("paths", {
        "run_id": s.run_id, "sample_id": s.sample_id, "path_id": s.path_id,
        **_started_values(s), "text": encode_text(text), "tokens_in": 0, "tokens_out": 0,
        "tokens_reasoning": 0, "cost_usd": 0.0, "flops": 0.0, "error": error})


def _sample_row(e: SampleScored) -> Row:
    return (e.run_id, e.sample_id, encode_text(e.item_id), e.item_index, encode_text(e.question),
            encode_text(e.gold), encode_opt(e.answer), e.correct, e.tokens_in, e.tokens_out,
            e.tokens_reasoning, e.cost_usd, e.flops, e.latency_ms, e.n_calls,
            encode_opt(e.error), dumps_json(e.meta), to_timestamp(e.ts))


_HANDLERS: dict[type[Event], Any] = {
    RunStarted: Recorder._run_started, PathStarted: Recorder._path_started,
    TokenDelta: Recorder._token_delta, PathFinished: Recorder._path_finished,
    Voted: Recorder._voted, RoundFinished: Recorder._round_finished,
    SampleScored: Recorder._sample_scored, RunFinished: Recorder._run_finished,
}


def record_all(store: Store, events: Iterable[Event]) -> Recorder:
    """Feed a finished stream of events through a Recorder (imports, tests) and close it."""
    recorder = Recorder(store)
    for event in events:
        recorder(event)
    recorder.close()
    return recorder
