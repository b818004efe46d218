"""The account timeline (``account_timeline``): one entry per event of a case, an account or
its customer, in order; each read model that handles such an event also records its entry here.
Read by the timelines of an account and of a case, with the contact's own words beside it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from runtime.consumer import ReceivedEvent
from runtime.db import decode_json

TABLES = ("account_timeline",)


def as_json(model: Any) -> Any:
    return decode_json(model.model_dump_json()) if hasattr(model, "model_dump_json") else model


async def record(
    conn: asyncpg.Connection,
    event: ReceivedEvent[Any],
    account_ref: str,
    case_id: UUID | None,
    at: Any,
    details: dict[str, Any],
) -> None:
    envelope = event.envelope
    await conn.execute(
        """INSERT INTO account_timeline (event_id, account_ref, case_id, at, stream_id,
               stream_version, kind, actor_role, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING""",
        envelope.event_id,
        account_ref,
        case_id,
        at,
        envelope.stream_id,
        envelope.stream_version,
        envelope.event_type.split(".", 1)[1],
        envelope.actor.role if envelope.actor else None,
        details,
    )


# the sealed words an entry's details copy, per kind: null once the account is erased
SEALED_DETAILS = (
    ("case_closed", "reason"),
    ("decision_recorded", "facts"),
    ("case_reopened", "evidence"),
    ("report_recorded", "evidence"),  # its count: a rebuild after the erasure cannot know it
)


async def redact(conn: asyncpg.Connection, subject_id: str) -> None:
    """An erased account's sealed words leave its timeline; the entries stay."""
    kind, _, account_ref = subject_id.partition(":")
    if kind != "account":
        return
    for entry_kind, key in SEALED_DETAILS:
        await conn.execute(
            "UPDATE account_timeline SET details = jsonb_set(details, ARRAY[$3::text], "
            "'null'::jsonb) WHERE account_ref = $1 AND kind = $2 AND details ? $3",
            account_ref,
            entry_kind,
            key,
        )


# -- reads ------------------------------------------------------------------------------------

_TIMELINE = """SELECT t.at, t.kind, t.case_id, t.details, t.actor_role, c.words
               FROM account_timeline t
               LEFT JOIN case_contacts c ON c.contact_id = (t.details->>'contact_id')::uuid
               WHERE {where} ORDER BY t.at, t.stream_id, t.stream_version LIMIT $2"""


async def of_account(
    conn: asyncpg.Connection | asyncpg.Pool, account_ref: str, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(_TIMELINE.format(where="t.account_ref = $1"), account_ref, limit)
    return [dict(row) for row in rows]


async def of_case(
    conn: asyncpg.Connection | asyncpg.Pool, case_id: UUID, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(_TIMELINE.format(where="t.case_id = $1"), case_id, limit)
    return [dict(row) for row in rows]
