"""Every event check-in publishes is projected (the rebuild relies on it) and documented."""

from __future__ import annotations

import pytest

from contracts import REGISTRY, TOPICS
from contracts.catalog import EVENTS_DOC
from services.checkin.projections import EVENT_TYPES as APPLY
from services.checkin.projections import projection_group

pytestmark = pytest.mark.unit

CHECKIN_EVENTS = sorted(
    d.event_type for d in REGISTRY.definitions() if d.topic and d.topic.producer == "checkin"
)


def test_checkin_publishes_tickets_sites_and_agents() -> None:
    assert {t.name for t in TOPICS.values() if t.producer == "checkin"} == {
        "frontdesk.checkin.tickets",
        "frontdesk.checkin.sites",
        "frontdesk.checkin.agents",
        "frontdesk.checkin.appointments",
    }
    assert {t.name for t in projection_group().topics} == {
        t.name for t in TOPICS.values() if t.producer == "checkin"
    }


def test_the_projection_handles_every_event_checkin_publishes() -> None:
    assert sorted(APPLY) == CHECKIN_EVENTS
    assert projection_group().event_types == CHECKIN_EVENTS


@pytest.mark.parametrize("event_type", CHECKIN_EVENTS)
def test_every_event_is_documented(event_type: str) -> None:
    model = REGISTRY.definition(event_type).current
    assert model.__doc__
    assert len(model.__doc__) > 20
    assert event_type in EVENTS_DOC.read_text()
