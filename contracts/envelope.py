"""The one envelope every Frontdesk event travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

ENVELOPE_VERSION: Literal[1] = 1

Role = Literal[
    "customer", "agent", "specialist", "supervisor", "reviewer", "admin", "service", "system"
]


class TraceContext(BaseModel):
    """W3C trace context of the request that produced the event (https://www.w3.org/TR/trace-context/)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    traceparent: str = Field(pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
    tracestate: str | None = None


class Actor(BaseModel):
    """Who caused the event: a person (by id and role) or a service acting on its own."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    role: Role


class PersonalDataRef(BaseModel):
    """Which fields of the payload are encrypted, with whose key (crypto-shredding).

    Each listed field holds ``pd1:<base64url(nonce | ciphertext | tag)>``: AES-256-GCM under the
    data subject's key of ``key_version``, with the event id and the field path as associated
    data. Once the subject's key is erased the values can never be read again; every other
    field stays readable."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    subject_id: str = Field(min_length=3, max_length=300, examples=["account:acct-42"])
    key_version: int = Field(ge=1)
    algorithm: Literal["AES-256-GCM"] = "AES-256-GCM"
    fields: list[str] = Field(min_length=1, description="Dotted paths of encrypted fields.")


class Envelope(BaseModel):
    """Metadata around every event payload.

    Serialized as the JSON value of the Kafka record; the record key is ``stream_id`` so that
    every event of one aggregate lands on one partition, in order.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    envelope_version: Literal[1] = ENVELOPE_VERSION
    event_id: UUID = Field(description="Unique id of this event; consumers de-duplicate on it.")
    event_type: str = Field(
        pattern=r"^[a-z]+\.[a-z_]+$", description="Stable wire name, e.g. checkin.ticket_issued."
    )
    schema_version: int = Field(ge=1, description="Version of the payload schema.")
    occurred_at: AwareDatetime = Field(description="When the fact happened (UTC).")
    stream_type: str = Field(description="Aggregate type, e.g. ticket, case.")
    stream_id: str = Field(min_length=1, description="Aggregate id; the Kafka record key.")
    stream_version: int = Field(ge=1, description="Position of the event in its aggregate.")
    correlation_id: UUID = Field(description="Ties together everything caused by one request.")
    causation_id: UUID | None = Field(
        default=None, description="The event (or request) that directly caused this one."
    )
    producer: str = Field(description="The service that produced the event.")
    actor: Actor | None = Field(default=None, description="Who did it.")
    trace: TraceContext | None = Field(default=None, description="W3C trace context.")
    personal_data: PersonalDataRef | None = Field(
        default=None, description="Set when personal fields of the payload are encrypted."
    )
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
