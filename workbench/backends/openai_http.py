"""A lean streaming transport for OpenAI-compatible servers (llama.cpp, vLLM, SGLang, and any
``/v1/chat/completions`` endpoint), used instead of litellm where litellm adds nothing.

Why it exists (measured, ``bench/orchestration.py``, 2-core machine): litellm spends about
17 ms of CPU per streamed call building pydantic objects for every chunk and pricing each
stream, so 1,600 self-consistency paths against a 200 ms server took 31 s of client time
where the network allows 5 s. This transport parses the server-sent events into plain dicts
(about 0.5 ms per call) and leaves everything else to the adapter: the same request keywords
go in, the same retry policy, clocks, usage split and key scrubbing apply, and errors carry
the HTTP status and headers the retry policy reads (``status_code``, ``Retry-After``).

litellm stays the route for every other provider (Anthropic, Gemini, Bedrock, ...), for
Router pools, and wherever ``ModelConfig.transport = "litellm"`` asks for it.

Nothing here imports litellm; this module and the adapter are the only ones that open HTTP
connections to models.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlparse

import aiohttp

HTTP_PROVIDERS = frozenset({"openai", "hosted_vllm"})
"""litellm provider prefixes that mean "an OpenAI-compatible server at ``api_base``"."""

_NOT_BODY = frozenset({"model", "api_base", "api_key", "max_retries", "num_retries",
                       "drop_params", "timeout", "extra_headers", "extra_body"})
_ERROR_BODY_LIMIT = 64 * 1024
_DRAIN_S = 0.05
"""How long a finished stream may take to deliver the end of its body before its
connection is dropped instead of reused."""


class APIStatusError(Exception):
    """The server answered with an HTTP error status. The class name and ``status_code``
    are what :mod:`workbench.backends.retry` classifies (429/5xx retried, 4xx not)."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str]) -> None:
        self.status_code = status
        self.headers = dict(headers)
        super().__init__(f"HTTP {status}: {message}")


class BadRequestError(APIStatusError):
    """400: the server rejected the request (not retried)."""


class AuthenticationError(APIStatusError):
    """401: the API key was rejected."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this model."""


class NotFoundError(APIStatusError):
    """404: wrong model name or ``api_base``."""


class RateLimitError(APIStatusError):
    """429: slow down (honours ``Retry-After``)."""


class InternalServerError(APIStatusError):
    """5xx: a server fault worth another attempt."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 429: RateLimitError}


class APIConnectionError(ConnectionError):
    """No HTTP response: refused, reset or unreachable before the server answered."""


class MidStreamError(Exception):
    """The stream broke after it started: a dropped connection, a chunk that is not JSON,
    an error event from the server, or an end without ``[DONE]`` or a finish reason."""


def uses_http(litellm_model: str, api_base: str | None) -> bool:
    """True where this transport can stand in for litellm: an OpenAI-compatible provider
    prefix (``openai/``, ``hosted_vllm/``) with an explicit ``api_base``."""
    prefix, slash, _ = litellm_model.partition("/")
    return bool(api_base and slash) and prefix in HTTP_PROVIDERS


def request_body(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for ``/chat/completions`` from the adapter's litellm-style keywords:
    the provider prefix leaves the model name, litellm's own switches are dropped and
    ``extra_body`` is merged in (as the openai client does)."""
    body = {k: v for k, v in kwargs.items() if k not in _NOT_BODY and v is not None}
    body["model"] = str(kwargs["model"]).split("/", 1)[1]
    body.update(kwargs.get("extra_body") or {})
    return body


class HTTPTransport:
    """``complete(**litellm_kwargs)`` -> an async iterator of chunk dicts, like
    ``litellm.acompletion(stream=True)`` but without building objects per chunk. Every
    transport shares one connection pool per event loop (see :func:`_session`)."""

    async def complete(self, **kwargs: Any) -> SSEStream:
        """Send one streamed chat completion; raise on an HTTP error status."""
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        key = kwargs.get("api_key")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        headers.update(kwargs.get("extra_headers") or {})
        url = str(kwargs["api_base"]).rstrip("/") + "/chat/completions"
        timeout = kwargs.get("timeout")
        session = await _session()
        try:
            resp = await session.post(
                url, data=json.dumps(request_body(kwargs)).encode(), headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout) if timeout else None)
        except aiohttp.ClientError as exc:
            where = urlparse(url)  # host and port only: a netloc may carry user:password@
            raise APIConnectionError(
                f"cannot reach {where.hostname}:{where.port or ''}: {exc}") from None
        if resp.status >= 400:
            raise await _status_error(resp)
        return SSEStream(resp)


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                  tuple[aiohttp.ClientSession, AsyncIterator[None]]] = (
    weakref.WeakKeyDictionary())


async def _session() -> aiohttp.ClientSession:
    """The running loop's connection pool (a session binds to its loop), shared by every
    backend so a notebook reuses warm connections across runs. It is closed when the loop
    shuts down its async generators (``asyncio.run`` does), by a parked generator."""
    loop = asyncio.get_running_loop()
    found = _POOLS.get(loop)
    if found is not None and not found[0].closed:
        return found[0]
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None),
        timeout=aiohttp.ClientTimeout(total=None))
    keeper = _close_at_shutdown(session)
    await keeper.__anext__()
    _POOLS[loop] = (session, keeper)
    return session


async def _close_at_shutdown(session: aiohttp.ClientSession) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await session.close()


async def _status_error(resp: aiohttp.ClientResponse) -> APIStatusError:
    """The error for a non-2xx answer, with the server's own message when it sent one."""
    try:
        raw = await resp.content.read(_ERROR_BODY_LIMIT)
    except aiohttp.ClientError:
        raw = b""
    finally:
        resp.release()
    text = raw.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text)
        err = doc.get("error", doc) if isinstance(doc, dict) else doc
        message = str(err.get("message", err) if isinstance(err, dict) else err)
    except ValueError:
        message = text[:500] or (resp.reason or "")
    cls = _BY_STATUS.get(resp.status, InternalServerError if resp.status >= 500
                         else APIStatusError)
    return cls(resp.status, message, resp.headers)


class SSEStream:
    """The chunks of one streamed response, parsed from server-sent events as they arrive.

    A plain JSON body (a server that ignored ``stream``) becomes one chunk per choice with
    the message as its delta. ``aclose`` returns the connection to the pool, or drops it
    if the body was left unread.
    """

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self._buf = b""
        self._ready: deque[dict[str, Any]] = deque()
        self._done = False
        self._finished = False  # a choice carried a finish_reason
        self._json = "json" in (resp.content_type or "")
        self._error: MidStreamError | None = None  # raised once the good chunks are read

    def __aiter__(self) -> SSEStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if not await self._wait():
            raise StopAsyncIteration
        return self._ready.popleft()

    async def next_batch(self) -> list[dict[str, Any]] | None:
        """Every chunk that has arrived (at least one), or None at the end. The adapter
        re-arms its clocks once per batch instead of once per token."""
        if not await self._wait():
            return None
        batch = list(self._ready)
        self._ready.clear()
        return batch

    async def _wait(self) -> bool:
        """Read until a chunk is ready (True) or the stream ended (False); a fault is
        raised only after the chunks that came before it were handed out."""
        while not self._ready:
            if self._error is not None:
                raise self._error
            if self._done:
                return False
            try:
                await self._fill()
            except MidStreamError as exc:
                self._error, self._done = exc, True
        return True

    async def aclose(self) -> None:
        """Hand a fully read connection back to the pool (the next request skips the TCP
        handshake); drop one left mid-body (timeouts, faults, cancellation)."""
        finished, self._done = self._done and self._error is None, True
        content = self._resp.content
        if finished and not content.at_eof():  # [DONE] came; the body's end is in flight
            try:
                async with asyncio.timeout(_DRAIN_S):
                    await content.read()
            except (TimeoutError, aiohttp.ClientError):
                pass
        if finished and content.at_eof():
            self._resp.release()
        else:
            self._resp.close()

    async def _fill(self) -> None:
        try:
            data = await self._resp.content.readany()
        except aiohttp.ClientError as exc:
            raise MidStreamError(f"connection lost mid-stream: {exc!r}") from None
        if not data:
            self._end()
            return
        if self._json:
            self._buf += data
            return
        buf = self._buf + data
        if b"\r" in buf:  # CRLF or CR line ends; a CR at the end may be half of a CRLF
            held = buf.endswith(b"\r")
            buf = buf[:-1] if held else buf
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            buf += b"\r" if held else b""
        if b"\n\n" not in buf:
            self._buf = buf
            return
        *events, self._buf = buf.split(b"\n\n")
        self._decode([p for p in map(_payload, events) if p is not None])

    def _decode(self, payloads: list[bytes]) -> None:
        """Parse the events of one read with one ``json.loads`` (a read holds many: this
        is most of the client's CPU per token); chunks before a bad one are kept."""
        for k, p in enumerate(payloads):
            if p.strip() == b"[DONE]":
                payloads, self._done = payloads[:k], True
                break
        if not payloads:
            return
        try:
            chunks = json.loads(b"[" + b",".join(payloads) + b"]")
        except ValueError:
            chunks = None
        if chunks is None or len(chunks) != len(payloads):
            chunks = []
            for p in payloads:
                try:
                    chunks.append(json.loads(p))
                except ValueError:
                    self._take(chunks)
                    raise MidStreamError(
                        f"the server sent a chunk that is not JSON: {p[:200]!r}") from None
        self._take(chunks)

    def _take(self, chunks: list[Any]) -> None:
        for chunk in chunks:
            if not isinstance(chunk, dict):
                raise MidStreamError(f"the server sent a chunk that is not an object: "
                                     f"{str(chunk)[:200]!r}")
            if "error" in chunk and not chunk.get("choices"):
                err = chunk["error"]
                message = err.get("message", err) if isinstance(err, dict) else err
                raise MidStreamError(f"the server reported an error mid-stream: {message}")
            for c in chunk.get("choices") or ():
                if c.get("finish_reason"):
                    self._finished = True
            self._ready.append(chunk)

    def _end(self) -> None:
        """End of body: a last event without its blank line, then insist it ended well."""
        if self._json:
            self._whole_body()
            return
        last = _payload(self._buf.rstrip(b"\r\n"))
        self._buf = b""
        if last is not None and not self._done:
            self._decode([last])
        if not self._done and not self._finished:
            raise MidStreamError("the stream ended without [DONE] or a finish reason")
        self._done = True

    def _whole_body(self) -> None:
        self._done = True
        try:
            doc = json.loads(self._buf)
        except ValueError:
            raise MidStreamError(f"the server sent a body that is not JSON: "
                                 f"{self._buf[:200]!r}") from None
        for c in doc.get("choices") or ():
            delta = dict(c.get("message") or {})
            self._ready.append({"choices": [{"index": c.get("index", 0), "delta": delta,
                                             "logprobs": c.get("logprobs"),
                                             "finish_reason": c.get("finish_reason")}]})
        if doc.get("usage"):
            self._ready.append({"choices": [], "usage": doc["usage"]})


def _payload(event: bytes) -> bytes | None:
    """The data of one server-sent event (its ``data:`` lines joined), or None if it has
    none: comments (``:``), ``event:``, ``id:`` and ``retry:`` carry nothing we use."""
    if event.startswith(b"data: ") and b"\n" not in event:
        return event[6:]  # the usual shape, one data line
    data = [line[6:] if line[5:6] == b" " else line[5:]
            for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(data) if data else None
