"""What verification holds about a person, for their copy of their data (runtime/export.py).

For an account: its verification sessions (purpose, whose identity, the checks asked and
passed, the outcome and its reasons, when) and what is known of the evidence each received —
kind, size, fingerprint, when it was stored and purged — never the files themselves, nor
anything biometric, nor codes or knowledge answers. For an organization: its verification's
state. The events recorded about the person come with it from the runtime.
"""

from __future__ import annotations

from typing import Any

import asyncpg


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in dict(row).items()
    }


async def export_subject(
    conn: asyncpg.Connection, subject_id: str, wiring: object
) -> dict[str, Any]:
    kind, _, ref = subject_id.partition(":")
    if kind == "organization":
        rows = await conn.fetch(
            """SELECT organization_id::text, legal_name, official_domains, bank_account_last4,
                      status, deposits, documents_approved, phone_confirmed, reasons,
                      submitted_at, decided_at
               FROM organization_views WHERE organization_id::text = $1""",
            ref,
        )
        return {"organizations": [_plain(row) for row in rows]}
    if kind != "account":
        return {}
    sessions = await conn.fetch(
        """SELECT verification_id::text, case_id::text, ticket_id::text, purpose, risk_level,
                  person_role, checks, passed_checks, status, outcome_reasons, started_at,
                  completed_at
           FROM session_views WHERE account_ref = $1 ORDER BY started_at""",
        ref,
    )
    evidence = await conn.fetch(
        """SELECT m.media_id::text, m.owner_id::text AS verification_id, m.kind,
                  m.content_type, m.size_bytes, m.sha256, m.stored_at, m.retain_until,
                  m.purged_at
           FROM media_objects m JOIN session_views s ON s.verification_id = m.owner_id
           WHERE m.owner_type = 'session' AND s.account_ref = $1 ORDER BY m.stored_at""",
        ref,
    )
    return {
        "verifications": [_plain(row) for row in sessions],
        "evidence": [_plain(row) for row in evidence],
    }


async def redact_subject(conn: asyncpg.Connection, subject_id: str) -> None:
    """Read models keep no personal data (ids, statuses and reasons only); the write-side
    questions of an erased account's open sessions (they quote its facts) are deleted."""
    kind, _, ref = subject_id.partition(":")
    if kind == "account":
        # the customer's own words asking for a review: sealed in the event, plain here
        await conn.execute(
            "UPDATE review_queue SET reason = '(erased)' WHERE account_ref = $1", ref
        )
        await conn.execute(
            """DELETE FROM knowledge_questions WHERE verification_id IN
                   (SELECT verification_id FROM session_views WHERE account_ref = $1)""",
            ref,
        )
