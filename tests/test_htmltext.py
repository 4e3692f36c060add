"""workbench.htmltext: the one escaping helper (the views are tested in
tests/faults/test_html_injection.py and, in a browser, tests/browser/test_injection.py)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from workbench.htmltext import (
    Markup,
    html,
    join,
    markdown_cell,
    plotly_text,
    script_json,
    script_json_text,
    script_safe,
)

EVIL = '<img src=x onerror="alert(1)"> \' & </script>'


def test_arguments_are_escaped_and_markup_passes_through() -> None:
    out = html('<span title="{}">{}</span>', EVIL, EVIL)
    assert isinstance(out, Markup)
    assert "<img" not in out and "</script>" not in out
    assert out.count("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;") == 2  # in text and attr
    assert "&#39;" in out and "&amp;" in out
    inner = html("<b>{}</b>", "a<b")
    assert html("<i>{}</i>", inner) == "<i><b>a&lt;b</b></i>"  # not escaped twice


def test_format_specs_and_keywords() -> None:
    assert html("{acc:.0%} of {n}", acc=0.5, n="<3") == "50% of &lt;3"


def test_join_escapes_plain_parts_only() -> None:
    assert join(" · ", [html("<b>{}</b>", 1), "<x>"]) == "<b>1</b> · &lt;x&gt;"


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(), c,
                                                                        max_size=4),
                    max_leaves=12))
def test_script_json_round_trips_and_cannot_end_the_element(value: object) -> None:
    text = script_json(value)
    assert json.loads(text) == value
    assert "<" not in text and ">" not in text and "&" not in text


def test_script_json_text_keeps_the_json_value() -> None:
    raw = json.dumps({"a": "<!--<script>x</script>\u2028"})
    safe = script_json_text(raw)
    assert json.loads(safe) == json.loads(raw) and "<" not in safe and "\u2028" not in safe


def test_script_safe_any_case() -> None:
    js = 'var s = "</script><\\/x></SCRIPT></ScRiPt>";'
    out = script_safe(js)
    assert "</script" not in out.lower()
    assert out.count("<\\/") == 4


def test_plotly_and_markdown_text() -> None:
    assert plotly_text('<a href="javascript:x">y</a>') == \
        "&lt;a href=&#34;javascript:x&#34;&gt;y&lt;/a&gt;"
    assert plotly_text(None) == ""
    assert markdown_cell("a|b\n<i>c</i>") == "a\\|b &lt;i&gt;c&lt;/i&gt;"
