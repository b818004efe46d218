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


# Importing every module of contracts/events registers its topics and event types.
def _register_all_events() -> None:
    import importlib
    import pkgutil

    from contracts import events

    for module in sorted(pkgutil.iter_modules(events.__path__), key=lambda m: m.name):
        importlib.import_module(f"contracts.events.{module.name}")


_register_all_events()
