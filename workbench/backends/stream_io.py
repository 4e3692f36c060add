"""Reading a provider's stream: litellm's chunk iterator in our batch shape, and closing a
stream we stop reading. Split out of :mod:`litellm_adapter` (which stays about calls)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


def one_by_one(resp: Any) -> Callable[[], Awaitable[list[Any] | None]]:
    """litellm's stream in :meth:`SSEStream.next_batch`'s shape: one chunk per batch."""
    iterator = resp.__aiter__()

    async def next_batch() -> list[Any] | None:
        try:
            return [await iterator.__anext__()]
        except StopAsyncIteration:
            return None

    return next_batch


async def close_stream(resp: Any) -> None:
    """Release the HTTP connection of a stream we stop reading (timeouts, errors)."""
    closer = getattr(resp, "aclose", None)
    if closer is None:
        return
    try:
        async with asyncio.timeout(2.0):
            await closer()
    except Exception:  # best effort: the connection is dropped either way
        pass
