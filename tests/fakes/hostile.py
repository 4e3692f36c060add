"""Hostile model output: HTML/JS payloads, an event stream that carries them, and checks.

Shared by the unit test that feeds every HTML view (tests/security/test_html_views.py)
and the real-browser test (tests/browser/test_injection.py). Each payload, if it were
rendered as markup instead of text, would set its own global ``window.__pwned_<name>``
(so the browser can count which ones ran); the unit test parses the produced HTML and
looks for the elements, handlers and URLs the payload tries to create.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

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


@dataclass(frozen=True)
class Payload:
    name: str
    text: str


PAYLOADS = (
    Payload("img", '<img src=x onerror="window.__pwned_img=1">'),
    Payload("script", "<script>window.__pwned_script=1</script>"),
    Payload("breakout", "</script><script>window.__pwned_breakout=1</script>"),
    Payload("comment", "<!--<script>window.__pwned_comment=1</script>-->"),
    Payload("href", '<a href="javascript:window.__pwned_href=1">click me</a>'),
    Payload("dquote", '" onmouseover="window.__pwned_dquote=1" autofocus onfocus="'
                      'window.__pwned_dquote=2" x="'),
    Payload("squote", "' onmouseover='window.__pwned_squote=1' x='"),
    Payload("svg", '<svg onload="window.__pwned_svg=1"><circle r="4"/></svg>'),
    Payload("iframe", '<iframe srcdoc="<script>parent.__pwned_iframe=1</script>"></iframe>'),
    Payload("details", '<details open ontoggle="window.__pwned_details=1">x</details>'),
)
"""Element injection, ``<script>`` and ``</script>`` breakouts (inline JSON in exports),
the ``<!--<script>`` trap, a ``javascript:`` URL, attribute-breaking double and single
quotes, SVG ``onload``, an ``iframe srcdoc`` and an auto-firing ``ontoggle``."""

ALL_TEXT = " ".join(p.text for p in PAYLOADS)
MARK = "__pwned"
_POOL = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_BENIGN = {c: _POOL[i] for i, c in enumerate(sorted(set(ALL_TEXT) - {" "}))}


def benign(text: str) -> str:
    """``text`` with each payload character swapped for its own letter or digit: the same
    words, lengths and equalities, but nothing a parser could read as markup. A view that
    escapes properly builds the same elements from both."""
    return "".join(_BENIGN.get(c, c) for c in text)


def identity(text: str) -> str:
    return text


def hostile_events(run_id: str = "hostile", rounds: bool = True,
                   convert: Callable[[str], str] = identity) -> list[Event]:
    """A finished SC-with-refinement run whose every model/text field is a payload:
    path texts and answers, vote counts, winner and tie-break, critiques, question, gold,
    path errors and the run error (``convert=benign`` gives the harmless twin run)."""
    sid = f"{run_id}-s0"
    payloads = [Payload(p.name, convert(p.text)) for p in PAYLOADS]
    all_text = convert(ALL_TEXT)
    events: list[Event] = [RunStarted(run_id=run_id, technique="sc", model=payloads[0].text,
                                      task="hostile", n_items=1, params={"n": len(payloads)})]
    for i, p in enumerate(payloads):
        pid = f"{sid}-p{i}"
        events += [PathStarted(run_id=run_id, sample_id=sid, path_id=pid, role="path", index=i),
                   TokenDelta(run_id=run_id, sample_id=sid, path_id=pid, text=all_text),
                   PathFinished(run_id=run_id, sample_id=sid, path_id=pid,
                                text=f"{all_text} {p.text}",
                                answer=p.text, finish_reason="stop", tokens_out=9,
                                correct=i == 0, error=p.text if i == 1 else None)]
    counts = {p.text: 1.0 for p in payloads}
    events.append(Voted(run_id=run_id, sample_id=sid, method="majority", counts=counts,
                        winner=payloads[0].text, tie=True, tie_break=all_text,
                        n_paths=len(payloads)))
    if rounds:
        for r in (1, 2):
            pid = f"{sid}-p{r}"
            events.append(RoundFinished(run_id=run_id, sample_id=sid, round=r, path_id=pid,
                                        answer=payloads[r].text, critique=all_text,
                                        correct=r == 2))
    events += [SampleScored(run_id=run_id, sample_id=sid, item_id="h0", item_index=0,
                            question=all_text, gold=payloads[0].text, answer=payloads[0].text,
                            correct=True, tokens_out=9 * len(payloads), error=all_text),
               RunFinished(run_id=run_id, status="error", n_samples=1, n_correct=1,
                           error=all_text)]
    return events


class Markup(HTMLParser):
    """What a browser would build from an HTML string: elements, attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []  # (tag, name, value)
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def injected(markup: str, allowed_tags: frozenset[str] = frozenset()) -> list[str]:
    """Live markup a payload created: elements the view never writes itself (``img``,
    ``script``, ``iframe``, ...), ``on*`` handlers, ``javascript:`` URLs, ``autofocus`` and
    ``srcdoc`` attributes."""
    doc = Markup()
    doc.feed(markup)
    doc.close()
    bad = [f"<{t}>" for t in doc.tags if t in {"img", "script", "iframe", "details", "a",
                                               "object", "embed", "form", "input"}
           and t not in allowed_tags]
    for tag, name, value in doc.attrs:
        if name.startswith("on"):
            bad.append(f"{tag}[{name}]")
        elif value.strip().lower().startswith("javascript:"):
            bad.append(f"{tag}[{name}=javascript:]")
        elif name in {"autofocus", "srcdoc"}:
            bad.append(f"{tag}[{name}]")
    return bad


def shown_text(markup: str) -> str:
    """The text a reader would see (entities decoded), to check payloads stay visible."""
    doc = Markup()
    doc.feed(markup)
    doc.close()
    return "".join(doc.text)
