"""The case file (``case_views``, ``case_contacts``, ``case_notes``): every case as staff and
customers read it, its contacts with the person's words, and the internal notes; each event
also records its entry in the account timeline.

Over 600 lines on purpose: one handler per case event (21) and the reads of the case file.

Every handler is a deterministic function of the event (and the rows earlier events of the
same stream wrote), so ``frontdesk rebuild cases`` gives the same tables. Rows that several
streams touch are written commutatively: a contact row belongs to the stream that created it
(the merged case moves its own contacts; a split moves the contact in the source stream), so
replaying partition by partition ends in the same state as live consumption.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts import EventPayload
from contracts.events.cases import (
    CallbackRecorded,
    CallbackRequested,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseMerged,
    CaseOpened,
    CaseReopened,
    ContactAttached,
    ContactSplit,
    DecisionRecorded,
    NoteAdded,
    PriorityChanged,
    ReportRecorded,
    ServiceLevelBreached,
    ServiceLevelsScheduled,
    ServiceLevelWarning,
    StatusChanged,
    SuspensionLinked,
    VerificationRecorded,
    VerificationRequested,
)
from runtime.batched_writes import remembering
from runtime.consumer import EventHandler, ReceivedEvent
from runtime.db import decode_json, encode_json
from services.cases.domain.case_types import CASE_TYPES
from services.cases.projections.account_timeline import as_json as _json
from services.cases.projections.account_timeline import record

TABLES = ("case_views", "case_contacts", "case_notes")


# the columns of a case's file its handlers read back (``_case``); what a new case holds in
# the JSON ones, written by ``on_case_opened``
_FILE = (
    "account_ref",
    "verifications",
    "callbacks",
    "suspensions",
    "escalations",
    "service_levels",
)
_READ_FILE = f"SELECT {', '.join(_FILE)} FROM case_views WHERE case_id = $1"
_NEW_FILE: dict[str, Any] = {
    "verifications": [],
    "callbacks": [],
    "suspensions": [],
    "escalations": [],
    "service_levels": {"targets": [], "paused": False},
}


def _file_key(case_id: UUID) -> tuple[str, UUID]:
    return ("case_views", case_id)


async def _case(conn: asyncpg.Connection, case_id: UUID) -> dict[str, Any]:
    """The case's ``_FILE`` columns: as an earlier event of the batch left them (remembered:
    runtime/batched_writes.py), or read. Its values are shared: make new ones to change it."""
    batch = remembering(conn)
    known = batch.remembered(_file_key(case_id)) if batch is not None else None
    if known is not None:
        return dict(known)
    row = await conn.fetchrow(_READ_FILE, case_id)
    if row is None:
        raise LookupError(f"case {case_id} not projected yet")
    case = dict(row)
    if batch is not None:
        batch.remember(_file_key(case_id), case)
    return dict(case)


def _as_read(value: Any) -> Any:
    """A JSON column's value as PostgreSQL gives it back (runtime/db.py's codec)."""
    return decode_json(encode_json(value))


_NEW_FILE_READ = {name: _as_read(value) for name, value in _NEW_FILE.items()}


async def _set(
    conn: asyncpg.Connection,
    event: ReceivedEvent[Any],
    case_id: UUID,
    at: Any,
    **columns: Any,
) -> None:
    sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(columns, start=4))
    await conn.execute(
        f"UPDATE case_views SET version = $2, updated_at = $3{', ' if sets else ''}{sets} "
        "WHERE case_id = $1",
        case_id,
        event.envelope.stream_version,
        at,
        *columns.values(),
    )
    batch = remembering(conn)
    known = batch.remembered(_file_key(case_id)) if batch is not None else None
    if batch is not None and known is not None and any(name in known for name in columns):
        changed = {name: _as_read(value) for name, value in columns.items() if name in known}
        batch.remember(_file_key(case_id), {**known, **changed})


# -- contacts: created by one stream, moved by merges and splits ------------------------------

# what a contact's creating event says; the case it belongs to is the latest move's, if any
_CONTACT_DETAILS = """account_ref = EXCLUDED.account_ref, channel = EXCLUDED.channel,
    ticket_id = EXCLUDED.ticket_id, customer_id = EXCLUDED.customer_id,
    requester_role = EXCLUDED.requester_role, subject_id = EXCLUDED.subject_id,
    words = EXCLUDED.words, at = EXCLUDED.at,
    case_id = CASE WHEN case_contacts.moved_at IS NULL THEN EXCLUDED.case_id
                   ELSE case_contacts.case_id END"""


async def _move_contact(
    conn: asyncpg.Connection, contact_id: UUID, to_case: UUID, account_ref: str, at: Any
) -> None:
    """Move a contact to another case; the latest move wins. Replays go partition by
    partition, so the move can come before the contact's creating event: then a placeholder
    row holds the move and the creating event fills in the details."""
    await conn.execute(
        """INSERT INTO case_contacts (contact_id, case_id, account_ref, at, moved_at)
           VALUES ($1, $2, $3, $4, $4)
           ON CONFLICT (contact_id) DO UPDATE SET case_id = EXCLUDED.case_id,
               moved_at = EXCLUDED.moved_at
           WHERE case_contacts.moved_at IS NULL OR case_contacts.moved_at < EXCLUDED.moved_at""",
        contact_id,
        to_case,
        account_ref,
        at,
    )


# -- cases ------------------------------------------------------------------------------------


async def on_case_opened(conn: asyncpg.Connection, event: ReceivedEvent[CaseOpened]) -> None:
    opened = event.payload
    # its viewers: the customer, if any, written by the statement (a run of it then goes as one
    # set-based statement: runtime/set_based.py takes no array parameter)
    await conn.execute(
        """INSERT INTO case_views (case_id, account_ref, case_type, problem_category, status,
               customer_id, language, source_channel, source_ticket_id, opened_at,
               correlation_id, version, subject_id, summary, priority, waiting_on, site_id,
               requester_role, proxy_relationship, viewer_ids, queue, contacts, split_from,
               updated_at, verifications, callbacks, suspensions, escalations, service_levels)
           VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                   'agent', $15, $16, $17,
                   CASE WHEN $5 <> '' THEN ARRAY[$5] ELSE ARRAY[]::text[] END,
                   $18, 1, $19, $9, $20, $21, $22, $23, $24)
           ON CONFLICT (case_id) DO NOTHING""",
        opened.case_id,
        opened.account_ref,
        opened.case_type.value,
        opened.problem_category.value,
        opened.customer_id,
        opened.language.tag,
        opened.source.channel.value if opened.source.channel else None,
        opened.source.ticket_id,
        opened.opened_at,
        event.envelope.correlation_id,
        event.envelope.stream_version,
        opened.data_subject_id,
        opened.summary,
        (opened.priority.value if opened.priority else "normal"),
        opened.site_id,
        opened.requester_role.value if opened.requester_role else None,
        opened.proxy_relationship.value if opened.proxy_relationship else None,
        CASE_TYPES[opened.case_type].queue.value,
        opened.split_from_case_id,
        *_NEW_FILE.values(),
    )
    batch = remembering(conn)
    if batch is not None and event.envelope.stream_version == 1:
        # the case's first event made its row (one stream, one first event): the events of the
        # batch after it find its file here instead of reading it back
        batch.remember(
            _file_key(opened.case_id),
            {"account_ref": opened.account_ref, **_NEW_FILE_READ},
        )
    if opened.split_from_case_id is None:  # a split contact's row moves in its source stream
        await conn.execute(
            """INSERT INTO case_contacts (contact_id, case_id, account_ref, channel, ticket_id,
                   customer_id, requester_role, subject_id, words, at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (contact_id) DO UPDATE SET """
            + _CONTACT_DETAILS,
            opened.contact_id or opened.case_id,
            opened.case_id,
            opened.account_ref,
            opened.source.channel.value if opened.source.channel else None,
            opened.source.ticket_id,
            opened.customer_id,
            opened.requester_role.value if opened.requester_role else None,
            opened.data_subject_id,
            opened.summary,
            opened.opened_at,
        )
    await record(
        conn,
        event,
        opened.account_ref,
        opened.case_id,
        opened.opened_at,
        {
            "contact_id": str(opened.contact_id or opened.case_id),
            "case_type": opened.case_type.value,
            "channel": opened.source.channel.value if opened.source.channel else None,
            "ticket_id": str(opened.source.ticket_id) if opened.source.ticket_id else None,
            "site_id": opened.site_id,
            "requester_role": opened.requester_role.value if opened.requester_role else None,
            "split_from_case_id": (
                str(opened.split_from_case_id) if opened.split_from_case_id else None
            ),
        },
    )


async def on_contact_attached(
    conn: asyncpg.Connection, event: ReceivedEvent[ContactAttached]
) -> None:
    attached = event.payload
    channel = attached.source.channel.value if attached.source.channel else None
    await conn.execute(
        """INSERT INTO case_contacts (contact_id, case_id, account_ref, channel, ticket_id,
               customer_id, requester_role, subject_id, words, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (contact_id) DO UPDATE SET """
        + _CONTACT_DETAILS,
        attached.contact_id,
        attached.case_id,
        attached.account_ref,
        channel,
        attached.source.ticket_id,
        attached.customer_id,
        attached.requester_role.value if attached.requester_role else None,
        attached.data_subject_id,
        attached.words,
        attached.attached_at,
    )
    await conn.execute(
        """UPDATE case_views SET contacts = contacts + 1, version = $2, updated_at = $3,
               viewer_ids = CASE WHEN $4::text IS NULL OR $4 = ANY(viewer_ids) THEN viewer_ids
                                 ELSE array_append(viewer_ids, $4) END,
               summary = COALESCE($5, summary)
           WHERE case_id = $1""",
        attached.case_id,
        event.envelope.stream_version,
        attached.attached_at,
        attached.customer_id,
        attached.words,
    )
    await record(
        conn,
        event,
        attached.account_ref,
        attached.case_id,
        attached.attached_at,
        {
            "contact_id": str(attached.contact_id),
            "channel": channel,
            "ticket_id": str(attached.source.ticket_id) if attached.source.ticket_id else None,
            "site_id": attached.site_id,
            "contacts_in_window": attached.contacts_in_window,
        },
    )


async def on_case_merged(conn: asyncpg.Connection, event: ReceivedEvent[CaseMerged]) -> None:
    merged = event.payload
    if merged.case_id == merged.survivor_case_id:
        await conn.execute(
            """UPDATE case_views SET contacts = contacts + $4, version = $2, updated_at = $3,
                   viewer_ids = ARRAY(SELECT DISTINCT v FROM unnest(viewer_ids || $5::text[]) v
                                      ORDER BY v)
               WHERE case_id = $1""",
            merged.case_id,
            event.envelope.stream_version,
            merged.merged_at,
            len(merged.contact_ids),
            merged.customer_ids,
        )
    else:
        for contact_id in merged.contact_ids:
            await _move_contact(
                conn, contact_id, merged.survivor_case_id, merged.account_ref, merged.merged_at
            )
        await _set(
            conn,
            event,
            merged.case_id,
            merged.merged_at,
            merged_into=merged.survivor_case_id,
            contacts=0,
        )
    await record(
        conn,
        event,
        merged.account_ref,
        merged.case_id,
        merged.merged_at,
        {
            "survivor_case_id": str(merged.survivor_case_id),
            "merged_case_id": str(merged.merged_case_id),
            "contacts_moved": len(merged.contact_ids),
        },
    )


async def on_contact_split(conn: asyncpg.Connection, event: ReceivedEvent[ContactSplit]) -> None:
    split = event.payload
    source = await _case(conn, split.case_id)
    await _move_contact(
        conn, split.contact_id, split.new_case_id, source["account_ref"], split.split_at
    )
    await conn.execute(
        "UPDATE case_views SET contacts = contacts - 1, version = $2, updated_at = $3 "
        "WHERE case_id = $1",
        split.case_id,
        event.envelope.stream_version,
        split.split_at,
    )
    case = await _case(conn, split.case_id)
    await record(
        conn,
        event,
        case["account_ref"],
        split.case_id,
        split.split_at,
        {"contact_id": str(split.contact_id), "new_case_id": str(split.new_case_id)},
    )


async def on_case_assigned(conn: asyncpg.Connection, event: ReceivedEvent[CaseAssigned]) -> None:
    assigned = event.payload
    await _set(
        conn,
        event,
        assigned.case_id,
        assigned.assigned_at,
        queue=assigned.queue.value,
        assignee_id=assigned.assignee_id,
    )
    case = await _case(conn, assigned.case_id)
    await record(
        conn,
        event,
        case["account_ref"],
        assigned.case_id,
        assigned.assigned_at,
        {
            "queue": assigned.queue.value,
            "assignee_id": assigned.assignee_id,
            "suggested": assigned.suggested,
        },
    )


async def on_status_changed(conn: asyncpg.Connection, event: ReceivedEvent[StatusChanged]) -> None:
    changed = event.payload
    await _set(
        conn,
        event,
        changed.case_id,
        changed.changed_at,
        status=changed.to_status.value,
        waiting_on=changed.waiting_on.value,
    )
    case = await _case(conn, changed.case_id)
    await record(
        conn,
        event,
        case["account_ref"],
        changed.case_id,
        changed.changed_at,
        {
            "from": changed.from_status.value,
            "to": changed.to_status.value,
            "waiting_on": changed.waiting_on.value,
            "reason": changed.reason,
        },
    )


async def on_priority_changed(
    conn: asyncpg.Connection, event: ReceivedEvent[PriorityChanged]
) -> None:
    changed = event.payload
    await _set(conn, event, changed.case_id, changed.changed_at, priority=changed.to_priority.value)
    case = await _case(conn, changed.case_id)
    await record(
        conn,
        event,
        case["account_ref"],
        changed.case_id,
        changed.changed_at,
        {
            "from": changed.from_priority.value,
            "to": changed.to_priority.value,
            "reason": changed.reason,
        },
    )


async def on_service_levels(
    conn: asyncpg.Connection, event: ReceivedEvent[ServiceLevelsScheduled]
) -> None:
    scheduled = event.payload
    case = await _case(conn, scheduled.case_id)
    levels = dict(case["service_levels"])
    levels.update(
        calendar_id=scheduled.calendar_id,
        paused=scheduled.paused,
        paused_minutes=scheduled.paused_minutes,
        targets=[_json(t) for t in scheduled.targets],
    )
    await _set(
        conn,
        event,
        scheduled.case_id,
        scheduled.scheduled_at,
        service_levels=levels,
        priority=scheduled.priority.value,
    )


async def on_service_level_event(
    conn: asyncpg.Connection, event: ReceivedEvent[ServiceLevelWarning | ServiceLevelBreached]
) -> None:
    fact = event.payload
    at = fact.warned_at if isinstance(fact, ServiceLevelWarning) else fact.breached_at
    key = "warnings" if isinstance(fact, ServiceLevelWarning) else "breaches"
    case = await _case(conn, fact.case_id)
    levels = dict(case["service_levels"])
    levels[key] = [
        *levels.get(key, []),
        {"kind": fact.kind.value, "due_at": fact.due_at.isoformat(), "at": at.isoformat()},
    ]
    await _set(conn, event, fact.case_id, at, service_levels=levels)
    await record(
        conn,
        event,
        case["account_ref"],
        fact.case_id,
        at,
        {"kind": fact.kind.value, "due_at": fact.due_at.isoformat()},
    )


async def on_verification_requested(
    conn: asyncpg.Connection, event: ReceivedEvent[VerificationRequested]
) -> None:
    requested = event.payload
    case = await _case(conn, requested.case_id)
    entry = {
        "verification_id": str(requested.verification_id),
        "purpose": requested.purpose.value,
        "person_role": requested.person_role.value,
        "outcome": None,
        "requested_at": requested.requested_at.isoformat(),
        "completed_at": None,
    }
    verifications = [*case["verifications"], entry]
    await _set(conn, event, requested.case_id, requested.requested_at, verifications=verifications)
    await record(
        conn,
        event,
        requested.account_ref,
        requested.case_id,
        requested.requested_at,
        {
            "verification_id": str(requested.verification_id),
            "purpose": requested.purpose.value,
            "person_role": requested.person_role.value,
            "risk_level": requested.risk_level.value,
        },
    )


async def on_verification_recorded(
    conn: asyncpg.Connection, event: ReceivedEvent[VerificationRecorded]
) -> None:
    recorded = event.payload
    case = await _case(conn, recorded.case_id)
    verification_id = str(recorded.verification_id)
    entry = {
        "verification_id": verification_id,
        "purpose": recorded.purpose.value,
        "person_role": recorded.person_role.value,
        "outcome": recorded.outcome,
        "requested_at": None,
        "completed_at": recorded.completed_at.isoformat(),
    }
    verifications = []
    for known in case["verifications"]:
        if known["verification_id"] == verification_id:
            entry["requested_at"] = known["requested_at"]
        else:
            verifications.append(known)
    verifications.append(entry)
    await _set(conn, event, recorded.case_id, recorded.completed_at, verifications=verifications)
    await record(
        conn,
        event,
        case["account_ref"],
        recorded.case_id,
        recorded.completed_at,
        {
            "verification_id": verification_id,
            "purpose": recorded.purpose.value,
            "person_role": recorded.person_role.value,
            "outcome": recorded.outcome,
            "reasons": recorded.reasons,
        },
    )


async def on_decision_recorded(
    conn: asyncpg.Connection, event: ReceivedEvent[DecisionRecorded]
) -> None:
    decided = event.payload
    await _set(conn, event, decided.case_id, decided.decided_at, decision=_json(decided))
    await record(
        conn,
        event,
        decided.account_ref,
        decided.case_id,
        decided.decided_at,
        {
            "outcome": decided.outcome.value,
            "reason_code": decided.reason_code,
            "policy_version": decided.policy_version,
            "threshold": decided.threshold,
            "facts": decided.facts,
            "suspension_rule": (
                f"{decided.suspension.rule_code} v{decided.suspension.rule_version}"
                if decided.suspension
                else None
            ),
        },
    )


async def on_suspension_linked(
    conn: asyncpg.Connection, event: ReceivedEvent[SuspensionLinked]
) -> None:
    linked = event.payload
    case = await _case(conn, linked.case_id)
    suspensions = [*case["suspensions"], _json(linked.suspension)]
    await _set(conn, event, linked.case_id, linked.linked_at, suspensions=suspensions)
    await record(
        conn,
        event,
        linked.account_ref,
        linked.case_id,
        linked.linked_at,
        {
            "suspension_id": str(linked.suspension.suspension_id),
            "rule_code": linked.suspension.rule_code,
            "rule_version": linked.suspension.rule_version,
            "threshold": linked.suspension.threshold,
        },
    )


async def on_report_recorded(
    conn: asyncpg.Connection, event: ReceivedEvent[ReportRecorded]
) -> None:
    report = event.payload
    await _set(conn, event, report.case_id, report.recorded_at, report=_json(report))
    case = await _case(conn, report.case_id)
    await record(
        conn,
        event,
        case["account_ref"],
        report.case_id,
        report.recorded_at,
        {
            "report_id": report.report_id,
            "reporter_category": report.reporter_category.value,
            # how many; None once the account is erased (as its redaction leaves it)
            "evidence": None if report.evidence is None else len(report.evidence),
        },
    )


async def on_note_added(conn: asyncpg.Connection, event: ReceivedEvent[NoteAdded]) -> None:
    note = event.payload
    await conn.execute(
        """INSERT INTO case_notes (note_id, case_id, account_ref, subject_id, author_id, text,
               added_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (note_id) DO NOTHING""",
        note.note_id,
        note.case_id,
        note.account_ref,
        note.data_subject_id,
        event.envelope.actor.id if event.envelope.actor else None,
        note.text,
        note.added_at,
    )
    await _set(conn, event, note.case_id, note.added_at)
    await record(
        conn, event, note.account_ref, note.case_id, note.added_at, {"note_id": str(note.note_id)}
    )


async def on_callback_requested(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackRequested]
) -> None:
    requested = event.payload
    case = await _case(conn, requested.case_id)
    entry = {
        "callback_id": str(requested.callback_id),
        "queue": requested.queue.value,
        "recipient_role": requested.recipient_role.value,
        "timezone": requested.timezone,
        "window_start": requested.window_start.isoformat(),
        "window_end": requested.window_end.isoformat(),
        "status": "requested",
        "attempts": 0,
    }
    await _set(
        conn,
        event,
        requested.case_id,
        requested.requested_at,
        callbacks=[*case["callbacks"], entry],
    )
    await record(
        conn,
        event,
        requested.account_ref,
        requested.case_id,
        requested.requested_at,
        {k: entry[k] for k in ("callback_id", "queue", "window_start", "window_end")},
    )


async def on_callback_recorded(
    conn: asyncpg.Connection, event: ReceivedEvent[CallbackRecorded]
) -> None:
    recorded = event.payload
    case = await _case(conn, recorded.case_id)
    callback_id = str(recorded.callback_id)
    callbacks = []
    found = False
    for entry in case["callbacks"]:
        if entry["callback_id"] == callback_id:
            entry = {**entry, "status": recorded.outcome.value, "attempts": recorded.attempts}
            found = True
        callbacks.append(entry)
    if not found:
        callbacks.append(
            {"callback_id": callback_id, "status": recorded.outcome.value, "attempts": 0}
        )
    await _set(conn, event, recorded.case_id, recorded.recorded_at, callbacks=callbacks)
    await record(
        conn,
        event,
        case["account_ref"],
        recorded.case_id,
        recorded.recorded_at,
        {
            "callback_id": callback_id,
            "outcome": recorded.outcome.value,
            "attempts": recorded.attempts,
        },
    )


async def on_case_escalated(conn: asyncpg.Connection, event: ReceivedEvent[CaseEscalated]) -> None:
    escalated = event.payload
    case = await _case(conn, escalated.case_id)
    entry = {
        "reason": escalated.reason,
        "level": escalated.level,
        "at": escalated.escalated_at.isoformat(),
    }
    await _set(
        conn,
        event,
        escalated.case_id,
        escalated.escalated_at,
        escalation_level=escalated.level,
        escalations=[*case["escalations"], entry],
    )
    await record(
        conn,
        event,
        escalated.account_ref,
        escalated.case_id,
        escalated.escalated_at,
        {"reason": escalated.reason, "level": escalated.level},
    )


async def on_case_reopened(conn: asyncpg.Connection, event: ReceivedEvent[CaseReopened]) -> None:
    reopened = event.payload
    await _set(conn, event, reopened.case_id, reopened.reopened_at, decision=None)
    await record(
        conn,
        event,
        reopened.account_ref,
        reopened.case_id,
        reopened.reopened_at,
        {
            "appeal": reopened.appeal,
            # None: the account was erased
            "evidence": None
            if reopened.evidence is None
            else [_json(e) for e in reopened.evidence],
        },
    )


async def on_case_closed(conn: asyncpg.Connection, event: ReceivedEvent[CaseClosed]) -> None:
    closed = event.payload
    await _set(conn, event, closed.case_id, closed.closed_at)
    case = await _case(conn, closed.case_id)
    await record(
        conn,
        event,
        case["account_ref"],
        closed.case_id,
        closed.closed_at,
        {"reason": closed.reason},
    )


handlers: dict[type[EventPayload], EventHandler] = {
    CaseOpened: on_case_opened,
    ContactAttached: on_contact_attached,
    CaseMerged: on_case_merged,
    ContactSplit: on_contact_split,
    CaseAssigned: on_case_assigned,
    StatusChanged: on_status_changed,
    PriorityChanged: on_priority_changed,
    ServiceLevelsScheduled: on_service_levels,
    ServiceLevelWarning: on_service_level_event,
    ServiceLevelBreached: on_service_level_event,
    VerificationRequested: on_verification_requested,
    VerificationRecorded: on_verification_recorded,
    DecisionRecorded: on_decision_recorded,
    SuspensionLinked: on_suspension_linked,
    ReportRecorded: on_report_recorded,
    NoteAdded: on_note_added,
    CallbackRequested: on_callback_requested,
    CallbackRecorded: on_callback_recorded,
    CaseEscalated: on_case_escalated,
    CaseReopened: on_case_reopened,
    CaseClosed: on_case_closed,
}


# -- reads ------------------------------------------------------------------------------------

COLUMNS = """case_id, account_ref, case_type, problem_category, status, customer_id, language,
    source_channel, source_ticket_id, opened_at, correlation_id, summary, priority, waiting_on,
    site_id, requester_role, proxy_relationship, viewer_ids, queue, assignee_id,
    escalation_level, escalations, contacts, service_levels, verifications, callbacks,
    suspensions, report, decision, merged_into, split_from, updated_at, subject_id"""
UNRESOLVED = "status NOT IN ('resolved', 'closed', 'merged')"


async def case_row(conn: asyncpg.Connection | asyncpg.Pool, case_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM case_views WHERE case_id = $1", case_id)
    return dict(row) if row else None


async def case_rows(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    ticket_id: UUID | None,
    account_ref: str | None,
    viewer_id: str | None,
    status: str | None,
    assignee_id: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM case_views
            WHERE ($1::uuid IS NULL OR case_id IN
                      (SELECT case_id FROM case_contacts WHERE ticket_id = $1))
              AND ($2::text IS NULL OR account_ref = $2)
              AND ($3::text IS NULL OR $3 = ANY(viewer_ids))
              AND ($4::text IS NULL OR status = $4)
              AND ($5::text IS NULL OR assignee_id = $5)
            ORDER BY opened_at DESC, case_id LIMIT $6""",
        ticket_id,
        account_ref,
        viewer_id,
        status,
        assignee_id,
        limit,
    )
    return [dict(row) for row in rows]


async def cases_of_account(conn: asyncpg.Connection, account_ref: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM case_views WHERE account_ref = $1 ORDER BY opened_at", account_ref
    )
    return [dict(row) for row in rows]


async def contacts_since(
    conn: asyncpg.Connection | asyncpg.Pool, account_ref: str, since: datetime
) -> int:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT count(*) FROM case_contacts WHERE account_ref = $1 AND at >= $2",
        account_ref,
        since,
    )


async def unresolved_count(conn: asyncpg.Connection | asyncpg.Pool, account_ref: str) -> int:
    return await conn.fetchval(  # type: ignore[no-any-return]
        f"SELECT count(*) FROM case_views WHERE account_ref = $1 AND {UNRESOLVED}", account_ref
    )


async def notes_of(conn: asyncpg.Connection | asyncpg.Pool, case_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT note_id, author_id, text, added_at FROM case_notes WHERE case_id = $1 "
        "ORDER BY added_at, note_id",
        case_id,
    )
    return [dict(row) for row in rows]


async def redact(conn: asyncpg.Connection, subject_id: str) -> None:
    """An erased person's own words leave the case file; the cases themselves stay."""
    await conn.execute("UPDATE case_views SET summary = NULL WHERE subject_id = $1", subject_id)
    await conn.execute("UPDATE case_contacts SET words = NULL WHERE subject_id = $1", subject_id)
    await conn.execute("UPDATE case_notes SET text = NULL WHERE subject_id = $1", subject_id)
    # the sealed words the case file copies from its events: the decision's explanation and
    # facts, the report's evidence
    for key in ("explanation", "facts"):
        await conn.execute(
            "UPDATE case_views SET decision = jsonb_set(decision, ARRAY[$2::text], "
            "'null'::jsonb) WHERE subject_id = $1 AND decision ? $2",
            subject_id,
            key,
        )
    await conn.execute(
        "UPDATE case_views SET report = jsonb_set(report, '{evidence}', 'null'::jsonb) "
        "WHERE subject_id = $1 AND report ? 'evidence'",
        subject_id,
    )
