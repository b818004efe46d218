"""Campaigns: start (the audience snapshot), the throttled batches (a durable timer), cancel;
the read models they need (tag members, each account's cases, the campaigns list).

A campaign's messages are ordinary notifications (purpose ``marketing``, ``campaign_id`` set)
requested through ``application.request_message`` and sent by the dispatcher. Their id is
derived from (the campaign's ``campaign_started`` event, ``account:<ref>``, ``campaign``), so a
target is requested at most once and the provider gets the same idempotency key on every
attempt, across crashes, retried batches and cancel races.

Each batch runs in its timer's transaction: it re-checks each target's tag (read model),
consent (from the event store, consistent with the last preference command), open complaints
or appeals (read model) and hours, requests the messages — each due at the person's next
allowed moment (``not_before``) — appends ``campaign_progressed`` and schedules the next batch,
all or nothing. A cancel first deletes the batch timer (waiting for a batch in flight to commit,
since the firing batch holds the timer row), takes the campaign's lock (a batch that starts
later waits for the cancel and then sees it), withdraws the campaign's messages not sent yet
(``notification_withdrawn``) and appends ``campaign_cancelled``: a target was either in a
committed batch or is never messaged, and nothing goes out after the cancel.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts.events.cases import (
    CaseClosed,
    CaseEscalated,
    CaseMerged,
    CaseOpened,
    CaseReopened,
    CaseStatus,
    DecisionRecorded,
    StatusChanged,
)
from contracts.events.cases_accounts import CASES_ACCOUNTS, CustomerTagged, CustomerUntagged
from contracts.events.notifications import (
    MessageChannel,
    MessagePurpose,
    NotificationKind,
    WithdrawalReason,
)
from contracts.events.notifications_campaigns import (
    NOTIFICATIONS_CAMPAIGNS,
    CampaignCancelled,
    CampaignCompleted,
    CampaignProgressed,
    CampaignStarted,
)
from contracts.topics import CASES_CASES
from runtime.consumer import ConsumerGroup, ReceivedEvent
from runtime.errors import NotFound
from runtime.eventstore import CommandContext, EventStore, RecordedEvent
from runtime.scheduler import Timer, TimerHandler, cancel, schedule
from runtime.telemetry import log_fields
from services.notifications.application.messages import (
    COMPLAINT_OR_APPEAL,
    SEND_TIMER,
    SERVICE_ACTOR,
    decide_and_append,
    excluded_sql,
    has_open_complaint_or_appeal,
    marketing_moment,
    notification_stream,
    preferences_of,
    reach_of,
    request_message,
)
from services.notifications.config import NotificationSettings
from services.notifications.domain.campaigns import (
    CAMPAIGN,
    Audience,
    Campaign,
    CampaignStatus,
    CancelCampaign,
    Member,
    StartCampaign,
    TargetCheck,
    campaign_stream,
    content_for,
    decide_batch,
    decide_cancel,
    decide_start,
    may_cancel,
    next_batch_positions,
    select_audience,
)
from services.notifications.domain.messages import (
    NOTIFICATION,
    RequestNotification,
    decide_withdraw,
    notification_id,
)

log = logging.getLogger(__name__)

BATCH_TIMER = "campaign.batch"

_ADDRESS_COLUMN = {
    MessageChannel.SMS: "phone",
    MessageChannel.EMAIL: "email",
    MessageChannel.WECHAT: "wechat",
    MessageChannel.QQ: "qq",
}

# messages still waiting: requested, perhaps retried, never sent, failed or withdrawn
_WAITING = ["notifications.notification_requested", "notifications.notification_attempt_failed"]


def batch_timer_id(campaign: UUID) -> str:
    return f"{BATCH_TIMER}:{campaign}"


async def lock_campaign(conn: asyncpg.Connection, campaign: UUID) -> None:
    """Serialize a campaign's batches and its cancel (until the transaction ends): a batch that
    starts while a cancel runs waits for it, then finds the campaign cancelled."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", campaign_stream(campaign))


async def load_campaign(
    conn: asyncpg.Connection, store: EventStore, campaign: UUID
) -> tuple[Campaign, UUID | None]:
    """The campaign, and the id of its ``campaign_started`` event (what its messages are
    triggered by)."""
    state, history = await _load(conn, store, campaign)
    return state, history[0].envelope.event_id if history else None


async def _load(
    conn: asyncpg.Connection, store: EventStore, campaign: UUID
) -> tuple[Campaign, list[RecordedEvent]]:
    history = await store.load(conn, campaign_stream(campaign))
    return CAMPAIGN.fold([event.payload for event in history]), history


def message_of(started_event: UUID, account_ref: str) -> UUID:
    """The id of the campaign's message to a target (derived: requested at most once)."""
    return notification_id(started_event, f"account:{account_ref}", NotificationKind.CAMPAIGN)


async def members_of(conn: asyncpg.Connection, tag: str, channel: MessageChannel) -> list[Member]:
    """The tag's members as the read models see them now: consent on ``channel`` (with an
    address for it) and whether they have an open complaint or appeal."""
    address = _ADDRESS_COLUMN[channel]
    rows = await conn.fetch(
        f"""SELECT m.account_ref,
                   (p.{address} IS NOT NULL AND $2 = ANY(p.marketing_consent)) AS consented,
                   EXISTS ({excluded_sql("m.account_ref", "$3")}) AS excluded
            FROM campaign_tag_members m
            LEFT JOIN recipient_preferences p ON p.recipient_ref = 'account:' || m.account_ref
            WHERE m.tag = $1""",
        tag,
        channel.value,
        COMPLAINT_OR_APPEAL,
    )
    return [
        Member(
            account_ref=row["account_ref"],
            marketing_consent=frozenset({channel}) if row["consented"] else frozenset(),
            open_complaint_or_appeal=row["excluded"],
        )
        for row in rows
    ]


async def audience_of(conn: asyncpg.Connection, tag: str, channel: MessageChannel) -> Audience:
    return select_audience(await members_of(conn, tag, channel), channel)


async def start_campaign(
    conn: asyncpg.Connection,
    store: EventStore,
    command: StartCampaign,
    context: CommandContext,
) -> Campaign:
    """Record the start with its audience snapshot; the first batch is due at once."""
    state, _ = await decide_and_append(
        conn,
        store,
        CAMPAIGN,
        campaign_stream(command.campaign_id),
        lambda state: decide_start(state, command),
        context,
    )
    targets = command.audience.targets
    if targets:
        await conn.execute(
            """INSERT INTO campaign_targets (campaign_id, position, account_ref)
               SELECT $1, position - 1, account_ref
               FROM unnest($2::text[]) WITH ORDINALITY AS t(account_ref, position)""",
            command.campaign_id,
            list(targets),
        )
        await schedule(
            conn,
            batch_timer_id(command.campaign_id),
            BATCH_TIMER,
            command.at,
            {
                "campaign_id": str(command.campaign_id),
                "correlation_id": str(context.correlation_id),
            },
        )
    log.info(
        "campaign started",
        extra=log_fields(
            campaign_id=str(command.campaign_id),
            targeted=len(targets),
            skipped_consent=len(command.audience.skipped_consent),
            skipped_excluded=len(command.audience.skipped_excluded),
        ),
    )
    return state


async def cancel_campaign(
    conn: asyncpg.Connection,
    store: EventStore,
    campaign: UUID,
    command: CancelCampaign,
    context: CommandContext,
) -> Campaign:
    """Stop the next batch and withdraw the messages not sent yet. The timer goes first: if a
    batch holds it (firing), this waits for that batch to commit, then sees its progress; the
    campaign's lock keeps any later batch out until the cancel committed."""
    await cancel(conn, batch_timer_id(campaign))
    await lock_campaign(conn, campaign)
    state, history = await _load(conn, store, campaign)
    if state.status is CampaignStatus.NONE:
        raise NotFound(f"campaign {campaign} not found")
    may_cancel(state)
    withdrawn = await withdraw_waiting(conn, store, history, command.at, context)
    command = replace(command, withdrawn=withdrawn)
    state, _ = await decide_and_append(
        conn,
        store,
        CAMPAIGN,
        campaign_stream(campaign),
        lambda state: decide_cancel(state, command),
        context,
    )
    # a batch that committed while we waited scheduled the next one: drop that too (a timer
    # that still fired would find the campaign cancelled and do nothing)
    await cancel(conn, batch_timer_id(campaign))
    return state


async def withdraw_waiting(
    conn: asyncpg.Connection,
    store: EventStore,
    history: list[RecordedEvent],
    at: datetime,
    context: CommandContext,
) -> int:
    """Withdraw the campaign's messages that are requested but not sent (waiting for the
    person's hours, or retrying). Each message's send timer goes first: a send in flight holds
    it, so this waits for that send to commit and then finds the message sent (it stays
    sent). Returns how many were withdrawn."""
    if not history:
        return 0
    started_event = history[0].envelope.event_id
    streams = [
        notification_stream(message_of(started_event, account))
        for event in history
        if isinstance(event.payload, CampaignProgressed)
        for account in event.payload.requested
    ]
    rows = await conn.fetch(
        """SELECT stream_id FROM events WHERE stream_id = ANY($1::text[])
           GROUP BY stream_id HAVING bool_and(event_type = ANY($2::text[]))
           ORDER BY stream_id""",
        streams,
        _WAITING,
    )
    withdrawn = 0
    for row in rows:
        stream = row["stream_id"]
        timer = f"{SEND_TIMER}:{stream.removeprefix('notification-')}"
        await cancel(conn, timer)
        _, appended = await decide_and_append(
            conn,
            store,
            NOTIFICATION,
            stream,
            lambda state: decide_withdraw(state, WithdrawalReason.CAMPAIGN_CANCELLED, at),
            context,
        )
        await cancel(conn, timer)  # a failed attempt that committed meanwhile re-scheduled it
        withdrawn += len(appended)
    if withdrawn:
        log.info("campaign messages withdrawn", extra=log_fields(withdrawn=withdrawn))
    return withdrawn


async def run_batch(
    conn: asyncpg.Connection,
    store: EventStore,
    campaign: UUID,
    context: CommandContext,
    now: datetime,
    settings: NotificationSettings | None = None,
) -> Campaign:
    """One throttled batch, in the caller's (the timer's) transaction."""
    settings = settings or _settings()
    await lock_campaign(conn, campaign)
    state, started_event = await load_campaign(conn, store, campaign)
    positions = next_batch_positions(state)
    if not positions:
        return state
    assert started_event is not None
    assert state.channel is not None
    channel = state.channel
    rows = await conn.fetch(
        """SELECT account_ref FROM campaign_targets
           WHERE campaign_id = $1 AND position >= $2 AND position < $3 ORDER BY position""",
        campaign,
        positions.start,
        positions.stop,
    )
    checks, reaches, moments = [], {}, {}
    for row in rows:
        account = row["account_ref"]
        recipient = f"account:{account}"
        reach = await reach_of(conn, store, recipient)
        moment = marketing_moment(await preferences_of(conn, store, recipient), settings, now)
        tagged = await conn.fetchval(
            "SELECT 1 FROM campaign_tag_members WHERE tag = $1 AND account_ref = $2",
            state.tag,
            account,
        )
        reaches[account], moments[account] = reach, moment
        checks.append(
            TargetCheck(
                account,
                consented=channel in reach.marketing_consent,
                excluded=await has_open_complaint_or_appeal(conn, account),
                tagged=tagged is not None,
                reachable_hours=moment is not None,
            )
        )
    decision = decide_batch(state, checks, now)
    state, _ = await decide_and_append(
        conn, store, CAMPAIGN, campaign_stream(campaign), lambda _: decision.events, context
    )
    for account in decision.requested:
        reach = reaches[account]
        content = content_for(state.contents, state.default_language, reach.language)
        await request_message(
            conn,
            store,
            RequestNotification(
                kind=NotificationKind.CAMPAIGN,
                channels=(channel,),
                recipient_ref=f"account:{account}",
                language=content.language,
                triggered_by=started_event,
                variables={"title": content.title, "body": content.body},
                at=now,
                purpose=MessagePurpose.MARKETING,
                account_ref=account,
                timezone=reach.timezone,
                addresses={channel: reach.addresses[channel]},
                campaign_id=campaign,
                # held until the person's next allowed moment (None: they may get it now)
                not_before=moment if (moment := moments[account]) and moment > now else None,
            ),
            context,
        )
    if state.status is CampaignStatus.RUNNING:
        await schedule(
            conn,
            batch_timer_id(campaign),
            BATCH_TIMER,
            now + state.throttle.interval,
            {"campaign_id": str(campaign), "correlation_id": str(context.correlation_id)},
        )
    return state


def _settings() -> NotificationSettings:
    from services.notifications.wiring import SETTINGS  # the process-wide settings

    return SETTINGS


def campaign_timer_handlers(
    store: EventStore, settings: NotificationSettings | None = None
) -> dict[str, TimerHandler]:
    async def on_batch(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        context = CommandContext(
            actor=SERVICE_ACTOR, correlation_id=UUID(timer.payload["correlation_id"])
        )
        await run_batch(
            conn, store, UUID(timer.payload["campaign_id"]), context, now, settings or _settings()
        )

    return {BATCH_TIMER: on_batch}


# -- read models ------------------------------------------------------------------------------


async def project_tagged(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    tagged = event.payload
    assert isinstance(tagged, CustomerTagged)
    await conn.execute(
        """INSERT INTO campaign_tag_members (tag, account_ref, tagged_at) VALUES ($1, $2, $3)
           ON CONFLICT (tag, account_ref) DO NOTHING""",
        tagged.tag,
        tagged.account_ref,
        tagged.tagged_at,
    )


async def project_untagged(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    untagged = event.payload
    assert isinstance(untagged, CustomerUntagged)
    await conn.execute(
        "DELETE FROM campaign_tag_members WHERE tag = $1 AND account_ref = $2",
        untagged.tag,
        untagged.account_ref,
    )


async def project_case_opened(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    opened = event.payload
    assert isinstance(opened, CaseOpened)
    await conn.execute(
        """INSERT INTO campaign_account_cases (case_id, account_ref, case_type, open)
           VALUES ($1, $2, $3, true) ON CONFLICT (case_id) DO NOTHING""",
        opened.case_id,
        opened.account_ref,
        opened.case_type.value,
    )


_CLOSED = {CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.MERGED}


async def project_status_changed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    changed = event.payload
    assert isinstance(changed, StatusChanged)
    await conn.execute(
        "UPDATE campaign_account_cases SET open = $2 WHERE case_id = $1",
        changed.case_id,
        changed.to_status not in _CLOSED,
    )


async def project_case_reopened(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    reopened = event.payload
    assert isinstance(reopened, CaseReopened)
    await conn.execute(
        """UPDATE campaign_account_cases SET open = true, appealed = appealed OR $2
           WHERE case_id = $1""",
        reopened.case_id,
        reopened.appeal,
    )


async def project_case_escalated(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    escalated = event.payload
    assert isinstance(escalated, CaseEscalated)
    await conn.execute(
        "UPDATE campaign_account_cases SET escalated = true WHERE case_id = $1",
        escalated.case_id,
    )


async def project_case_ended(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    """Decided (resolved), closed, or merged into another case: no longer open."""
    ended = event.payload
    assert isinstance(ended, DecisionRecorded | CaseClosed | CaseMerged)
    if isinstance(ended, CaseMerged) and ended.case_id != ended.merged_case_id:
        return  # the survivor's copy: it stays open
    await conn.execute(
        "UPDATE campaign_account_cases SET open = false WHERE case_id = $1", ended.case_id
    )


async def project_campaign_started(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    started = event.payload
    assert isinstance(started, CampaignStarted)
    await conn.execute(
        """INSERT INTO campaigns (campaign_id, name, tag, channel, status, rate_per_minute,
               members, targeted, skipped_consent, skipped_excluded, started_by, started_at)
           VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (campaign_id) DO NOTHING""",
        started.campaign_id,
        started.name,
        started.tag,
        started.channel.value,
        started.rate_per_minute,
        started.members,
        started.targeted,
        started.skipped_consent,
        started.skipped_excluded,
        started.started_by,
        started.started_at,
    )


async def project_campaign_progressed(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    progressed = event.payload
    assert isinstance(progressed, CampaignProgressed)
    await conn.execute(
        """UPDATE campaigns SET processed = $2, requested = requested + $3,
               skipped_consent = skipped_consent + $4, skipped_excluded = skipped_excluded + $5,
               skipped_untagged = skipped_untagged + $6, skipped_hours = skipped_hours + $7
           WHERE campaign_id = $1 AND processed < $2""",
        progressed.campaign_id,
        progressed.processed,
        len(progressed.requested),
        len(progressed.skipped_consent),
        len(progressed.skipped_excluded),
        len(progressed.skipped_untagged),
        len(progressed.skipped_hours),
    )


async def project_campaign_ended(conn: asyncpg.Connection, event: ReceivedEvent) -> None:
    ended = event.payload
    assert isinstance(ended, CampaignCompleted | CampaignCancelled)
    status, at = (
        ("completed", ended.completed_at)
        if isinstance(ended, CampaignCompleted)
        else ("cancelled", ended.cancelled_at)
    )
    await conn.execute(
        "UPDATE campaigns SET status = $2, finished_at = $3 WHERE campaign_id = $1",
        ended.campaign_id,
        status,
        at,
    )


def campaign_consumer_groups(store: EventStore) -> list[ConsumerGroup]:
    return [
        ConsumerGroup(
            name="notifications.campaign_audience",
            topics=[CASES_ACCOUNTS, CASES_CASES],
            handlers={
                "cases.customer_tagged": project_tagged,
                "cases.customer_untagged": project_untagged,
                "cases.case_opened": project_case_opened,
                "cases.status_changed": project_status_changed,
                "cases.case_reopened": project_case_reopened,
                "cases.case_escalated": project_case_escalated,
                "cases.decision_recorded": project_case_ended,
                "cases.case_closed": project_case_ended,
                "cases.case_merged": project_case_ended,
            },
            read_models=("campaign_tag_members", "campaign_account_cases"),
            description="Who carries each tag, and who has an open complaint or appeal.",
        ),
        ConsumerGroup(
            name="notifications.campaigns",
            topics=[NOTIFICATIONS_CAMPAIGNS],
            handlers={
                "notifications.campaign_started": project_campaign_started,
                "notifications.campaign_progressed": project_campaign_progressed,
                "notifications.campaign_completed": project_campaign_ended,
                "notifications.campaign_cancelled": project_campaign_ended,
            },
            read_models=("campaigns",),
            description="The campaigns and their progress.",
        ),
    ]
