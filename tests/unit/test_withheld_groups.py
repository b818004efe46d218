"""A consumer group that says it reads no personal data (``ConsumerGroup.reads_personal_data``
False) gets its sealed values withheld: its handlers must do exactly the same with them as
without them. Each such group's handler of each sealed event is run twice on the event's
committed sample, with its personal values and withheld (``None``), against a connection that
records every call: the calls (statements and arguments) must be the same. A handler that
starts reading one of those values fails here, before its read model loses it."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import REGISTRY, Envelope, EventPayload
from contracts.fields import STORED
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.platform import definition_of
from runtime.privacy import _personal_paths, _set
from runtime.service import ServiceRuntime
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"
SERVICES = ("checkin", "cases", "verification", "notifications")


class Recording:
    """A connection that answers nothing and writes down what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, (*args, *sorted(kwargs.items()))))
            return [] if name == "fetch" else None

        return call


def _withholding_groups() -> list[ConsumerGroup]:
    groups = []
    for service in SERVICES:
        runtime = ServiceRuntime(definition_of(service), ServiceSettings())
        groups += [group for group in runtime.groups if not group.reads_personal_data]
    return groups


CASES = [
    pytest.param(group, payload_class, id=f"{group.name}:{payload_class.event_type}")
    for group in _withholding_groups()
    for payload_class in group.handlers
    if _personal_paths(payload_class)
]


def test_some_groups_withhold() -> None:
    assert CASES, "no group withholds personal data: this test checks nothing"


async def _run(group: ConsumerGroup, payload: EventPayload) -> tuple[object, ...]:
    envelope = Envelope(
        event_id=uuid.UUID(int=1),
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=datetime(2025, 3, 14, 1, 30, tzinfo=UTC),
        stream_type="sample",
        stream_id="sample-1",
        stream_version=1,
        correlation_id=uuid.UUID(int=2),
        producer="tests",
        payload=payload.model_dump(mode="json"),
    )
    conn = Recording()
    try:
        await group.handlers[type(payload)](conn, ReceivedEvent(envelope, payload, "t", 0, 0))  # type: ignore[arg-type]
    except Exception as error:  # the same failure either way is the same behaviour
        return (*conn.calls, type(error).__name__)
    return tuple(conn.calls)


@pytest.mark.parametrize(("group", "payload_class"), CASES)
async def test_a_withholding_groups_handler_does_the_same_without_the_personal_values(
    group: ConsumerGroup, payload_class: type[EventPayload]
) -> None:
    version = payload_class.schema_version
    sample = json.loads((SAMPLES / f"{payload_class.event_type}.v{version}.json").read_text())
    withheld = copy.deepcopy(sample)
    for path in _personal_paths(payload_class):
        _set(withheld, path, None)
    validator = REGISTRY.definition(payload_class.event_type).current.__pydantic_validator__
    full = validator.validate_python(sample, context=STORED)
    assert any(
        getattr(full, path.split(".")[0]) is not None for path in _personal_paths(payload_class)
    ), "the sample carries no personal value: nothing is compared"
    without = validator.validate_python(withheld, context=STORED)
    await _run(group, without)  # what a process learns on its first call (a stream known to
    # have no snapshot, say) is learnt before the two calls compared
    assert await _run(group, full) == await _run(group, without)
