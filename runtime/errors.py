"""Errors the application layer raises; the HTTP layer turns each into problem+json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class FrontdeskError(Exception):
    """An answer that is not a success, as problem+json: ``status``, ``title``, ``detail``,
    and ``members()`` beside them for a frontend — a stable ``code`` naming the refusal, and
    ``fields``: the way forward it offers, as data (a next opening, alternatives as codes)."""

    status = 400
    title = "Bad request"
    # a stable, machine-readable name of the refusal a client may act on (problem+json
    # ``code``); None: the status and title say enough
    code: str | None = None

    def __init__(self, detail: str, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields: dict[str, Any] = dict(fields or {})

    def members(self) -> dict[str, Any]:
        """What the problem+json answer carries besides type, title, status and detail."""
        named = {"code": self.code} if self.code is not None else {}
        return {**named, **self.fields}


class RuleViolation(FrontdeskError):
    """A command that the aggregate's current state does not allow (an illegal transition);
    ``rule``: the rule's stable name (problem+json ``rule``)."""

    status = 409
    title = "Not allowed in the current state"

    def __init__(
        self, detail: str, fields: Mapping[str, Any] | None = None, *, rule: str | None = None
    ) -> None:
        super().__init__(detail, fields)
        self.rule = rule

    def members(self) -> dict[str, Any]:
        named = {"rule": self.rule} if self.rule else {}
        return {**named, **super().members()}


class InvalidValue(FrontdeskError):
    """A value its request model accepts that a rule refuses on its own (a date beyond the
    horizon the rule allows from now): 422 naming the field, like a model's own refusal."""

    status = 422
    title = "Invalid request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"invalid: {field}: {message}")
        self.field = field
        self.message = message

    def members(self) -> dict[str, Any]:
        return {"errors": [{"field": self.field, "message": self.message, "type": "value_error"}]}


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

    def __init__(
        self,
        detail: str,
        retry_after_seconds: int = 5,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, fields)
        self.headers = {"Retry-After": str(retry_after_seconds)}
