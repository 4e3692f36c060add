"""Deterministic synthetic event streams: the store's tests and ingest benchmark use them.

Why in the package: the benchmark (bench/ingest.py), the crash tests (which run a recorder
in a subprocess) and notebooks demonstrating replay all need the same realistic shape of
run without a model: N paths per item with streamed deltas, a vote, optional refinement
rounds, then the scored sample.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

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


class Clock:
    """Strictly increasing fake timestamps (1 ms apart) so replay order is unambiguous."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.t = start

    def __call__(self) -> float:
        self.t += 0.001
        return self.t


def run_started(run_id: str, clock: Clock, *, technique: str = "sc", n_items: int = 1,
                n_paths: int = 4, rounds: int = 0) -> RunStarted:
    """The RunStarted of a synthetic run with the params keys the recorder maps to columns."""
    params = {"budget_tokens": 256, "n": n_paths, "rounds": rounds, "temperature": 0.7,
              "prompts": {"cot": "Think step by step. {question}"}, "sweep_id": "sweep-1",
              "vote": "majority"}
    return RunStarted(run_id=run_id, ts=clock(), technique=technique, model="scripted",
                      task="toy", params=params, n_items=n_items, seed=7, verifier=None,
                      prompt_hash="abc123", versions={"workbench": "0.1.0"})


def sample_events(run_id: str, item: int, clock: Clock, *, n_paths: int = 4, rounds: int = 0,
                  text: str = "Let me think. 2+2 is 4. The answer is 4.",
                  deltas: int = 3, wrong: bool = False) -> Iterator[Event]:
    """All events of one item: paths (with ``deltas`` token deltas each), a vote, rounds,
    and the SampleScored that closes the sample (answered 5, wrong, if ``wrong``)."""
    sid = f"{run_id}-s{item}"
    answers: dict[str, float] = {}
    for i in range(n_paths):
        pid = f"{sid}-p{i}"
        answer = str(4 + (i % 3 == 2))
        answers[answer] = answers.get(answer, 0) + 1
        yield PathStarted(run_id=run_id, ts=clock(), sample_id=sid, path_id=pid, role="path",
                          model="scripted", index=i, prompt=f"Q{item}: what is 2+2?",
                          request_key=f"key-{sid}-{i}")
        step = max(1, len(text) // deltas)
        for k in range(0, len(text), step):
            yield TokenDelta(run_id=run_id, ts=clock(), sample_id=sid, path_id=pid,
                             text=text[k:k + step])
        yield PathFinished(run_id=run_id, ts=clock(), sample_id=sid, path_id=pid, text=text,
                           answer=answer, finish_reason="stop", tokens_in=20,
                           tokens_out=len(text) // 4, cost_usd=1e-6, flops=1e9,
                           latency_ms=120.0 + i, ttft_ms=15.0, correct=answer == "4",
                           cached=i == 0)
    yield Voted(run_id=run_id, ts=clock(), sample_id=sid, method="majority", counts=answers,
                winner="4", n_paths=n_paths)
    yield from _rounds(run_id, sid, clock, rounds)
    yield SampleScored(run_id=run_id, ts=clock(), sample_id=sid, item_id=f"toy-{item}",
                       item_index=item, question=f"Q{item}: what is 2+2?", gold="4",
                       answer="5" if wrong else "4", correct=not wrong,
                       tokens_in=20 * n_paths,
                       tokens_out=n_paths * (len(text) // 4), n_calls=n_paths,
                       meta={"level": item % 3})


def _rounds(run_id: str, sid: str, clock: Clock, rounds: int) -> Iterator[Event]:
    """Critique + refine paths and a RoundFinished for each refinement round."""
    for r in range(1, rounds + 1):
        crit, ref = f"{sid}-c{r}", f"{sid}-r{r}"
        for pid, role, parent, body in ((crit, "critique", f"{sid}-p0", "Check step 2."),
                                        (ref, "refine", crit, "Fixed. The answer is 4.")):
            yield PathStarted(run_id=run_id, ts=clock(), sample_id=sid, path_id=pid, role=role,
                              parent_id=parent, model="scripted", round=r, prompt="Refine:")
            yield TokenDelta(run_id=run_id, ts=clock(), sample_id=sid, path_id=pid, text=body)
            yield PathFinished(run_id=run_id, ts=clock(), sample_id=sid, path_id=pid,
                               text=body, answer="4" if role == "refine" else None,
                               finish_reason="stop", tokens_out=5, score=0.9)
        yield RoundFinished(run_id=run_id, ts=clock(), sample_id=sid, round=r, path_id=ref,
                            critique_path_id=crit, answer="4", accepted=r == rounds,
                            critique="Check step 2.", correct=True)


def synthetic_run(run_id: str = "run-a", *, n_items: int = 3, n_paths: int = 4,
                  rounds: int = 0, clock: Clock | None = None, finish: bool = True,
                  text: str = "Let me think. 2+2 is 4. The answer is 4.",
                  wrong: Collection[int] = ()) -> list[Event]:
    """A whole run: RunStarted, every item's events, RunFinished (if ``finish``); the
    items in ``wrong`` are answered wrong (two such runs make a paired comparison)."""
    clock = clock or Clock()
    events: list[Event] = [run_started(run_id, clock, n_items=n_items, n_paths=n_paths,
                                       rounds=rounds,
                                       technique="refine" if rounds else "sc")]
    for item in range(n_items):
        events.extend(sample_events(run_id, item, clock, n_paths=n_paths, rounds=rounds,
                                    text=text, wrong=item in wrong))
    if finish:
        events.append(RunFinished(run_id=run_id, ts=clock(), status="ok", n_samples=n_items,
                                  n_correct=n_items - len(set(wrong) & set(range(n_items))),
                                  wall_ms=1234.5))
    return events
