"""Read models of check-in, projected from its own topics by the projection
``checkin.projections`` (rebuildable: truncate the tables, replay the topics). One module per
read model: its tables and a handler per event type.

- ``queue_tickets``: every ticket, its state, times, estimates and outcome;
- ``agent_states``: where each agent is and what they are doing;
- ``sites``: name, time zone, queue settings, desks and closures;
- ``appointments``: the day's bookings of a site.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.events.checkin_agents import CHECKIN_AGENTS
from contracts.events.checkin_appointments import CHECKIN_APPOINTMENTS
from contracts.events.checkin_sites import CHECKIN_SITES
from contracts.topics import CHECKIN_TICKETS
from runtime.consumer import ConsumerGroup, EventHandler, ReceivedEvent
from services.checkin.config import OWN_EVENTS_LINGER_MS
from services.checkin.projections import agent_states, appointments, queue_tickets, sites

MODULES = (queue_tickets, agent_states, sites, appointments)
READ_MODELS = tuple(table for module in MODULES for table in module.TABLES)
HANDLERS: dict[type[Any], EventHandler] = {
    payload: handler for module in MODULES for payload, handler in module.handlers.items()
}
# the wire names of the events projected
EVENT_TYPES = sorted(payload.event_type for payload in HANDLERS)


async def apply_event(conn: asyncpg.Connection, event: ReceivedEvent[Any]) -> None:
    """Apply one event to the read models (also used in-process by the busy-day simulation)."""
    handler = HANDLERS.get(type(event.payload))
    if handler is not None:
        await handler(conn, event)


def projection_group() -> ConsumerGroup:
    return ConsumerGroup(
        name="checkin.projections",
        topics=[CHECKIN_TICKETS, CHECKIN_AGENTS, CHECKIN_SITES, CHECKIN_APPOINTMENTS],
        handlers=HANDLERS,
        read_models=READ_MODELS,
        description="Queue board, dashboard and estimate-accuracy read models.",
        linger_ms=OWN_EVENTS_LINGER_MS,
        reads_personal_data=False,  # no read model here holds a phone, a description or a reason
    )
