"""Who asked and which flow a change belongs to: stamped on every event a command appends,
carried by durable timers to what they fire, restored by consumers for what they cause."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from contracts import Actor, Envelope, TraceContext
from runtime.telemetry import correlation_id_var, current_trace_carrier


@dataclass(frozen=True)
class CommandContext:
    """Who asked, and which flow this belongs to; stamped on every event the command appends."""

    actor: Actor | None
    correlation_id: UUID
    causation_id: UUID | None = None
    # the W3C trace context the command ran in, when it runs outside the request's own
    # (a timer fired later): the events it appends join that trace
    trace: TraceContext | None = None

    @classmethod
    def new(cls, actor: Actor | None, correlation_id: UUID | None = None) -> CommandContext:
        """A command from outside: it joins the current request's correlation id, if any."""
        if correlation_id is None:
            current = correlation_id_var.get()
            correlation_id = correlation_uuid(current) if current else uuid.uuid4()
        return cls(actor=actor, correlation_id=correlation_id)

    @classmethod
    def caused_by(cls, envelope: Envelope, service: str) -> CommandContext:
        """Context of a reaction to ``envelope``: same correlation, caused by that event."""
        return cls(
            actor=Actor(id=service, role="service"),
            correlation_id=envelope.correlation_id,
            causation_id=envelope.event_id,
        )

    @classmethod
    def of_service(cls, service: str, correlation_id: UUID | None = None) -> CommandContext:
        """A service acting on its own (a timer, a retention run) in the current flow, if any."""
        return cls.new(Actor(id=service, role="service"), correlation_id)

    # -- carried by durable timers ----------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        carrier = current_trace_carrier() if self.trace is None else self.trace.model_dump()
        return {
            "actor": self.actor.model_dump() if self.actor else None,
            "correlation_id": str(self.correlation_id),
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "trace": {k: v for k, v in carrier.items() if v} or None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CommandContext:
        trace = data.get("trace")
        return cls(
            actor=Actor.model_validate(data["actor"]) if data.get("actor") else None,
            correlation_id=UUID(data["correlation_id"]),
            causation_id=UUID(data["causation_id"]) if data.get("causation_id") else None,
            trace=TraceContext.model_validate(trace)
            if trace and trace.get("traceparent")
            else None,
        )


def correlation_uuid(value: str) -> UUID:
    """The correlation id events carry for a caller's token: the token itself when it is a
    UUID, else a UUID derived from it (the same token always gives the same id, so a flow can
    be followed by the token the caller chose: ``frontdesk trace <token>``)."""
    try:
        return UUID(value)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"frontdesk:correlation:{value}")
