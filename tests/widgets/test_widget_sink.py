"""The throttled sink: <= 20 flushes/s, deltas with offsets, exact text."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Any

from widgets.paths import PathsView
from widgets.sink import DeltaBuffer, WidgetSink
from widgets.state import RunState
from workbench.events import PathStarted, RunFinished, RunStarted, TokenDelta

RUN = "run1"
SAMPLE = "run1-00000"


def started(n_paths: int = 1) -> list[Any]:
    events: list[Any] = [RunStarted(run_id=RUN, technique="sc", model="m", task="t", n_items=1)]
    events += [PathStarted(run_id=RUN, sample_id=SAMPLE, path_id=f"p{i}", role="path",
                           index=i) for i in range(n_paths)]
    return events


class FakeLoop:
    """A fake clock + timer heap so flush counts are exact, independent of machine load."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()

    class Handle:
        def __init__(self) -> None:
            self.cancelled = False

        def cancel(self) -> None:
            self.cancelled = True

    def schedule(self, delay: float, fn: Callable[[], None]) -> FakeLoop.Handle:
        handle = FakeLoop.Handle()
        heapq.heappush(self.timers, (self.now + delay, next(self.seq),
                                     lambda: None if handle.cancelled else fn()))
        return handle

    def advance(self, to: float) -> None:
        while self.timers and self.timers[0][0] <= to:
            at, _, fn = heapq.heappop(self.timers)
            self.now = at
            fn()
        self.now = to


def rebuild(texts: dict[str, str], deltas: list[dict[str, Any]]) -> None:
    """What a front-end does with deltas: append the part beyond what it holds."""
    for d in deltas:
        have = texts.setdefault(d["path"], "")
        assert d["offset"] <= len(have), "gap in the delta stream"
        texts[d["path"]] = have + d["text"][len(have) - d["offset"]:]


def test_delta_buffer_merges_per_path_and_keeps_offsets() -> None:
    buf = DeltaBuffer()
    buf.add("a", 0, "He")
    buf.add("b", 5, "xy")
    buf.add("a", 2, "llo")
    buf.add("a", 5, "")
    assert len(buf) == 2
    assert buf.drain() == [{"path": "a", "offset": 0, "text": "Hello"},
                           {"path": "b", "offset": 5, "text": "xy"}]
    assert buf.drain() == []


def test_1000_deltas_in_half_a_second_fake_clock() -> None:
    loop = FakeLoop()
    flushes: list[list[dict[str, Any]]] = []
    sink = WidgetSink(lambda _s, _st, d: flushes.append(d), schedule=loop.schedule)
    for e in started(4):
        sink(e)
    loop.advance(0.0)
    flushes.clear()
    pieces: dict[str, list[str]] = {f"p{i}": [] for i in range(4)}
    for i in range(1000):
        loop.advance(i * 0.0005)  # 1,000 deltas spread evenly over 0.5 s
        pid = f"p{i % 4}"
        piece = f"w{i} "
        pieces[pid].append(piece)
        sink(TokenDelta(run_id=RUN, sample_id=SAMPLE, path_id=pid, text=piece))
    loop.advance(1.0)
    assert 1 <= len(flushes) <= 11
    texts: dict[str, str] = {}
    for d in flushes:
        rebuild(texts, d)
    assert texts == {pid: "".join(p) for pid, p in pieces.items()}
    assert {pid: p.text for pid, p in sink.state.samples[SAMPLE].paths.items()} == texts


async def test_1000_deltas_real_loop_16_paths_and_paths_view_messages() -> None:
    view = PathsView()
    sent: list[dict[str, Any]] = []
    view.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    flush_times: list[float] = []
    loop = asyncio.get_running_loop()

    def render(state: RunState, stale: set[str], deltas: list[dict[str, Any]]) -> None:
        flush_times.append(loop.time())
        view.update(state, stale, deltas)

    sink = WidgetSink(render)
    for e in started(16):
        sink(e)
    await asyncio.sleep(0.08)
    flush_times.clear()
    expected: dict[str, str] = {f"p{i}": "" for i in range(16)}
    t0 = loop.time()
    for batch in range(50):  # 50 batches of 20 deltas, 10 ms apart: 1,000 in ~0.5 s
        for j in range(20):
            i = batch * 20 + j
            pid = f"p{i % 16}"
            expected[pid] += f"t{i}·"
            sink(TokenDelta(run_id=RUN, sample_id=SAMPLE, path_id=pid, text=f"t{i}·"))
        await asyncio.sleep(max(0.0, t0 + (batch + 1) * 0.0098 - loop.time()))
    await asyncio.sleep(0.12)
    assert 1 <= len(flush_times) <= 11
    gaps = [b - a for a, b in zip(flush_times, flush_times[1:], strict=False)]
    assert all(g >= 0.045 for g in gaps), gaps
    deltas = [m for m in sent if m["type"] == "deltas"]
    assert len(deltas) == len(flush_times)
    texts: dict[str, str] = {}
    for m in deltas:
        rebuild(texts, m["items"])
    assert texts == expected
    sink(RunFinished(run_id=RUN, status="ok"))
    assert view.texts == expected  # the slow full-state trait ends complete


def test_only_the_focused_item_streams_and_other_runs_are_ignored() -> None:
    loop = FakeLoop()
    got: list[list[dict[str, Any]]] = []
    sink = WidgetSink(lambda _s, _st, d: got.append(d), schedule=loop.schedule)
    for e in started(1):
        sink(e)
    sink(PathStarted(run_id=RUN, sample_id="run1-00001", path_id="q", role="path"))
    sink(TokenDelta(run_id=RUN, sample_id="run1-00001", path_id="q", text="other item"))
    sink(TokenDelta(run_id="old", sample_id=SAMPLE, path_id="p0", text="stale run"))
    sink(TokenDelta(run_id=RUN, sample_id=SAMPLE, path_id="p0", text="mine"))
    loop.advance(1.0)
    assert [d for batch in got for d in batch] == [{"path": "p0", "offset": 0, "text": "mine"}]
    assert sink.state.samples["run1-00001"].paths["q"].text == "other item"
    sink.refocus("run1-00001")
    assert sink.state.focus == "run1-00001"


def test_run_finished_flushes_at_once() -> None:
    loop = FakeLoop()
    got: list[set[str]] = []
    sink = WidgetSink(lambda _s, stale, _d: got.append(stale), schedule=loop.schedule)
    for e in started(1):
        sink(e)
    sink(RunFinished(run_id=RUN, status="cancelled"))
    assert got and "progress" in got[-1]
    assert sink.state.status == "cancelled"


def test_a_render_bug_is_recorded_not_raised_into_the_run() -> None:
    def broken(_s: RunState, _st: set[str], _d: list[dict[str, Any]]) -> None:
        raise ValueError("boom")

    sink = WidgetSink(broken, schedule=FakeLoop().schedule)
    for e in started(1):
        sink(e)
    sink(RunFinished(run_id=RUN, status="ok"))  # flushes synchronously: must not raise
    assert sink.render_error == "ValueError: boom"
