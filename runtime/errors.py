"""Errors the application layer raises; the HTTP layer turns each into problem+json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class FrontdeskError(Exception):
    """``fields``: members the problem+json answer carries beside ``detail``, for a frontend
    (the way forward a refusal offers, as data: a next opening, alternatives as codes)."""

    status = 400
    title = "Bad request"
    # a stable, machine-readable name of the refusal a client may act on (problem+json
    # ``code``); None: the status and title say enough
    code: str | None = None

    def __init__(self, detail: str, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields: dict[str, Any] = dict(fields or {})


class RuleViolation(FrontdeskError):
    """A command that the aggregate's current state does not allow (an illegal transition)."""

    status = 409
    title = "Not allowed in the current state"


class ConcurrencyConflict(FrontdeskError):
    """Another command changed the same aggregate first; nothing was written."""

    status = 409
    title = "Concurrent change"


class NotFound(FrontdeskError):
    status = 404
    title = "Not found"


class IdempotencyKeyReused(FrontdeskError):
    status = 422
    title = "Idempotency-Key reused with a different request"


class Unavailable(FrontdeskError):
    """Something this answer needs (a peer service, the database) cannot be reached now:
    nothing was changed; ``Retry-After`` says when to try again."""

    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str, retry_after_seconds: int = 5) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_seconds)}
