"""The live views of check-in (services/checkin/api/live.py streams them): reads over the read
models (``queue_tickets``, ``agent_states``, ``sites``) and, for a customer's own ticket, the
command-side ``ticket_index`` (written with the ticket's events, so a customer sees their call
at once). Numbers and desks only on the board: nothing personal on a public screen."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.vocabulary import LanguagePreference, ServiceQueue
from runtime.errors import NotFound
from services.checkin.application import board as board_views
from services.checkin.domain.routing import WaitingTicket, queue_order
from services.checkin.domain.tickets import REMOTE_CHANNELS

REMOTE = frozenset(channel.value for channel in REMOTE_CHANNELS)
RECENT_CALLS = 12
NEXT_UP = 3


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _waiting(row: asyncpg.Record, arrival: str) -> WaitingTicket:
    return WaitingTicket(
        ticket_id=row["ticket_id"],
        number=row["number"],
        queue=ServiceQueue(row["queue"]),
        arrival_at=row[arrival],
        language=LanguagePreference(tag=row["language"], dialect=row["dialect"]),
        required_skill=row["required_skill"],
        accessibility=row["accessibility"],
        escalated=row["escalated"],
        appointment_start=row["appointment_start"],
        appointment_end=row["appointment_end"],
    )


async def board_view(conn: asyncpg.Connection, site_id: str, now: datetime) -> dict[str, Any]:
    """Now serving (number → desk, with the time of the call and how often it was recalled,
    so a screen that was away announces the calls it missed), next up and waiting per queue.
    Numbers and desks only: nothing personal on a public screen."""
    calls = await conn.fetch(
        """SELECT number, desk_id, queue, status, called_at, recalls FROM queue_tickets
           WHERE site_id = $1 AND status IN ('called', 'serving') AND called_at IS NOT NULL
           ORDER BY called_at DESC, number LIMIT $2""",
        site_id,
        RECENT_CALLS,
    )
    waiting = await conn.fetch(
        """SELECT ticket_id, number, queue, issued_at, language, dialect, required_skill,
               accessibility, escalated, appointment_start, appointment_end
           FROM queue_tickets WHERE site_id = $1 AND status = 'waiting'""",
        site_id,
    )
    by_queue: dict[str, list[WaitingTicket]] = defaultdict(list)
    for row in waiting:
        by_queue[row["queue"]].append(_waiting(row, "issued_at"))
    return {
        "site_id": site_id,
        "now_serving": [
            {
                "number": row["number"],
                "desk_id": row["desk_id"],
                "queue": row["queue"],
                "status": row["status"],
                "called_at": _iso(row["called_at"]),
                "recalls": row["recalls"],
            }
            for row in calls
        ],
        "queues": [
            {
                "queue": queue,
                "waiting": len(tickets),
                "next_up": [t.number for t in queue_order(tickets, now)[:NEXT_UP]],
            }
            for queue, tickets in sorted(by_queue.items())
        ],
    }


async def ticket_row(conn: asyncpg.Connection, ticket_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT ticket_id, site_id, queue, number, status, channel, customer_id, desk_id,
               called_at, arrival_at, estimate, ended_at, service_day
           FROM ticket_index WHERE ticket_id = $1""",
        ticket_id,
    )


async def ticket_view(conn: asyncpg.Connection, ticket_id: UUID, now: datetime) -> dict[str, Any]:
    """A customer's own ticket: status, position in the queue's current order, the range of
    the wait last announced, "you're next", the desk it is called to, a callback kept."""
    row = await ticket_row(conn, ticket_id)
    if row is None:
        raise NotFound(f"ticket {ticket_id} not found")
    position = None
    if row["status"] == "waiting":
        waiting = await conn.fetch(
            """SELECT ticket_id, number, queue, arrival_at, language, dialect, required_skill,
                   accessibility, escalated, appointment_start, appointment_end
               FROM ticket_index WHERE site_id = $1 AND queue = $2 AND status = 'waiting'""",
            row["site_id"],
            row["queue"],
        )
        tickets = [_waiting(w, "arrival_at") for w in waiting]
        order = [t.ticket_id for t in queue_order(tickets, now)]
        position = order.index(ticket_id) + 1 if ticket_id in order else None
    # the ticket's stream id as stored in the event store (application.ticket_stream)
    callback = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1
                              AND event_type = 'checkin.ticket_callback_requested')""",
        f"ticket-{ticket_id}",
    )
    estimate = row["estimate"] if row["status"] == "waiting" else None
    return {
        "ticket_id": str(ticket_id),
        "number": row["number"],
        "site_id": row["site_id"],
        "queue": row["queue"],
        "channel": row["channel"],
        "status": row["status"],
        "position": position,
        "ahead": position - 1 if position is not None else None,
        "next": position == 1,
        "desk_id": row["desk_id"] if row["status"] in ("called", "serving") else None,
        "called_at": _iso(row["called_at"]) if row["status"] in ("called", "serving") else None,
        "estimate": estimate,
        "callback_requested": bool(callback),
        "ended_at": _iso(row["ended_at"]),
    }


async def agent_view(conn: asyncpg.Connection, agent_id: str) -> dict[str, Any]:
    """An agent's console: where they are, the tickets and remote contacts assigned to them,
    the waiting counts of their queues at their site and the tickets parked there."""
    agent = await conn.fetchrow(
        """SELECT agent_id, site_id, desk_id, status, queues, ticket_id, status_since
           FROM agent_states WHERE agent_id = $1""",
        agent_id,
    )
    assigned = await conn.fetch(
        """SELECT ticket_id, number, queue, channel, status, desk_id, called_at,
               serving_started_at, recalls, issued_at
           FROM queue_tickets WHERE agent_id = $1 AND status IN ('called', 'serving')
           ORDER BY called_at, number""",
        agent_id,
    )
    site_id = agent["site_id"] if agent else None
    queues: list[str] = list(agent["queues"]) if agent else []
    counts = await conn.fetch(
        """SELECT queue, count(*) AS waiting, min(issued_at) AS oldest FROM queue_tickets
           WHERE site_id = $1 AND status = 'waiting' AND queue = ANY($2::text[])
           GROUP BY queue""",
        site_id,
        queues,
    )
    parked = await conn.fetch(
        """SELECT ticket_id, number, queue FROM queue_tickets
           WHERE site_id = $1 AND status = 'parked' AND queue = ANY($2::text[])
           ORDER BY issued_at""",
        site_id,
        queues,
    )
    waiting = {row["queue"]: row for row in counts}

    def item(row: asyncpg.Record) -> dict[str, Any]:
        return {
            "ticket_id": str(row["ticket_id"]),
            "number": row["number"],
            "queue": row["queue"],
            "channel": row["channel"],
            "status": row["status"],
            "desk_id": row["desk_id"],
            "called_at": _iso(row["called_at"]),
            "serving_started_at": _iso(row["serving_started_at"]),
            "recalls": row["recalls"],
        }

    return {
        "agent_id": agent_id,
        "status": agent["status"] if agent else "unknown",
        "site_id": site_id,
        "desk_id": agent["desk_id"] if agent else None,
        "status_since": _iso(agent["status_since"]) if agent else None,
        "tickets": [item(r) for r in assigned if r["channel"] not in REMOTE],
        "contacts": [item(r) for r in assigned if r["channel"] in REMOTE],
        "queues": [
            {
                "queue": queue,
                "waiting": waiting[queue]["waiting"] if queue in waiting else 0,
                "oldest_issued_at": _iso(waiting[queue]["oldest"]) if queue in waiting else None,
            }
            for queue in sorted(queues)
        ],
        "parked": [
            {"ticket_id": str(r["ticket_id"]), "number": r["number"], "queue": r["queue"]}
            for r in parked
        ],
    }


async def wall_view(conn: asyncpg.Connection, site_id: str, now: datetime) -> dict[str, Any]:
    """The supervisor's dashboard (the JSON endpoint's shape) without its ``at``, so that the
    view changes when the floor does, not every time it is read."""
    view = await board_views.dashboard(conn, site_id, now)
    view.pop("at", None)
    return view
