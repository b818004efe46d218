"""Answers computed from the read models (queue board, supervisor dashboard, estimate
accuracy). The read models are projections; these are functions of them and of ``now``."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from contracts.events.checkin import WaitEstimate
from contracts.vocabulary import LanguagePreference, ServiceQueue
from services.checkin.domain.estimates import accuracy
from services.checkin.domain.routing import WaitingTicket, queue_order
from services.checkin.domain.tickets import REMOTE_CHANNELS

HOUR = timedelta(hours=1)
REMOTE = frozenset(channel.value for channel in REMOTE_CHANNELS)
DEFAULT_SERVICE_LEVEL_MINUTES = 30


async def _site(conn: asyncpg.Connection, site_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM sites WHERE site_id = $1", site_id)


def _today(site: asyncpg.Record | None, now: datetime) -> date:
    zone = ZoneInfo(site["timezone"]) if site else ZoneInfo("UTC")
    return now.astimezone(zone).date()


def _waiting_ticket(row: asyncpg.Record) -> WaitingTicket:
    return WaitingTicket(
        ticket_id=row["ticket_id"],
        number=row["number"],
        queue=ServiceQueue(row["queue"]),
        arrival_at=row["issued_at"],
        language=LanguagePreference(tag=row["language"], dialect=row["dialect"]),
        required_skill=row["required_skill"],
        accessibility=row["accessibility"],
        escalated=row["escalated"],
        appointment_start=row["appointment_start"],
        appointment_end=row["appointment_end"],
    )


async def board(conn: asyncpg.Connection, site_id: str, now: datetime) -> dict[str, Any]:
    """The display board: now serving (number -> desk), next up per queue, waiting counts.
    Numbers only: nothing personal is shown on a public screen."""
    serving = await conn.fetch(
        """SELECT number, desk_id, queue, status FROM queue_tickets
           WHERE site_id = $1 AND status IN ('called', 'serving')
           ORDER BY called_at DESC, number""",
        site_id,
    )
    waiting = await conn.fetch(
        "SELECT * FROM queue_tickets WHERE site_id = $1 AND status = 'waiting'", site_id
    )
    by_queue: dict[str, list[WaitingTicket]] = defaultdict(list)
    for row in waiting:
        by_queue[row["queue"]].append(_waiting_ticket(row))
    return {
        "site_id": site_id,
        "now_serving": [
            {
                "number": r["number"],
                "desk_id": r["desk_id"],
                "queue": r["queue"],
                "status": r["status"],
            }
            for r in serving
        ],
        "queues": [
            {
                "queue": queue,
                "waiting": len(tickets),
                "next_up": [t.number for t in queue_order(tickets, now)[:3]],
            }
            for queue, tickets in sorted(by_queue.items())
        ],
    }


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


async def dashboard(conn: asyncpg.Connection, site_id: str, now: datetime) -> dict[str, Any]:
    """The supervisor's "at a glance" view per queue and channel."""
    site = await _site(conn, site_id)
    today = _today(site, now)
    targets = {
        queue: settings.get("service_level_minutes", DEFAULT_SERVICE_LEVEL_MINUTES)
        for queue, settings in (site["queues"] if site else {}).items()
    }
    rows = await conn.fetch(
        """SELECT * FROM queue_tickets WHERE site_id = $1
             AND (status IN ('waiting', 'called', 'serving', 'parked') OR service_day = $2
                  OR ended_at > $3 OR first_called_at > $3)""",
        site_id,
        today,
        now - HOUR,
    )
    groups: dict[tuple[str, str], list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        groups[(row["queue"], row["channel"])].append(row)
    agents = await conn.fetch("SELECT * FROM agent_states WHERE site_id = $1", site_id)
    lines = []
    for (queue, channel), tickets in sorted(groups.items()):
        target = timedelta(minutes=targets.get(queue, DEFAULT_SERVICE_LEVEL_MINUTES))
        waiting = [t for t in tickets if t["status"] == "waiting"]
        called_last_hour = [
            t for t in tickets if t["first_called_at"] and now - HOUR < t["first_called_at"] <= now
        ]
        completed_last_hour = [
            t
            for t in tickets
            if t["status"] == "completed"
            and t["serving_started_at"]
            and now - HOUR < t["ended_at"] <= now
        ]
        today_tickets = [t for t in tickets if t["service_day"] == today]
        ended_today = [t for t in today_tickets if t["ended_at"] is not None]
        abandoned = [
            t for t in ended_today if t["status"] == "left" and t["first_called_at"] is None
        ]
        called_today = [t for t in today_tickets if t["first_called_at"] is not None]
        within = [t for t in called_today if t["first_called_at"] - t["issued_at"] <= target]
        missed = [t for t in abandoned if t["ended_at"] - t["issued_at"] > target] + [
            t for t in waiting if t["service_day"] == today and now - t["issued_at"] > target
        ]
        denominator = len(called_today) + len(missed)
        line: dict[str, Any] = {}
        if channel in REMOTE:
            line = remote_contacts(tickets, today)
        lines.append(
            {
                "queue": queue,
                "channel": channel,
                "waiting": len(waiting),
                "longest_wait_minutes": round(
                    max((_minutes(now - t["issued_at"]) for t in waiting), default=0.0), 1
                ),
                "average_wait_minutes_last_hour": _mean(
                    [_minutes(t["first_called_at"] - t["issued_at"]) for t in called_last_hour]
                ),
                "average_service_minutes_last_hour": _mean(
                    [_minutes(t["ended_at"] - t["serving_started_at"]) for t in completed_last_hour]
                ),
                "served_today": sum(1 for t in today_tickets if t["status"] == "completed"),
                "abandonment_rate": round(len(abandoned) / len(ended_today), 3)
                if ended_today
                else None,
                "service_level": round(len(within) / denominator, 3) if denominator else None,
                "service_level_target_minutes": int(_minutes(target)),
                "agents_available": sum(
                    1 for a in agents if queue in a["queues"] and a["status"] == "available"
                ),
                "agents_serving": sum(
                    1 for a in agents if queue in a["queues"] and a["status"] == "serving"
                ),
                **line,
            }
        )
    return {
        "site_id": site_id,
        "day": today.isoformat(),
        "at": now.isoformat(),
        "agents": {
            status: sum(1 for a in agents if a["status"] == status)
            for status in ("available", "serving", "on_break")
        },
        "queues": lines,
    }


def remote_contacts(tickets: list[asyncpg.Record], today: date) -> dict[str, Any]:
    """What a supervisor watches of a remote channel (phone, chat, email) of one queue:

    - ``in_pool``: contacts waiting for an agent with room (the line's ``waiting``);
    - ``offered_not_answered``: offered to an agent who has not answered yet;
    - ``offered_today`` / ``reassigned_today``: contacts of the local day offered at least once
      / more than once (they came back unanswered or released and were offered again);
      ``reassigned_share_today`` = reassigned / offered (None before the first offer);
    - ``returned_today``: the day's returns to the pool, ``unanswered`` (the answer window ran
      out) and ``released`` (the agent went on a break or signed out before answering)."""
    day = [t for t in tickets if t["service_day"] == today]
    offered = [t for t in day if t["offers"] > 0]
    reassigned = [t for t in offered if t["offers"] > 1]
    return {
        "in_pool": sum(1 for t in tickets if t["status"] == "waiting"),
        "offered_not_answered": sum(1 for t in tickets if t["status"] == "called"),
        "offered_today": len(offered),
        "reassigned_today": len(reassigned),
        "reassigned_share_today": round(len(reassigned) / len(offered), 3) if offered else None,
        "returned_today": {
            "unanswered": sum(t["unanswered"] for t in day),
            "released": sum(t["released"] for t in day),
        },
    }


async def estimate_accuracy(
    conn: asyncpg.Connection, site_id: str, since: datetime | None = None
) -> dict[str, Any]:
    """Estimate at issue vs actual wait (issue to first call), overall and per queue."""
    rows = await conn.fetch(
        """SELECT queue, first_estimate, issued_at, first_called_at FROM queue_tickets
           WHERE site_id = $1 AND first_estimate IS NOT NULL AND first_called_at IS NOT NULL
             AND ($2::timestamptz IS NULL OR issued_at >= $2)""",
        site_id,
        since,
    )
    pairs: dict[str, list[tuple[WaitEstimate, float]]] = defaultdict(list)
    for row in rows:
        pair = (
            WaitEstimate.model_validate(row["first_estimate"]),
            _minutes(row["first_called_at"] - row["issued_at"]),
        )
        pairs[row["queue"]].append(pair)
        pairs["*"].append(pair)

    def report(items: list[tuple[WaitEstimate, float]]) -> dict[str, Any]:
        result = accuracy(items)
        return {
            "tickets": result.tickets,
            "mean_error_minutes": result.mean_error,
            "mean_absolute_error_minutes": result.mean_absolute_error,
            "within_range": result.within_range,
            "mean_range_minutes": result.mean_range_minutes,
        }

    overall = pairs.pop("*", [])
    by_range: dict[str, list[tuple[WaitEstimate, float]]] = defaultdict(list)
    for estimate, actual in overall:
        by_range[estimate.range_basis or "service_time_spread"].append((estimate, actual))
    return {
        "site_id": site_id,
        "overall": report(overall),
        "queues": {queue: report(items) for queue, items in sorted(pairs.items())},
        "ranges": {basis: report(items) for basis, items in sorted(by_range.items())},
    }
