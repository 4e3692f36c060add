"""What a technique is: an async callable from a context to an :class:`Outcome`.

Techniques are small objects built by factories (``cot(budget=256)``,
``self_consistency(cot(), n=8)``) so they compose: any technique can be the ``inner`` of
self-consistency, refinement or best-of-N. They reach a model only through ``ctx``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from workbench.context import Ctx


@dataclass
class Outcome:
    """The result of running a technique once on one item."""

    answer: str | None
    text: str
    path_id: str | None
    index: int = 0
    correct: bool | None = None
    truncated: bool = False
    forced: bool = False
    tokens_out: int = 0
    logprob_mean: float | None = None
    score: float | None = None
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Technique:
    """Base class. Subclasses implement :meth:`__call__`; :meth:`sample` may be overridden
    when the technique can draw several outcomes in one request (native ``n``)."""

    name: str = "technique"

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        raise NotImplementedError

    async def sample(self, ctx: Ctx, n: int, index: int = 0) -> list[Outcome]:
        """``n`` independent outcomes with path indices ``index .. index+n-1``."""
        return list(await asyncio.gather(*(self(ctx, index + i) for i in range(n))))

    def describe(self) -> dict[str, Any]:
        """The technique's parameters, stored with the run."""
        return {"technique": self.name}
