"""Errors the application layer raises; the HTTP layer turns each into problem+json."""

from __future__ import annotations


class FrontdeskError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RuleViolation(FrontdeskError):
    """A command that the aggregate's current state does not allow (an illegal transition)."""

    status = 409
    title = "Not allowed in the current state"

    def __init__(self, detail: str, rule: str | None = None) -> None:
        super().__init__(detail)
        self.rule = rule  # the rule's stable name, for a frontend (problem+json ``rule``)


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
