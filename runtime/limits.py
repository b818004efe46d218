"""Rate limits, written once: token buckets per principal and per client address.

A route opts in with a dependency: ``dependencies=[RateLimited("codes")]`` (or as a
parameter). The named limit comes from ``FRONTDESK_RATE_LIMITS`` (``name=requests/seconds``,
comma-separated); a caller over it gets 429 problem+json with ``Retry-After``. Each limit
applies twice: to the authenticated principal (its ``sub``), and, ``address_multiplier`` times
as generous, to the client address (many customers can share one address behind a carrier's
NAT). The buckets live in the process: with N replicas behind a balancer a caller gets up to
N times the limit (docs/operations.md). The client address is the ASGI peer: behind a proxy,
run uvicorn with ``--proxy-headers`` and ``--forwarded-allow-ips`` of that proxy only.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from runtime.auth import Principal, current_principal
from runtime.errors import FrontdeskError


class TooManyRequests(FrontdeskError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        requests, _, seconds = text.partition("/")
        rate = cls(int(requests), float(seconds))
        if rate.requests < 1 or rate.seconds <= 0:
            raise ValueError(f"a rate is requests/seconds, both positive: {text!r}")
        return rate


def parse_limits(text: str) -> dict[str, Rate]:
    """``customer=60/60,codes=10/300`` → {name: Rate}."""
    limits = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, rate = item.partition("=")
        limits[name.strip()] = Rate.parse(rate.strip())
    return limits


class TokenBuckets:
    """Token buckets by key, refilled continuously; the least recently used keys are
    forgotten beyond ``max_keys`` (a forgotten key starts again with a full bucket)."""

    def __init__(
        self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def take(self, key: tuple[str, str], rate: Rate) -> float:
        """Take one token: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        per_second = rate.requests / rate.seconds
        tokens, updated = self._buckets.pop(key, (float(rate.requests), now))
        tokens = min(float(rate.requests), tokens + (now - updated) * per_second)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / per_second
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


class RateLimiter:
    def __init__(
        self,
        limits: dict[str, Rate],
        *,
        address_multiplier: int = 10,
        buckets: TokenBuckets | None = None,
    ) -> None:
        self.limits = limits
        self.address_multiplier = address_multiplier
        self.buckets = buckets or TokenBuckets()

    @classmethod
    def of(cls, settings: Any) -> RateLimiter:
        return cls(parse_limits(getattr(settings, "rate_limits", "") or ""))

    def check(self, name: str, principal: str | None, address: str) -> None:
        rate = self.limits.get(name)
        if rate is None:
            return  # a limit not configured is no limit
        per_address = Rate(rate.requests * self.address_multiplier, rate.seconds)
        waits = [self.buckets.take((name, f"addr:{address}"), per_address)]
        if principal is not None:
            waits.append(self.buckets.take((name, f"sub:{principal}"), rate))
        wait = max(waits)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"rate limit {name!r} ({rate.requests} per {rate.seconds:g} s) reached; "
                f"try again in {seconds} s",
                seconds,
            )


def limiter_of(request: Request) -> RateLimiter:
    """The application's limiter, built once from the service's settings."""
    state = request.app.state
    limiter = getattr(state, "rate_limiter", None)
    if limiter is None:
        runtime = getattr(state, "runtime", None)
        limiter = RateLimiter.of(getattr(runtime, "settings", None))
        state.rate_limiter = limiter
    return limiter  # type: ignore[no-any-return]


def RateLimited(name: str, *, customers_only: bool = False) -> Any:
    """A dependency applying the limit ``name`` to the caller (401 first when there is no
    valid token; FastAPI resolves the principal once per request). ``customers_only``: staff
    and services pass unlimited (a route both read, e.g. an agent console that polls)."""

    async def check(
        request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> None:
        if customers_only and principal.is_staff:
            return
        client = request.client
        limiter_of(request).check(name, principal.id, client.host if client else "unknown")

    check.rate_limit = name  # type: ignore[attr-defined]  # read by runtime.http (OpenAPI 429)
    return Depends(check)
