"""Instant answers from stored paths: SC@k, adaptive SC and best-of-N for N <= stored.

Why: an SC@16 run on 40 items takes ~25 minutes on the local model, and moving the N slider
down to 8 asks a question the store already answers: the first 8 stored paths of each item
*are* an SC@8 run with the same seed, budget, temperature and prompts. So a matching run is
looked up, its first k paths per item are re-voted with the same voting function the
technique uses, and the result is turned into ordinary events (fed through the same sink as
a live run). The expected SC@k accuracy over all k-subsets (maj@k) is reported beside it.
Adaptive SC replays its stopping rule on a stored SC run's prefix, and best-of-N re-picks
among a stored best-of-N run's first N scored candidates (the rules: widgets.rechoose).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from widgets.rechoose import Choice, adaptive, best_of, majority
from workbench.events import (
    Event,
    PathFinished,
    PathStarted,
    RunFinished,
    RunStarted,
    SampleScored,
    Voted,
)
from workbench.prompts import Prompts
from workbench.runner import RunSpec, build_technique
from workbench.store.textcodec import decode_opt, decode_text
from workbench.techniques.registry import REGISTRY, get
from workbench.techniques.voting import vote

if TYPE_CHECKING:
    from workbench.store.store import Store

Same = Callable[[str, str], bool]



@dataclass(frozen=True)
class Outcome:
    """One stored SC sample of an item: the chain, and its forced answer if it had one."""

    idx: int
    answer: str | None
    correct: bool
    rows: tuple[dict[str, Any], ...]
    key: str | None = None  # stored canonical key (migration 4): the live vote's grouping
    score: float | None = None
    tokens_out: int = 0


def recomputable(spec: RunSpec) -> bool:
    """Rules over a prefix of samples: majority SC, adaptive SC, best-of-N (on chosen items;
    a weighted vote needs logprobs or new verifier calls, so it runs)."""
    return spec.items is not None and replay_rule(spec) is not None


def replay_rule(spec: RunSpec) -> str | None:
    """The registry's replay rule for ``spec`` (``None``: it needs new model calls; a
    weighted vote needs logprobs or verifier calls the store may not hold)."""
    info = REGISTRY.get(spec.technique)
    if info is None or info.replay is None:
        return None
    if info.replay == "majority" and spec.vote != "majority":
        return None
    return info.replay


def source_technique(spec: RunSpec) -> str:
    """The technique whose stored samples ``spec``'s rule is replayed on."""
    return get(spec.technique).replay_source


def source_verifier(spec: RunSpec) -> str:
    """The verifier a stored run must have used (best-of-N scores depend on it)."""
    return (spec.effective_verifier() or "") if get(spec.technique).needs_verifier else ""


def outcomes(paths: list[dict[str, Any]]) -> list[Outcome]:
    """Chains of one item in idx order, each with the answer it finally gave."""
    chains = [r for r in paths if r["role"] == "path"]
    forced = {r["parent_id"]: r for r in paths if r["role"] == "forced_answer"}
    verify = {r["parent_id"]: r for r in paths if r["role"] == "verify"}
    out = []
    for c in sorted(chains, key=lambda r: r["idx"]):
        f = forced.get(c["path_id"]) if c["answer"] is None else None
        v = verify.get(c["path_id"])
        final = f if f is not None else c
        rows = tuple(r for r in (c, f, v) if r is not None)
        out.append(Outcome(idx=c["idx"], answer=decode_opt(final["answer"]),
                           correct=bool(final["correct"]), rows=rows,
                           key=decode_opt(final.get("answer_key")),
                           score=v["score"] if v is not None else None,
                           tokens_out=sum(r["tokens_out"] or 0 for r in rows)))
    return out


def revote(items: Sequence[Outcome], k: int, same: Same) -> tuple[Any, bool, list[Outcome]]:
    """Majority vote of the first ``k`` outcomes: (vote result, winner correct, used)."""
    used = list(items[:k])
    result = vote([o.answer for o in used], same)
    correct = any(o.correct for o in used if o.answer is not None and result.winner is not None
                  and (o.answer == result.winner or same(o.answer, result.winner)))
    return result, correct, used


def expected_accuracy(items: Sequence[Sequence[Outcome]], k: int,
                      same: Same | None = None) -> float:
    """Mean over items of the expected SC@k accuracy over every k-subset (maj@k), answers
    grouped as the live vote groups them: by stored key, else by ``same`` in idx order."""
    from workbench.analysis import maj_at_k
    from workbench.grading.keys import item_keys

    scores = []
    for outs in items:
        keys = [o.key for o in outs]
        if any(o.answer is not None and o.key is None for o in outs):
            keys = item_keys([o.answer for o in outs], lambda a: a, same)
        good: set[str] = set()
        seen: set[str] = set()
        for o, key in zip(outs, keys, strict=True):
            if key is not None and key not in seen:  # a group is graded by its first spelling
                seen.add(key)
                if o.correct:
                    good.add(key)
        scores.append(maj_at_k(keys, good, k) if outs else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def find_run(store: Store, spec: RunSpec, task_name: str) -> str | None:
    """The newest stored SC run that holds >= N paths for every requested item."""
    prompt_hash = Prompts().with_overrides(**spec.prompts).hash()
    cands = store.runs_matching(task=task_name, model=spec.model,
                                technique=source_technique(spec), budget_tokens=spec.budget,
                                temperature=spec.effective_temperature(), seed=spec.seed,
                                prompt_hash=prompt_hash, min_samples=spec.n,
                                verifier=source_verifier(spec))
    items = list(spec.items or ())
    for run_id in cands:
        if store.items_answered(run_id, items) == len(set(items)):
            return run_id
    return None


def instant_events(store: Store, spec: RunSpec, task_name: str, same: Same
                   ) -> list[Event] | None:
    """Events of an SC@k run rebuilt from the store, or None when the store cannot answer."""
    if not recomputable(spec):
        return None
    run_id = find_run(store, spec, task_name)
    if run_id is None:
        return None
    samples = store.item_samples(run_id, list(spec.items or ()))
    paths = store.vote_paths(run_id, samples["sample_id"].to_list())
    by_sample: dict[str, list[dict[str, Any]]] = {}
    for row in paths.iter_rows(named=True):
        by_sample.setdefault(row["sample_id"], []).append(row)
    per_item = [outcomes(by_sample.get(s, [])) for s in samples["sample_id"].to_list()]
    if any(len(o) < spec.n for o in per_item):
        return None
    return _events(run_id, spec, task_name, samples, per_item, same)


def choose(spec: RunSpec, outs: Sequence[Outcome], same: Same) -> Choice:
    """The requested technique's rule replayed on one item's stored samples."""
    rule = replay_rule(spec)
    if rule == "adaptive":
        knobs = build_technique(spec).describe()
        return adaptive(outs, spec.n, same, wave=int(knobs["wave"]),
                        min_samples=int(knobs["min_samples"]),
                        confidence=float(knobs["confidence"]))
    if rule == "best_of":
        return best_of(outs, spec.n, same)
    return majority(outs, spec.n, same)


def _events(source: str, spec: RunSpec, task_name: str, samples: pl.DataFrame,
            per_item: list[list[Outcome]], same: Same) -> list[Event]:
    k = spec.n
    rid = (f"{source}@k{k}" if replay_rule(spec) == "majority"
           else f"{source}@{spec.technique}{k}")
    expected = expected_accuracy(per_item, k, same)
    events: list[Event] = [RunStarted(
        run_id=rid, technique=spec.technique, model=spec.model, task=task_name,
        n_items=samples.height, seed=spec.seed, verifier=spec.effective_verifier(),
        params={"from_run": source, "k": k, "expected_maj_at_k": expected,
                "budget_tokens": spec.budget, "n": k, "recomputed": True})]
    n_correct = 0
    for srow, outs in zip(samples.iter_rows(named=True), per_item, strict=True):
        sid = f"{rid}-{srow['item_index']:05d}"
        chosen = choose(spec, outs, same)
        n_correct += int(chosen.correct)
        tokens_in = tokens_out = 0
        cost = 0.0
        for o in outs[:chosen.used]:
            for r in o.rows:
                events += _path_events(rid, sid, r)
                tokens_in += r["tokens_in"] or 0
                tokens_out += r["tokens_out"] or 0
                cost += r["cost_usd"] or 0.0
        result = chosen.result
        events.append(Voted(run_id=rid, sample_id=sid, method=chosen.method,
                            counts=result.counts, winner=result.winner, tie=result.tie,
                            tie_break=result.tie_break, n_paths=chosen.used, **chosen.extra))
        events.append(SampleScored(
            run_id=rid, sample_id=sid, item_id=decode_text(srow["item_id"] or ""),
            item_index=srow["item_index"], question=decode_text(srow["question"] or ""),
            gold=decode_text(srow["gold"] or ""), answer=result.winner, correct=chosen.correct,
            tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost, n_calls=0,
            meta={"from_run": source}))
    events.append(RunFinished(run_id=rid, status="ok", n_samples=samples.height,
                              n_correct=n_correct))
    return events


def _path_events(rid: str, sid: str, r: dict[str, Any]) -> list[Event]:
    pid = f"{rid}:{r['path_id']}"
    parent = f"{rid}:{r['parent_id']}" if r["parent_id"] else None
    return [PathStarted(run_id=rid, sample_id=sid, path_id=pid, role=r["role"],
                        parent_id=parent, model=r["model"] or "", round=r["round"] or 0,
                        index=r["idx"] or 0),
            PathFinished(run_id=rid, sample_id=sid, path_id=pid, text=decode_text(r["text"] or ""),
                         answer=decode_opt(r["answer"]), finish_reason=r["finish_reason"],
                         truncated=bool(r["truncated"]), tokens_in=r["tokens_in"] or 0,
                         tokens_out=r["tokens_out"] or 0, cost_usd=r["cost_usd"] or 0.0,
                         error=decode_opt(r["error"]), correct=r["correct"], cached=True,
                         score=r.get("score"))]


def instant_note(spec: RunSpec, events: Sequence[Event]) -> str:
    """What the status line says about an instant answer (plain text, escape to show)."""
    started = events[0]
    params = started.params if isinstance(started, RunStarted) else {}
    source = str(params.get("from_run"))
    used = [e.n_paths for e in events if isinstance(e, Voted)]
    mean_used = sum(used) / len(used) if used else 0.0
    rule = replay_rule(spec)
    if rule == "adaptive":
        return (f"adaptive SC (N ≤ {spec.n}) replayed on stored run {source}: its stopping "
                f"rule used {mean_used:.1f} of {spec.n} samples per item · no model call")
    if rule == "best_of":
        return (f"best-of-{spec.n} re-picked from the scored candidates of stored run "
                f"{source} · no model call")
    return (f"SC@{spec.n} recomputed from stored run {source}: no model call · expected "
            f"maj@{spec.n} over all subsets {float(params.get('expected_maj_at_k', 0.0)):.0%}")


def why_not(spec: RunSpec) -> str:
    """Why the store could not answer ``spec`` (shown while the model runs instead)."""
    if spec.items is None:
        return "the items are not fixed, so stored runs cannot stand in: running the model"
    if replay_rule(spec) is None:
        return f"{spec.technique} needs new model calls: running the model"
    what = source_technique(spec)
    extra = f", verifier {spec.effective_verifier()}" if source_verifier(spec) else ""
    return (f"no stored {what} run has ≥ {spec.n} samples of every chosen item at this "
            f"budget, temperature, seed and prompts{extra}: running the model (the next "
            f"N ≤ {spec.n} on these items will be instant)")
