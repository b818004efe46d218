"""What notifications holds about a data subject: its copy of its data (runtime/export.py),
and forgetting it when it is erased (``redact_subject``).

For a person (``account:<ref>``): the messages sent to them (to their account, to their
tickets, to their callbacks: kind, channel, status, when — message texts are never stored),
their callbacks (the number to call, their hours, the promised window and what became of it),
their preferences and marketing consents (to the platform, and to each organization), and the
campaigns that targeted them (with the organization that ran each, if any). For an
organization (``organization:<id>``): the contact its verification gave (name, phone, email)
and the messages sent to that contact. The events recorded about the subject (addresses
decrypted) come from the runtime.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.notifications.application import reactions
from services.notifications.domain.recipients import RECIPIENT, recipient_stream
from services.notifications.projections import redact_subject as redact_read_models


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    """Erase a data subject here: the read models, what the reactions keep to reach them,
    and the snapshot of their preferences (it holds their addresses in clear: the events
    read after it are shredded)."""
    await redact_read_models(conn, subject_id)
    await reactions.redact(conn, subject_id)
    if subject_id.startswith("account:"):
        await conn.execute(
            "DELETE FROM snapshots WHERE stream_id = $1 AND aggregate = $2",
            recipient_stream(subject_id.removeprefix("account:")),
            RECIPIENT.name,
        )


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in dict(row).items()
    }


async def export_subject(
    conn: asyncpg.Connection, subject_id: str, wiring: object
) -> dict[str, Any]:
    if subject_id.startswith("organization:"):
        return await _export_organization(conn, subject_id)
    if not subject_id.startswith("account:"):
        return {}
    callbacks = await conn.fetch(
        """SELECT callback_id::text, case_id::text, queue, recipient_role, phone, timezone,
                  language, status, window_start, window_end, promised_start, promised_end,
                  attempts, last_outcome, requested_at, closed_at
           FROM callback_queue WHERE subject_id = $1 ORDER BY requested_at""",
        subject_id,
    )
    messages = await conn.fetch(
        """SELECT notification_id::text, kind, purpose, channel, recipient_ref, language,
                  status, requested_at, sent_at, delivered_at, failed_at
           FROM notification_log
           WHERE recipient_ref = $1
              OR recipient_ref IN (SELECT 'ticket:' || ticket_id::text FROM ticket_reach
                                   WHERE subject_id = $1)
              OR recipient_ref IN (SELECT 'callback:' || callback_id::text FROM callback_queue
                                   WHERE subject_id = $1)
           ORDER BY requested_at""",
        subject_id,
    )
    preferences = await conn.fetch(
        """SELECT recipient_ref, channels, language, timezone, preferred_start, preferred_end,
                  quiet_start, quiet_end, phone, email, wechat, qq, marketing_consent,
                  updated_at
           FROM recipient_preferences WHERE subject_id = $1""",
        subject_id,
    )
    organization_consents = await conn.fetch(
        """SELECT organization_id::text, marketing_consent, updated_at
           FROM organization_consent WHERE subject_id = $1 ORDER BY organization_id""",
        subject_id,
    )
    campaigns = await conn.fetch(
        """SELECT t.campaign_id::text, c.organization_id::text, c.name, c.tag, c.channel,
                  c.status, c.started_at, c.finished_at
           FROM campaign_targets t LEFT JOIN campaigns c ON c.campaign_id = t.campaign_id
           WHERE t.account_ref = $1 ORDER BY c.started_at, t.campaign_id""",
        subject_id.removeprefix("account:"),
    )
    return {
        "callbacks": [_plain(row) for row in callbacks],
        "messages": [_plain(row) for row in messages],
        "preferences": [_plain(row) for row in preferences],
        "organization_consents": [_plain(row) for row in organization_consents],
        "campaigns": [_plain(row) for row in campaigns],
    }


async def _export_organization(conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
    contacts = await conn.fetch(
        """SELECT organization_id::text, legal_name, phone, email, submitted_at, ended_at
           FROM organization_contacts WHERE subject_id = $1""",
        subject_id,
    )
    messages = await conn.fetch(
        """SELECT notification_id::text, kind, purpose, channel, recipient_ref, language,
                  status, requested_at, sent_at, delivered_at, failed_at
           FROM notification_log WHERE recipient_ref = $1 ORDER BY requested_at""",
        subject_id,
    )
    return {
        "organization_contacts": [_plain(row) for row in contacts],
        "messages": [_plain(row) for row in messages],
    }
