"""The read models of cases, kept by the projection group ``cases.projections``.

Every handler is a deterministic function of the event (and the rows earlier events of the
same stream wrote), so ``frontdesk rebuild cases`` gives the same tables. Rows that several
streams touch are written commutatively: a contact row belongs to the stream that created it
(the merged case moves its own contacts; a split moves the contact in the source stream), so
replaying partition by partition ends in the same state as live consumption.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
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
from contracts.events.cases_accounts import (
    CASES_ACCOUNTS,
    CASES_STAFF,
    CustomerTagged,
    CustomerUntagged,
    StaffSkillsSet,
    SuspensionRecorded,
)
from contracts.topics import CASES_CASES
from runtime.consumer import ConsumerGroup, ReceivedEvent
from services.cases.domain.case_types import CASE_TYPES

READ_MODELS = (
    "case_views",
    "case_contacts",
    "case_notes",
    "account_timeline",
    "account_suspensions",
    "customer_tags",
    "staff_skills",
)


def _json(model: Any) -> Any:
    return json.loads(model.model_dump_json()) if hasattr(model, "model_dump_json") else model


async def _timeline(
    conn: asyncpg.Connection,
    event: ReceivedEvent,
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


async def _case(conn: asyncpg.Connection, case_id: UUID) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT account_ref, verifications, callbacks, suspensions, escalations, service_levels "
        "FROM case_views WHERE case_id = $1",
        case_id,
    )
    if row is None:
        raise LookupError(f"case {case_id} not projected yet")
    return dict(row)


async def _set(
    conn: asyncpg.Connection, event: ReceivedEvent, case_id: UUID, at: Any, **columns: Any
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


async def on_case_opened(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    opened = event.payload
    assert isinstance(opened, CaseOpened)
    viewers = [opened.customer_id] if opened.customer_id else []
    await conn.execute(
        """INSERT INTO case_views (case_id, account_ref, case_type, problem_category, status,
               customer_id, language, source_channel, source_ticket_id, opened_at,
               correlation_id, version, subject_id, summary, priority, waiting_on, site_id,
               requester_role, proxy_relationship, viewer_ids, queue, contacts, split_from,
               updated_at)
           VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                   'agent', $15, $16, $17, $18, $19, 1, $20, $9)
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
        viewers,
        CASE_TYPES[opened.case_type].queue.value,
        opened.split_from_case_id,
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
    await _timeline(
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


async def on_contact_attached(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    attached = event.payload
    assert isinstance(attached, ContactAttached)
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
    await _timeline(
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


async def on_case_merged(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    merged = event.payload
    assert isinstance(merged, CaseMerged)
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
    await _timeline(
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


async def on_contact_split(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    split = event.payload
    assert isinstance(split, ContactSplit)
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
    await _timeline(
        conn,
        event,
        case["account_ref"],
        split.case_id,
        split.split_at,
        {"contact_id": str(split.contact_id), "new_case_id": str(split.new_case_id)},
    )


async def on_case_assigned(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    assigned = event.payload
    assert isinstance(assigned, CaseAssigned)
    await _set(
        conn,
        event,
        assigned.case_id,
        assigned.assigned_at,
        queue=assigned.queue.value,
        assignee_id=assigned.assignee_id,
    )
    case = await _case(conn, assigned.case_id)
    await _timeline(
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


async def on_status_changed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    changed = event.payload
    assert isinstance(changed, StatusChanged)
    await _set(
        conn,
        event,
        changed.case_id,
        changed.changed_at,
        status=changed.to_status.value,
        waiting_on=changed.waiting_on.value,
    )
    case = await _case(conn, changed.case_id)
    await _timeline(
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


async def on_priority_changed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    changed = event.payload
    assert isinstance(changed, PriorityChanged)
    await _set(conn, event, changed.case_id, changed.changed_at, priority=changed.to_priority.value)
    case = await _case(conn, changed.case_id)
    await _timeline(
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


async def on_service_levels(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    scheduled = event.payload
    assert isinstance(scheduled, ServiceLevelsScheduled)
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


async def on_service_level_event(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    fact = event.payload
    assert isinstance(fact, ServiceLevelWarning | ServiceLevelBreached)
    at = fact.warned_at if isinstance(fact, ServiceLevelWarning) else fact.breached_at
    key = "warnings" if isinstance(fact, ServiceLevelWarning) else "breaches"
    case = await _case(conn, fact.case_id)
    levels = dict(case["service_levels"])
    levels[key] = [
        *levels.get(key, []),
        {"kind": fact.kind.value, "due_at": fact.due_at.isoformat(), "at": at.isoformat()},
    ]
    await _set(conn, event, fact.case_id, at, service_levels=levels)
    await _timeline(
        conn,
        event,
        case["account_ref"],
        fact.case_id,
        at,
        {"kind": fact.kind.value, "due_at": fact.due_at.isoformat()},
    )


async def on_verification_requested(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    requested = event.payload
    assert isinstance(requested, VerificationRequested)
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
    await _timeline(
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


async def on_verification_recorded(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    recorded = event.payload
    assert isinstance(recorded, VerificationRecorded)
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
    await _timeline(
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


async def on_decision_recorded(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    decided = event.payload
    assert isinstance(decided, DecisionRecorded)
    await _set(conn, event, decided.case_id, decided.decided_at, decision=_json(decided))
    await _timeline(
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


async def on_suspension_linked(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    linked = event.payload
    assert isinstance(linked, SuspensionLinked)
    case = await _case(conn, linked.case_id)
    suspensions = [*case["suspensions"], _json(linked.suspension)]
    await _set(conn, event, linked.case_id, linked.linked_at, suspensions=suspensions)
    await _timeline(
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


async def on_report_recorded(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    report = event.payload
    assert isinstance(report, ReportRecorded)
    await _set(conn, event, report.case_id, report.recorded_at, report=_json(report))
    case = await _case(conn, report.case_id)
    await _timeline(
        conn,
        event,
        case["account_ref"],
        report.case_id,
        report.recorded_at,
        {
            "report_id": report.report_id,
            "reporter_category": report.reporter_category.value,
            "evidence": len(report.evidence),
        },
    )


async def on_note_added(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    note = event.payload
    assert isinstance(note, NoteAdded)
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
    await _timeline(
        conn, event, note.account_ref, note.case_id, note.added_at, {"note_id": str(note.note_id)}
    )


async def on_callback_requested(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    requested = event.payload
    assert isinstance(requested, CallbackRequested)
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
    await _timeline(
        conn,
        event,
        requested.account_ref,
        requested.case_id,
        requested.requested_at,
        {k: entry[k] for k in ("callback_id", "queue", "window_start", "window_end")},
    )


async def on_callback_recorded(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    recorded = event.payload
    assert isinstance(recorded, CallbackRecorded)
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
    await _timeline(
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


async def on_case_escalated(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    escalated = event.payload
    assert isinstance(escalated, CaseEscalated)
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
    await _timeline(
        conn,
        event,
        escalated.account_ref,
        escalated.case_id,
        escalated.escalated_at,
        {"reason": escalated.reason, "level": escalated.level},
    )


async def on_case_reopened(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    reopened = event.payload
    assert isinstance(reopened, CaseReopened)
    await _set(conn, event, reopened.case_id, reopened.reopened_at, decision=None)
    await _timeline(
        conn,
        event,
        reopened.account_ref,
        reopened.case_id,
        reopened.reopened_at,
        {"appeal": reopened.appeal, "evidence": [_json(e) for e in reopened.evidence]},
    )


async def on_case_closed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    closed = event.payload
    assert isinstance(closed, CaseClosed)
    await _set(conn, event, closed.case_id, closed.closed_at)
    case = await _case(conn, closed.case_id)
    await _timeline(
        conn,
        event,
        case["account_ref"],
        closed.case_id,
        closed.closed_at,
        {"reason": closed.reason},
    )


# -- accounts and staff -----------------------------------------------------------------------


async def on_suspension_recorded(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    recorded = event.payload
    assert isinstance(recorded, SuspensionRecorded)
    rule = recorded.suspension
    await conn.execute(
        """INSERT INTO account_suspensions (suspension_id, account_ref, scope, rule, suspended_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (suspension_id) DO NOTHING""",
        rule.suspension_id,
        recorded.account_ref,
        recorded.scope.value,
        _json(rule),
        rule.suspended_at,
    )
    await _timeline(
        conn,
        event,
        recorded.account_ref,
        None,
        rule.suspended_at,
        {
            "suspension_id": str(rule.suspension_id),
            "scope": recorded.scope.value,
            "rule_code": rule.rule_code,
            "rule_version": rule.rule_version,
            "threshold": rule.threshold,
            "facts": rule.facts,
        },
    )


async def on_customer_tagged(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    tagged = event.payload
    assert isinstance(tagged, CustomerTagged)
    await conn.execute(
        """INSERT INTO customer_tags (account_ref, tag, campaign_id, case_id, tagged_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_ref, tag) DO UPDATE SET campaign_id = EXCLUDED.campaign_id,
               case_id = EXCLUDED.case_id, tagged_at = EXCLUDED.tagged_at""",
        tagged.account_ref,
        tagged.tag,
        tagged.campaign_id,
        tagged.case_id,
        tagged.tagged_at,
    )
    await _timeline(
        conn,
        event,
        tagged.account_ref,
        tagged.case_id,
        tagged.tagged_at,
        {"tag": tagged.tag, "campaign_id": tagged.campaign_id},
    )


async def on_customer_untagged(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    untagged = event.payload
    assert isinstance(untagged, CustomerUntagged)
    await conn.execute(
        "DELETE FROM customer_tags WHERE account_ref = $1 AND tag = $2",
        untagged.account_ref,
        untagged.tag,
    )
    await _timeline(
        conn, event, untagged.account_ref, None, untagged.untagged_at, {"tag": untagged.tag}
    )


async def on_staff_skills(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    skills = event.payload
    assert isinstance(skills, StaffSkillsSet)
    await conn.execute(
        """INSERT INTO staff_skills (staff_id, queues, active, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (staff_id) DO UPDATE SET queues = EXCLUDED.queues,
               active = EXCLUDED.active, updated_at = EXCLUDED.updated_at""",
        skills.staff_id,
        [q.value for q in skills.queues],
        skills.active,
        skills.set_at,
    )


Handler = Callable[[asyncpg.Connection, ReceivedEvent], Awaitable[None]]
HANDLERS: dict[str, Handler] = {
    "cases.case_opened": on_case_opened,
    "cases.contact_attached": on_contact_attached,
    "cases.case_merged": on_case_merged,
    "cases.contact_split": on_contact_split,
    "cases.case_assigned": on_case_assigned,
    "cases.status_changed": on_status_changed,
    "cases.priority_changed": on_priority_changed,
    "cases.service_levels_scheduled": on_service_levels,
    "cases.service_level_warning": on_service_level_event,
    "cases.service_level_breached": on_service_level_event,
    "cases.verification_requested": on_verification_requested,
    "cases.verification_recorded": on_verification_recorded,
    "cases.decision_recorded": on_decision_recorded,
    "cases.suspension_linked": on_suspension_linked,
    "cases.report_recorded": on_report_recorded,
    "cases.note_added": on_note_added,
    "cases.callback_requested": on_callback_requested,
    "cases.callback_recorded": on_callback_recorded,
    "cases.case_escalated": on_case_escalated,
    "cases.case_reopened": on_case_reopened,
    "cases.case_closed": on_case_closed,
    "cases.suspension_recorded": on_suspension_recorded,
    "cases.customer_tagged": on_customer_tagged,
    "cases.customer_untagged": on_customer_untagged,
    "cases.staff_skills_set": on_staff_skills,
}


def projection_group() -> ConsumerGroup:
    return ConsumerGroup(
        name="cases.projections",
        topics=[CASES_CASES, CASES_ACCOUNTS, CASES_STAFF],
        handlers=HANDLERS,
        read_models=READ_MODELS,
        description="Case views, contacts, notes, the account timeline, suspensions, tags and "
        "staff skills, from the cases service's own topics.",
    )


def handled_event_types() -> set[str]:
    return set(HANDLERS)


def payload_types() -> list[type[EventPayload]]:
    """For tests: every event type the projection handles is a registered payload."""
    from contracts import REGISTRY

    return [REGISTRY.definition(name).current for name in HANDLERS]
