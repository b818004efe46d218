"""Frontdesk's public event contracts: one envelope, versioned payloads, the topic registry.

This package is the only code every service imports besides the shared runtime. Nothing here
does I/O: it describes what travels on Kafka and how to read every version of it.
"""

from contracts.base import EventPayload, personal_fields
from contracts.envelope import Actor, Envelope, PersonalDataRef, TraceContext
from contracts.registry import (
    REGISTRY,
    EventRegistry,
    UnknownEventType,
    decode_payload,
)
from contracts.topics import TOPICS, TopicSpec, dead_letter_topic

__all__ = [
    "REGISTRY",
    "TOPICS",
    "Actor",
    "Envelope",
    "EventPayload",
    "EventRegistry",
    "PersonalDataRef",
    "TopicSpec",
    "TraceContext",
    "UnknownEventType",
    "dead_letter_topic",
    "decode_payload",
    "personal_fields",
]

# Importing the event modules registers every event type with REGISTRY.
from contracts.events import cases, checkin, notifications, privacy, verification  # noqa: F401
