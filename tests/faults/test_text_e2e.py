"""Hard text, end to end: CJK, emoji, RTL, NUL, lone surrogates and a 2 MB answer stream
from the fake server through each client route (our HTTP client and litellm), the runner,
DuckDB, polars, replay and the exports,
and come back as they were sent (HTML: valid UTF-8, lone surrogates replaced by "?")."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fakes.fake_openai import FakeOpenAI
from faults.fault_kit import fake_backend, run_into_file

from workbench.events import PathFinished
from workbench.export.html import export_run_html
from workbench.export.parquet import export_parquet
from workbench.runner import RunSpec
from workbench.store.replay import replay
from workbench.store.store import Store
from workbench.store.textcodec import decode_text

CJK, EMOJI, RTL = "答えは四十二です 漢字", "😀 👍🏽 👨‍👩‍👧 🇯🇵", "مرحبا بالعالم שלום"
SPECIAL = (f"{CJK} {EMOJI} {RTL} NUL:\x00: half-an-emoji:\ud83d: other-half:\ude00: "
           "\U0010ffff The answer is 42")
WORD = "漢字かな😀" * 400  # 2,000 characters per streamed token, 1,050 identical chunks in
# a row: litellm would abort that as "repeating the same chunk"; the adapter turns it off
BIG = " ".join([WORD] * 1050) + " The answer is 42"  # ~2.1 M characters, ~6.7 MB of UTF-8
TEXTS = [SPECIAL, BIG]


@pytest.mark.parametrize("transport", ["http", "litellm"])
async def test_hard_text_round_trips_through_store_frames_replay_and_exports(
        warm: None, toy_task: Any, tmp_path: Path, transport: str) -> None:
    with FakeOpenAI(texts=TEXTS) as server:
        spec = RunSpec(task="toy", model="fake", technique="cot", limit=2, budget=2000,
                       concurrency=1)  # one at a time: item i gets TEXTS[i]
        db = tmp_path / "t.duckdb"
        out = await run_into_file(spec, fake_backend(server, transport=transport), db,
                                  toy_task)
    run_id = out.result.run_id
    assert out.samples["error"].to_list() == [None, None]
    stored = out.paths.sort("sample_id")["text"].to_list()
    assert [decode_text(t) for t in stored] == TEXTS  # polars frames hold the stored form
    assert len(stored[1]) > 2_000_000 and pl.Series(stored).str.len_chars().max() > 2_000_000
    assert out.samples["answer"].to_list() == ["42", "42"]

    with Store.open(db, read_only=True) as store:
        replayed = [e.text for e in replay(store, run_id) if isinstance(e, PathFinished)]
    assert sorted(replayed, key=len) == TEXTS

    files = export_parquet(db, tmp_path / "parquet", run_ids=[run_id])
    from_parquet = pl.read_parquet(files["paths"]).sort("sample_id")["text"].to_list()
    assert [decode_text(t) for t in from_parquet] == TEXTS

    page = export_run_html(db, run_id, tmp_path / "run.html").read_bytes().decode("utf-8")
    for piece in (CJK, EMOJI, RTL, WORD):
        assert html.escape(piece) in page
    assert "half-an-emoji:?:" in page  # a lone surrogate cannot be UTF-8: replaced, not lost
