"""Scripted steps and a scripted scorer with known scores, for the search tests.

Every step's text names its path index (``s<idx>``), so a score table keyed by index
says exactly which beams a correct search keeps. Steps at depth ``final_at`` state an
answer (``The answer is <idx>``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.context import Ctx, Path


def depth(req: GenRequest) -> int:
    last = req.messages[-1]
    if last["role"] != "assistant":
        return 0
    return len([s for s in last["content"].split("\n\n") if s])


def step_script(final_at: int | None = 2):
    def script(req: GenRequest, choice: int) -> str:
        content = req.messages[-1]["content"]
        if "run out of reasoning budget" in content:
            return "The answer is 99"
        k = req.sample_index + choice
        if final_at is not None and depth(req) >= final_at:
            return f"s{k} so The answer is {k}"
        return f"s{k} thinking\n\nnever reached"
    return script


def backend(final_at: int | None = 2) -> ScriptedBackend:
    return ScriptedBackend(step_script(final_at))


class TableScorer:
    """Score of a chain = table[index of its last step] (None where absent)."""

    name = "table"

    def __init__(self, table: Mapping[int, float | None]) -> None:
        self.table = dict(table)
        self.seen: list[tuple[str, ...]] = []

    def label(self, ctx: Ctx) -> str:
        return "table"

    async def score(self, ctx: Ctx, question: str, steps: Sequence[str], step: Path
                    ) -> float | None:
        self.seen.append(tuple(steps))
        return self.table.get(step.index)
