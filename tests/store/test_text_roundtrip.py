"""Any Python text survives the store: CJK, emoji, RTL, NUL, lone surrogates, 2 MB."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.store.recorder import record_all
from workbench.store.replay import normalize, replay
from workbench.store.store import Store, decode_json
from workbench.store.synthetic import synthetic_run
from workbench.store.textcodec import ESC, decode_text, dumps_json, encode_text, loads_json

CASES = {
    "cjk": "三加四等于七。答案是 7",
    "emoji": "👩‍👩‍👧 🙂 answer 🔢 7",
    "rtl": "الإجابة هي ٧ — התשובה היא 7",
    "nul": "before\x00after\x00",
    "lone_high": "broken \ud83d pair",
    "lone_low": "\ude42 trailing",
    "reversed_pair": "\ude42\ud83d",
    "escape_char": f"literal {ESC} and {ESC}{ESC}\U00100000",
    "big": ("2 MB of reasoning. 推理 " * 100_000)[:2_000_000],
}

any_text = st.text(st.one_of(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    st.sampled_from([ESC, "\U00100000", "\U001007ff", "\U00100800", "\x00", "a", "日"]),
    st.characters(codec=None, exclude_categories=())), max_size=60)


@given(any_text)
@settings(max_examples=300, deadline=None)
def test_codec_is_reversible_and_valid_utf8(s: str) -> None:
    stored = encode_text(s)
    stored.encode("utf-8")  # would raise on a lone surrogate
    assert decode_text(stored) == s


def test_codec_leaves_ordinary_text_alone() -> None:
    for name in ("cjk", "emoji", "rtl", "nul", "big"):
        assert encode_text(CASES[name]) is CASES[name] or encode_text(CASES[name]) == CASES[name]


def test_json_with_surrogates_and_nan() -> None:
    obj = {"k\ud800": ["\udfff", 1.5], "nan": float("nan")}
    text = dumps_json(obj)
    assert text is not None
    json.loads(text)  # valid JSON, valid UTF-8
    assert loads_json(text) == {"k\ud800": ["\udfff", 1.5], "nan": "nan"}


def test_every_text_field_round_trips_through_the_store(mem_store: Store) -> None:
    for name, text in CASES.items():
        events = synthetic_run(f"run-{name}", n_items=1, n_paths=1, rounds=1, text=text)
        record_all(mem_store, events)
        assert normalize(replay(mem_store, f"run-{name}")) == normalize(events), name
    stored = mem_store.paths("run-nul", role="path")["text"][0]
    assert stored == CASES["nul"]  # no escaping needed: stored exactly
    stored_big = mem_store.paths("run-big", role="path")["text"][0]
    assert len(stored_big) == 2_000_000


def test_surrogates_in_every_event_field(mem_store: Store) -> None:
    bad = "x\ud800y"
    events = synthetic_run("r", n_items=1, n_paths=2, rounds=1, text=bad)
    patched = []
    for e in events:
        d = dict(e.__dict__)
        for key in ("prompt", "answer", "question", "gold", "critique", "winner", "error"):
            if key in d and isinstance(d[key], str):
                d[key] = d[key] + bad
        if "meta" in d:
            d["meta"] = {"note": bad}
        if "counts" in d:
            d["counts"] = {bad: 2.0}
        if "params" in d:
            d["params"] = {**d["params"], "note": bad}
        patched.append(type(e)(**d))
    record_all(mem_store, patched)
    assert normalize(replay(mem_store, "r")) == normalize(patched)
    assert decode_json(mem_store.runs(), "params")[0]["note"] == bad
