"""A person's data as a whole: legal holds, erasure, and who may have their own copy."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from runtime.context import CommandContext
from runtime.eventstore import EventStore
from services.cases.application import repositories
from services.cases.config import Wiring
from services.cases.domain.data_subject import (
    DataSubject,
    EraseSubject,
    PlaceLegalHold,
    ReleaseLegalHold,
    check_self_export,
    data_subject_stream,
    decide,
)
from services.cases.domain.visibility import Caller


async def data_subject(conn: asyncpg.Connection, store: EventStore, subject_id: str) -> DataSubject:
    return await repositories.data_subjects(store).state(conn, data_subject_stream(subject_id))


async def change_data_subject(
    conn: asyncpg.Connection,
    store: EventStore,
    command: PlaceLegalHold | ReleaseLegalHold | EraseSubject,
    context: CommandContext,
) -> DataSubject:
    executed = await repositories.data_subjects(store).execute(
        conn,
        data_subject_stream(command.subject_id),
        lambda subject: decide(subject, command),
        context,
    )
    return executed.state


async def own_copy_subject(
    wiring: Wiring, verification_id: UUID, token: str, caller: Caller, now: datetime
) -> str:
    """The data subject whose copy the caller may have, after the verification they passed
    (the verification service says how it went), or why not."""
    session = await wiring.verification.session(verification_id, token)
    return check_self_export(session, caller, now, wiring.settings.self_export_window)
