"""Registry of event types and versions, with the upcasters that read every old version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from contracts.base import EventPayload, personal_fields
from contracts.envelope import Envelope
from contracts.fields import STORED
from contracts.topics import TOPICS, TopicSpec

P = TypeVar("P", bound=type[EventPayload])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """An event type or version this code base has never heard of."""


@dataclass
class EventDefinition:
    event_type: str
    versions: dict[int, type[EventPayload]] = field(default_factory=dict)
    upcasters: dict[int, Upcaster] = field(default_factory=dict)
    topic: TopicSpec | None = None

    @property
    def current_version(self) -> int:
        return max(self.versions)

    @property
    def current(self) -> type[EventPayload]:
        return self.versions[self.current_version]


class EventRegistry:
    def __init__(self) -> None:
        self._definitions: dict[str, EventDefinition] = {}

    def event(self, event_type: str, *, version: int, topic: TopicSpec) -> Callable[[P], P]:
        """Register a payload model as ``event_type`` at ``version`` on ``topic``."""
        if topic.name not in TOPICS:
            raise ValueError(f"{topic.name} is not in the topic registry")

        def register(model: P) -> P:
            definition = self._definitions.setdefault(event_type, EventDefinition(event_type))
            if version in definition.versions:
                raise ValueError(f"{event_type} v{version} registered twice")
            if definition.topic is not None and definition.topic != topic:
                raise ValueError(f"{event_type} moved topics between versions")
            model.event_type = event_type
            model.schema_version = version
            model.stream_type = topic.stream_type
            definition.versions[version] = model
            definition.topic = topic
            return model

        return register

    def upcaster(self, event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register the function that turns a v``from_version`` payload into the next version."""

        def register(function: Upcaster) -> Upcaster:
            definition = self._definitions.setdefault(event_type, EventDefinition(event_type))
            definition.upcasters[from_version] = function
            return function

        return register

    def definition(self, event_type: str) -> EventDefinition:
        try:
            return self._definitions[event_type]
        except KeyError:
            raise UnknownEventType(f"unknown event type {event_type!r}") from None

    def definitions(self) -> list[EventDefinition]:
        return [self._definitions[name] for name in sorted(self._definitions)]

    def topic_of(self, event_type: str) -> TopicSpec:
        topic = self.definition(event_type).topic
        assert topic is not None
        return topic

    def upcast(self, event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Bring a stored payload of any known version up to the current version."""
        definition = self.definition(event_type)
        if version not in definition.versions:
            raise UnknownEventType(f"{event_type} has no version {version}")
        while version < definition.current_version:
            step = definition.upcasters.get(version)
            if step is None:
                raise UnknownEventType(f"{event_type} has no upcaster from v{version}")
            payload = step(payload)
            version += 1
        return payload

    def decode(self, event_type: str, version: int, payload: dict[str, Any]) -> EventPayload:
        current = self.definition(event_type).current
        if version != current.schema_version:
            payload = self.upcast(event_type, version, payload)
        # history is read as written (contracts/fields.py): bounds are the writer's duty.
        # The validator itself, as model_validate calls it: a consumer or a rebuild decodes
        # every payload here, and model_validate's own wrapper cost as much as validating
        return cast(
            EventPayload, current.__pydantic_validator__.validate_python(payload, context=STORED)
        )

    def check_complete(self) -> list[str]:
        """Problems in the registry: a version without an upcaster to the next one, gaps."""
        problems = []
        for definition in self.definitions():
            expected = list(range(1, definition.current_version + 1))
            if sorted(definition.versions) != expected:
                problems.append(f"{definition.event_type}: versions {sorted(definition.versions)}")
            for version in expected[:-1]:
                if version not in definition.upcasters:
                    problems.append(f"{definition.event_type}: no upcaster from v{version}")
            for version, model in definition.versions.items():
                problems += _personal_data_problems(f"{definition.event_type} v{version}", model)
        return problems


def _personal_data_problems(name: str, model: type[EventPayload]) -> list[str]:
    """A payload with personal fields must say whose they are, and erasing them (None) must
    leave a valid payload."""
    paths = personal_fields(model)
    if not paths:
        return []
    problems = []
    if model.data_subject is None:
        problems.append(f"{name}: personal fields {paths} but no data_subject")
    for path in paths:
        info = _field_info(model, path)
        if info is None or not (info.annotation is None or _nullable(info.annotation)):
            problems.append(f"{name}: personal field {path} must be optional (erasable)")
    return problems


def _field_info(model: type[BaseModel], path: str) -> FieldInfo | None:
    head, _, rest = path.partition(".")
    info = model.model_fields.get(head)
    if info is None or not rest:
        return info
    for candidate in getattr(info.annotation, "__args__", None) or (info.annotation,):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return _field_info(candidate, rest)
    return None


def _nullable(annotation: Any) -> bool:
    return type(None) in (getattr(annotation, "__args__", None) or ())


REGISTRY = EventRegistry()


def decode_payload(envelope: Envelope) -> EventPayload:
    """The envelope's payload as the current version of its model, whatever version it carries."""
    return REGISTRY.decode(envelope.event_type, envelope.schema_version, envelope.payload)
