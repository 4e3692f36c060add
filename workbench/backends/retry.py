"""Our own retry policy for model calls (litellm's and the openai client's are switched off).

Why our own: the openai client silently retries twice (one 429 becomes three requests),
litellm's ``timeout`` is per attempt, and neither knows whether text already streamed to
the user. Here one frozen :class:`RetryPolicy` says how many HTTP attempts a generation may
make, how long to wait between them, and four clocks that bound its time:

* ``deadline_s``: total wall time across all attempts and back-off sleeps;
* ``attempt_timeout_s``: one attempt from request to last chunk;
* ``first_token_timeout_s``: request to first text (a server that accepts and hangs);
* ``stall_timeout_s``: longest silence between two chunks once text flows.

Only faults that happen *before any text arrived* are retried (see :func:`is_retryable`);
the adapter keeps partial text rather than re-asking and duplicating what streamed.
:func:`scrub` removes API keys from any error text before it is stored or shown.

This module deliberately does not import litellm: it classifies errors by their HTTP
status and type name, so it stays cheap to import and easy to test.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Any

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
"""HTTP statuses worth another attempt: timeouts, rate limits, overload, server faults."""

_RETRYABLE_NAMES = ("timeout", "connection", "serviceunavailable", "internalserver",
                    "ratelimit", "badgateway", "midstream", "remoteprotocol", "readerror")
_FATAL_NAMES = ("authentication", "permissiondenied", "notfound", "badrequest",
                "unprocessable", "contextwindow", "contentpolicy", "unsupportedparams",
                "budgetexceeded")


class StreamTimeout(TimeoutError):
    """One of our clocks ran out (first token, stall, attempt or total deadline)."""

    def __init__(self, which: str, seconds: float, detail: str = "") -> None:
        self.which = which
        self.seconds = seconds
        super().__init__(f"{which} timeout after {seconds:.3g} s{detail}")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Defaults suit a remote API; tests use much shorter clocks."""

    max_attempts: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    jitter: float = 0.25  # +/- this fraction of each back-off, so callers desynchronise
    max_retry_after_s: float = 60.0  # a longer Retry-After gives up instead of sleeping
    deadline_s: float | None = 600.0
    attempt_timeout_s: float | None = 300.0
    first_token_timeout_s: float | None = 120.0
    stall_timeout_s: float | None = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")

    def next_delay(self, exc: BaseException, attempt: int, streamed: bool, clock: Clock,
                   now: float) -> float | None:
        """Seconds to sleep before another attempt after ``exc``, or None to give up:
        text already streamed, attempts used up, a fault retrying cannot fix, a
        Retry-After longer than we accept, or a back-off that would pass the deadline."""
        if streamed or attempt >= self.max_attempts or not is_retryable(exc):
            return None
        if isinstance(exc, StreamTimeout) and exc.which == "total deadline":
            return None
        retry_after = retry_after_of(exc)
        if retry_after is not None and retry_after > self.max_retry_after_s:
            return None
        delay = self.backoff_s(attempt, retry_after)
        if clock.deadline_at is not None and now + delay >= clock.deadline_at:
            return None
        return delay

    def backoff_s(self, attempt: int, retry_after_s: float | None = None,
                  rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        A server's Retry-After wins over the exponential schedule (it knows its own
        rate-limit window); we add a little jitter on top of neither to honour it exactly.
        """
        if retry_after_s is not None:
            return max(0.0, retry_after_s)
        base = min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))
        r = rng.random() if rng is not None else random.random()
        return max(0.0, base * (1.0 + self.jitter * (2.0 * r - 1.0)))


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries (litellm and openai errors set ``status_code``)."""
    for name in ("status_code", "status"):
        value = getattr(exc, name, None)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def is_retryable(exc: BaseException) -> bool:
    """True for faults another attempt may fix: 429, 5xx, timeouts, dropped connections.

    User errors (bad key, unknown model, bad request, context too long) are never retried.
    The caller must additionally check that no text has streamed yet.
    """
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    names = " ".join(c.__name__.lower() for c in type(exc).__mro__)
    if any(n in names for n in _FATAL_NAMES):
        return False
    status = status_of(exc)
    if status is not None:
        return status in RETRYABLE_STATUS or status >= 500
    return any(n in names for n in _RETRYABLE_NAMES)


_USER_ERRORS = (("authentication", "check the API key in the environment"),
                ("permissiondenied", "check that the key may use this model"),
                ("notfound", "check the model name and api_base"),
                ("unsupportedparams", "unsupported"))


def user_error_advice(exc: BaseException) -> str | None:
    """What the user should do, for errors that are their own (bad key, unknown model,
    unsupported parameter); None for provider faults. "unsupported" marks a parameter
    the provider's litellm route rejects (the caller may fan out instead of ``n``)."""
    names = " ".join(c.__name__.lower() for c in type(exc).__mro__)
    return next((advice for kind, advice in _USER_ERRORS if kind in names), None)


def retry_after_of(exc: BaseException, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` / ``retry-after-ms``), if any."""
    headers = _headers_of(exc)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _headers_of(exc: BaseException) -> dict[str, str]:
    found: dict[str, str] = {}
    sources: list[Any] = [getattr(getattr(exc, "response", None), "headers", None),
                          getattr(exc, "litellm_response_headers", None),
                          getattr(exc, "headers", None)]
    for src in sources:
        if src is None:
            continue
        try:
            items = list(src.items())
        except (AttributeError, TypeError):
            continue
        for k, v in items:
            found.setdefault(str(k).lower(), str(v))
    return found


_KEY_PATTERNS = [
    (re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_*.\-]{6,}"), r"\1-***"),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{10,}"), "***"),
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1***"),
    (re.compile(r"(?i)([?&](?:key|api[_-]?key)=)[^&\s'\"]+"), r"\1***"),
    (re.compile(r"(?i)((?:api[_-]?key|x-api-key|authorization)['\"]?\s*[:=]\s*['\"]?)"
                r"[^'\"\s,}]+"), r"\1***"),
]
_SECRET_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.I)


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove API keys from text: the known secrets, any secret-looking environment value,
    and common key shapes (``sk-…``, ``Bearer …``, ``?key=…``)."""
    env = tuple(v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 8)
    for s in sorted({*secrets, *env}, key=len, reverse=True):
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    for pattern, repl in _KEY_PATTERNS:
        text = pattern.sub(repl, text)
    return text


class Clock:
    """The four clocks of one generation, armed as a single ``asyncio.timeout`` that is
    rescheduled before every await (cheaper than a task per chunk, and we know which
    clock fired)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.first_start: float | None = None
        self.deadline_at: float | None = None
        self.attempt_start = 0.0

    def start_attempt(self, now: float) -> None:
        """Mark an attempt's start; the total deadline runs from the first one."""
        if self.first_start is None:
            self.first_start = now
            if self.policy.deadline_s is not None:
                self.deadline_at = now + self.policy.deadline_s
        self.attempt_start = now

    def arm(self, cm: asyncio.Timeout, now: float, streamed: bool) -> tuple[str, float]:
        """Reschedule ``cm`` to the earliest clock; return (its name, its length in s)."""
        p = self.policy
        cands: list[tuple[float, str, float]] = []
        if self.deadline_at is not None and p.deadline_s is not None:
            cands.append((self.deadline_at, "total deadline", p.deadline_s))
        if p.attempt_timeout_s is not None:
            cands.append((self.attempt_start + p.attempt_timeout_s, "attempt",
                          p.attempt_timeout_s))
        if not streamed and p.first_token_timeout_s is not None:
            cands.append((self.attempt_start + p.first_token_timeout_s, "first-token",
                          p.first_token_timeout_s))
        if streamed and p.stall_timeout_s is not None:
            cands.append((now + p.stall_timeout_s, "stall", p.stall_timeout_s))
        if not cands:
            cm.reschedule(None)
            return ("", 0.0)
        when, which, seconds = min(cands)
        cm.reschedule(when)
        return (which, seconds)
