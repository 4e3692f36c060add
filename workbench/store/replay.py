"""Rebuild the event stream of a stored run, so a stored run can be consumed exactly as live.

Why: widgets, analysis and tests are written against events; replaying a stored run
through the same sinks means "show me yesterday's run" needs no second code path.

What is and is not reproduced:

* Every event the recorder stores comes back with the same fields (text decoded, see
  :mod:`workbench.store.textcodec`; JSON columns decoded). Timestamps are the stored ones,
  rounded to the microsecond.
* The many ``TokenDelta`` events of a path come back as one delta holding the full text,
  just before its ``PathFinished``; a path that never finished (cancelled run) comes back
  as ``PathStarted`` + its partial text, without ``PathFinished``, as it was live.
* Order: events are sorted by their stored time, ties broken by a fixed kind order, so
  concurrent samples interleave as they happened (to the microsecond).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from workbench.errors import WorkbenchError
from workbench.events import (
    Event,
    PathFinished,
    PathStarted,
    RequestSettings,
    RoundFinished,
    RunConfig,
    RunFinished,
    RunStarted,
    SampleScored,
    TokenDelta,
    Voted,
)
from workbench.store.store import Store
from workbench.store.textcodec import decode_opt, decode_text, loads_json

_ORDER = {PathStarted: 1, TokenDelta: 2, PathFinished: 3, RoundFinished: 4, Voted: 5,
          SampleScored: 6}
Keyed = tuple[float, int, int, Event]


def _ts(value: datetime | None) -> float:
    return value.replace(tzinfo=UTC).timestamp() if value is not None else 0.0


def replay(store: Store, run_id: str) -> list[Event]:
    """The events of stored run ``run_id`` in order, RunStarted first."""
    runs = store.runs(run_id)
    if runs.height == 0:
        raise WorkbenchError(f"No run {run_id!r} in {store.path}; list runs with "
                             "store.runs().")
    run = runs.row(0, named=True)
    keyed: list[Keyed] = []
    requests = {pid: (key, cached) for pid, key, cached in store.query(
        "SELECT path_id, request_key, cached FROM path_requests WHERE run_id = ?",
        [run_id]).iter_rows()}
    for row in store.paths(run_id, graded=False).iter_rows(named=True):
        keyed.extend(_path_events(row, requests.get(row["path_id"], (None, False)),
                                  len(keyed)))
    for row in store.rounds(run_id).iter_rows(named=True):
        keyed.append(_keyed(_round_event(row), len(keyed)))
    for row in store.votes(run_id).iter_rows(named=True):
        keyed.append(_keyed(_vote_event(row), len(keyed)))
    samples = store.samples(run_id, graded=False)  # the live events, not later grades
    for row in samples.iter_rows(named=True):
        keyed.append(_keyed(_sample_event(row), len(keyed)))
    keyed.sort(key=lambda k: k[:3])
    events: list[Event] = [_run_started(run), *(k[3] for k in keyed)]
    if run["status"] not in (None, "running"):
        n_correct = int(samples["correct"].fill_null(False).sum()) if samples.height else 0
        events.append(RunFinished(run_id=run_id, ts=_ts(run["status_at"]),
                                  status=run["status"], n_samples=samples.height,
                                  n_correct=n_correct, error=decode_opt(run["error"]),
                                  wall_ms=run["wall_ms"] or 0.0))
    return events


def _keyed(event: Event, seq: int) -> Keyed:
    return (event.ts, _ORDER[type(event)], seq, event)


def _run_started(r: dict[str, Any]) -> RunStarted:
    return RunStarted(run_id=r["run_id"], ts=_ts(r["created_at"]), technique=r["technique"],
                      model=r["model"], task=r["task"], params=loads_json(r["params"]) or {},
                      n_items=r["n_items"] or 0, seed=r["seed"] or 0, verifier=r["verifier"],
                      prompt_hash=r["prompt_hash"] or "",
                      versions=loads_json(r["versions"]) or {},
                      grader_version=r.get("grader_version"), config=_config(r))


def _config(r: dict[str, Any]) -> RunConfig | None:
    """The typed knobs of a run stored with them (schema 9), else None: an older run's
    knobs live in its ``params`` only, and are not invented here."""
    if r.get("technique_tree") is None:
        return None
    return RunConfig(technique=r["technique"], budget_tokens=r["budget_tokens"],
                     n_samples=r["n_samples"] or 1, rounds=r["rounds"] or 0,
                     temperature=r["temperature"] or 0.0, seed=r["seed"] or 0,
                     verifier=r["verifier"], vote=r.get("vote"),
                     thinking_budget=r.get("thinking_budget"), logprobs=bool(r.get("logprobs")),
                     prompt_hash=r["prompt_hash"] or "", sweep_id=r.get("sweep_id"),
                     technique_tree=loads_json(r["technique_tree"]) or {})


def _request(r: dict[str, Any]) -> RequestSettings | None:
    if r.get("max_tokens") is None:
        return None
    return RequestSettings(max_tokens=r["max_tokens"], temperature=r["temperature"] or 0.0,
                           seed=r.get("seed"), stop=tuple(loads_json(r.get("stop")) or ()))


def _path_events(r: dict[str, Any], request: tuple[str | None, bool | None], seq: int
                 ) -> list[Keyed]:
    out: list[Keyed] = []
    request_key, cached = request
    ids = {"run_id": r["run_id"], "sample_id": r["sample_id"], "path_id": r["path_id"]}
    started, finished = _ts(r["started_at"]), r["finished_at"]
    if r["role"] is not None:  # NULL role: PathFinished arrived without a PathStarted
        out.append(_keyed(PathStarted(
            **ids, ts=started, role=r["role"], parent_id=r["parent_id"],
            model=r["model"] or "", round=r["round"] or 0, index=r["idx"] or 0,
            prompt=decode_text(r["prompt"] or ""), request_key=request_key,
            step=r.get("step"), request=_request(r)), seq))
    text = decode_text(r["text"] or "")
    delta_ts = _ts(finished) if finished is not None else started
    if text:
        out.append(_keyed(TokenDelta(**ids, ts=delta_ts, text=text), seq + 1))
    if finished is not None:
        out.append(_keyed(PathFinished(
            **ids, ts=_ts(finished), text=text, answer=decode_opt(r["answer"]),
            finish_reason=decode_opt(r["finish_reason"]), truncated=bool(r["truncated"]),
            tokens_in=r["tokens_in"] or 0, tokens_out=r["tokens_out"] or 0,
            tokens_reasoning=r["tokens_reasoning"] or 0, cost_usd=r["cost_usd"] or 0.0,
            flops=r["flops"] or 0.0, logprob_mean=r["logprob_mean"], ttft_ms=r["ttft_ms"],
            latency_ms=r["latency_ms"] or 0.0, error=decode_opt(r["error"]),
            score=r["score"], correct=r["correct"], cached=bool(cached),
            answer_rule=r.get("answer_rule"), answer_key=decode_opt(r.get("answer_key")),
            served_by=r.get("served_by"), reasoning=decode_text(r.get("reasoning") or ""),
            scorer=r.get("scorer"), kept=r.get("kept"), queue_ms=r.get("queue_ms")),
            seq + 2))
    return out


def _vote_event(r: dict[str, Any]) -> Voted:
    return Voted(run_id=r["run_id"], sample_id=r["sample_id"], ts=_ts(r["created_at"]),
                 method=r["method"], counts=loads_json(r["counts"]) or {},
                 winner=decode_opt(r["winner"]), tie=bool(r["tie"]),
                 tie_break=decode_opt(r["tie_break"]), n_paths=r["n_paths"] or 0,
                 stopped_early=bool(r["stopped_early"]), samples_saved=r["samples_saved"] or 0,
                 tokens_saved_est=r["tokens_saved_est"] or 0)


def _round_event(r: dict[str, Any]) -> RoundFinished:
    return RoundFinished(run_id=r["run_id"], sample_id=r["sample_id"],
                         ts=_ts(r["created_at"]), round=r["round"], path_id=r["path_id"],
                         critique_path_id=r["critique_path_id"],
                         answer=decode_opt(r["answer"]), accepted=bool(r["accepted"]),
                         critique=decode_text(r["critique"] or ""), correct=r["correct"])


def _sample_event(r: dict[str, Any]) -> SampleScored:
    return SampleScored(
        run_id=r["run_id"], sample_id=r["sample_id"], ts=_ts(r["created_at"]),
        item_id=decode_text(r["item_id"] or ""), item_index=r["item_index"] or 0,
        question=decode_text(r["question"] or ""), gold=decode_text(r["gold"] or ""),
        answer=decode_opt(r["answer"]), correct=bool(r["correct"]),
        tokens_in=r["tokens_in"] or 0, tokens_out=r["tokens_out"] or 0,
        tokens_reasoning=r["tokens_reasoning"] or 0, cost_usd=r["cost_usd"] or 0.0,
        flops=r["flops"] or 0.0, latency_ms=r["latency_ms"] or 0.0, n_calls=r["n_calls"] or 0,
        error=decode_opt(r["error"]), meta=loads_json(r["meta"]) or {})


def normalize(events: list[Event]) -> list[dict[str, Any]]:
    """Events as comparable dicts: timestamps dropped, each path's deltas joined into one
    ``path_text`` entry just before its PathFinished (or at the end if it never finished)."""
    out: list[dict[str, Any]] = []
    texts: dict[tuple[str, str], list[str]] = {}
    for e in events:
        if isinstance(e, TokenDelta):
            texts.setdefault((e.run_id, e.path_id), []).append(e.text)
            continue
        if isinstance(e, PathFinished):
            joined = "".join(texts.pop((e.run_id, e.path_id), []))
            out.append({"kind": "path_text", "path_id": e.path_id, "text": joined})
        d = e.to_dict()
        d.pop("ts")
        out.append(d)
    for (_, path_id), parts in sorted(texts.items()):
        out.append({"kind": "path_text", "path_id": path_id, "text": "".join(parts)})
    return out


def events_equal(a: list[Event], b: list[Event]) -> bool:
    """Same events in the same order, ignoring timestamps and how text was chunked."""
    return normalize(a) == normalize(b)
