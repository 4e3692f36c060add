"""Prompt lab: edit two variants of the prompt templates and run them side by side.

Both variants run the same spec (same problems, seeds, budget, model) except ``prompts=``,
so any difference in accuracy or tokens comes from the prompts; both are recorded in the
store like any run (their ``prompt_hash`` tells them apart in the trace browser).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import ipywidgets as W

from widgets.homeloop import HomeLoop
from widgets.progress import ProgressView
from widgets.sink import Delta, WidgetSink
from widgets.state import RunState
from workbench.errors import WorkbenchError
from workbench.events import Event, SampleScored
from workbench.htmltext import Markup, html, join
from workbench.prompts import Prompts
from workbench.runner import RunSpec, Sink

EDITABLE = ("system", "reasoning", "fewshot", "verifier")
"""The templates (keys of :class:`workbench.prompts.Prompts`) the lab lets you edit."""

Execute = Callable[[RunSpec, Sequence[Sink]], Awaitable[Any]]


def fewshot_text(pairs: Sequence[Sequence[str]]) -> str:
    return "\n\n".join(f"Q: {q}\nA: {a}" for q, a in pairs)


def parse_fewshot(text: str) -> tuple[tuple[str, str], ...]:
    """Blocks of ``Q: ...`` / ``A: ...`` separated by blank lines -> (question, answer)."""
    pairs = []
    for block in filter(None, (b.strip() for b in text.split("\n\n"))):
        q, sep, a = block.partition("\nA:")
        if not sep or not q.startswith("Q:"):
            raise WorkbenchError(f"Few-shot block {block[:40]!r}… must be 'Q: question' then "
                                 "'A: answer' on the next line, blocks separated by a blank line.")
        pairs.append((q[2:].strip(), a.strip()))
    return tuple(pairs)


def overrides(texts: dict[str, str]) -> dict[str, Any]:
    """Only the templates that differ from the defaults (so the default variant is {})."""
    base = Prompts()
    out: dict[str, Any] = {}
    for key, text in texts.items():
        value: Any = parse_fewshot(text) if key == "fewshot" else text
        if value != getattr(base, key):
            out[key] = [list(p) for p in value] if key == "fewshot" else value
    return out


def variant_specs(base: RunSpec, a: dict[str, Any], b: dict[str, Any]
                  ) -> tuple[RunSpec, RunSpec]:
    """Two specs identical but for ``prompts`` (checked: a difference elsewhere is a bug)."""
    spec_a = dataclasses.replace(base, prompts=dict(a))
    spec_b = dataclasses.replace(base, prompts=dict(b))
    Prompts().with_overrides(**spec_a.prompts)  # unknown keys fail here, before any call
    Prompts().with_overrides(**spec_b.prompts)
    return spec_a, spec_b


def comparison_html(a: RunState, b: RunState) -> Markup:
    """Per item: gold, answer of A and B with ✓/✗, tokens of each; accuracy in the header."""
    rows_a = {s.item_index: s for s in a.scored}
    rows_b = {s.item_index: s for s in b.scored}
    head = html("<tr><th>item</th><th>gold</th><th>A ({})</th><th>B ({})</th>"
                "<th>tokens A</th><th>tokens B</th></tr>", _acc(a.scored), _acc(b.scored))
    body = []
    for i in sorted(set(rows_a) | set(rows_b)):
        sa, sb = rows_a.get(i), rows_b.get(i)
        either = sa or sb
        gold = either.gold if either is not None else ""
        body.append(html('<tr class="wb-lab-row"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
                         "<td>{}</td><td>{}</td></tr>", i, gold, _ans(sa), _ans(sb),
                         sa.tokens_out if sa else "", sb.tokens_out if sb else ""))
    return html('<table class="wb-lab-table" style="font-size:12px">{}{}</table>', head,
                join("", body))


def _acc(scored: Sequence[SampleScored]) -> str:
    return f"{sum(s.correct for s in scored) / len(scored):.0%}" if scored else "–"


def _ans(s: SampleScored | None) -> str:
    if s is None:
        return "…"
    return f"{s.answer} {'✓' if s.correct else '✗'}"


class VariantEditor(W.VBox):
    """Text areas for the editable templates of one variant."""

    def __init__(self, title: str, **kwargs: Any) -> None:
        base = Prompts()
        self.areas = {key: W.Textarea(
            value=fewshot_text(base.fewshot) if key == "fewshot" else getattr(base, key),
            description=key, placeholder="Q: …\nA: …" if key == "fewshot" else "",
            layout=W.Layout(width="98%", height="70px" if key != "verifier" else "120px"))
            for key in EDITABLE}
        for key, area in self.areas.items():
            area.add_class(f"wb-prompt-{key}")
        super().__init__([W.HTML(html("<b>{}</b>", title)), *self.areas.values()], **kwargs)

    def overrides(self) -> dict[str, Any]:
        return overrides({k: a.value for k, a in self.areas.items()})


class PromptLab(W.VBox):
    """Variant A | variant B editors, one Run button, two progress bars, a comparison."""

    def __init__(self, base_spec: Callable[[], RunSpec], execute: Execute, *,
                 home: HomeLoop | None = None, **kwargs: Any) -> None:
        self.base_spec, self.execute = base_spec, execute
        self.home = home or HomeLoop()
        self.a, self.b = VariantEditor("Variant A"), VariantEditor("Variant B")
        self.progress_a, self.progress_b = ProgressView(), ProgressView()
        self.sinks = (WidgetSink(self._render_a, schedule=self.home.call_later),
                      WidgetSink(self._render_b, schedule=self.home.call_later))
        self.run_button = W.Button(description="Run A vs B", icon="play",
                                   button_style="primary")
        self.run_button.add_class("wb-lab-run-button")
        self.table = W.HTML("")
        self.table.add_class("wb-lab-compare")
        self.message = W.HTML("")
        self.message.add_class("wb-lab-message")
        self.task: asyncio.Task[Any] | None = None
        self.run_button.on_click(self.home.wrap(lambda _b: self.start()))
        for view in (self.progress_a, self.progress_b):
            view._on_stop = self.home.wrap(self.cancel)
        super().__init__([W.HBox([self.a, self.b]), self.run_button, self.message,
                          W.HBox([self.progress_a, self.progress_b]), self.table], **kwargs)
        self.add_class("wb-prompt-lab")

    def specs(self) -> tuple[RunSpec, RunSpec]:
        return variant_specs(self.base_spec(), self.a.overrides(), self.b.overrides())

    def start(self) -> asyncio.Task[Any] | None:
        """Schedule both variants on the running loop; returns the task (None on error)."""
        try:
            spec_a, spec_b = self.specs()
        except WorkbenchError as exc:
            self.message.value = html('<span style="color:#d62728">{}</span>', str(exc))
            return None
        self.message.value = ""
        self.cancel()
        self.task = self.home.loop.create_task(self._both(spec_a, spec_b))
        return self.task

    async def _both(self, spec_a: RunSpec, spec_b: RunSpec) -> list[Any]:
        return list(await asyncio.gather(self.execute(spec_a, [self.sinks[0]]),
                                         self.execute(spec_b, [self.sinks[1]])))

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def _render_a(self, state: RunState, stale: set[str], _d: list[Delta]) -> None:
        self._render(self.progress_a, state, stale)

    def _render_b(self, state: RunState, stale: set[str], _d: list[Delta]) -> None:
        self._render(self.progress_b, state, stale)

    def _render(self, view: ProgressView, state: RunState, stale: set[str]) -> None:
        if "progress" in stale:
            view.update(state)
        if "scaling" in stale:
            self.table.value = comparison_html(self.sinks[0].state, self.sinks[1].state)

    def feed(self, events_a: list[Event], events_b: list[Event]) -> None:
        """Show two stored runs (replays) as A and B."""
        self.sinks[0].feed(events_a)
        self.sinks[1].feed(events_b)
