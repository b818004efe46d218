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

A verified organization's campaign (``organization_id``) gathers the same facts for its own
contact centre: the organization as verification verified it (to start, and its legal name to
sign each message), its own tag's members, and each person's consent to its marketing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts.events.notifications import (
    MessageChannel,
    MessagePurpose,
    NotificationKind,
    WithdrawalReason,
)
from runtime.auth import Principal
from runtime.context import CommandContext
from runtime.errors import NotFound
from runtime.eventstore import EventStore
from runtime.organizations import verified_organization
from runtime.repository import Repository
from runtime.running import RunningService
from runtime.scheduler import Timer, TimerHandler, cancel, schedule
from runtime.telemetry import log_fields
from services.notifications.application.messages import (
    SERVICE,
    messages,
    notification_stream,
    request_message,
    send_timer_id,
)
from services.notifications.application.recipients import recipient_of
from services.notifications.config import NotificationSettings
from services.notifications.domain.campaigns import (
    CAMPAIGN,
    Audience,
    Campaign,
    CampaignStatus,
    CancelCampaign,
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
    sender_variables,
)
from services.notifications.domain.messages import (
    RequestNotification,
    decide_withdraw,
    notification_id,
)
from services.notifications.domain.recipients import (
    marketing_consented,
    marketing_moment,
    reach_of,
)
from services.notifications.projections.campaign_audience import (
    has_open_complaint_or_appeal,
    is_tagged,
    members_of,
)
from services.notifications.wiring import NotificationsWiring

log = logging.getLogger(__name__)

BATCH_TIMER = "campaign.batch"

# messages still waiting: requested, perhaps retried, never sent, failed or withdrawn
_WAITING = ["notifications.notification_requested", "notifications.notification_attempt_failed"]


def campaigns(store: EventStore) -> Repository[Campaign]:
    return Repository(store, CAMPAIGN)


def batch_timer_id(campaign: UUID) -> str:
    return f"{BATCH_TIMER}:{campaign}"


async def lock_campaign(conn: asyncpg.Connection, campaign: UUID) -> None:
    """Serialize a campaign's batches and its cancel (until the transaction ends): a batch that
    starts while a cancel runs waits for it, then finds the campaign cancelled."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", campaign_stream(campaign))


async def started_event_of(conn: asyncpg.Connection, campaign: UUID) -> UUID | None:
    """The id of the campaign's ``campaign_started`` event: what its messages are triggered
    by (their ids derive from it)."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT event_id FROM events WHERE stream_id = $1 AND stream_version = 1",
        campaign_stream(campaign),
    )


async def existing_campaign(
    conn: asyncpg.Connection, store: EventStore, campaign: UUID, principal: Principal | None = None
) -> Campaign:
    """The campaign; NotFound as well when ``principal`` does not work in the contact centre
    that runs it (another organization's campaign, or the platform's, is not revealed)."""
    state = await campaigns(store).state(conn, campaign_stream(campaign))
    if state.status is CampaignStatus.NONE or (
        principal is not None and not principal.works_for(state.organization_id)
    ):
        raise NotFound(f"campaign {campaign} not found")
    return state


async def campaign_owner(
    conn: asyncpg.Connection, store: EventStore, campaign: UUID
) -> UUID | None:
    """Whose contact centre runs the campaign (None: the platform's own)."""
    return (await campaigns(store).state(conn, campaign_stream(campaign))).organization_id


def message_of(started_event: UUID, account_ref: str) -> UUID:
    """The id of the campaign's message to a target (derived: requested at most once)."""
    return notification_id(started_event, f"account:{account_ref}", NotificationKind.CAMPAIGN)


async def audience_of(
    conn: asyncpg.Connection, tag: str, channel: MessageChannel, organization_id: UUID | None
) -> Audience:
    """The members of the owner's tag (None: the platform's) split into targets and those
    skipped (``select_audience``), by their consent to that owner's marketing."""
    return select_audience(await members_of(conn, tag, channel, organization_id), channel)


async def start_campaign(
    conn: asyncpg.Connection,
    store: EventStore,
    command: StartCampaign,
    context: CommandContext,
) -> Campaign:
    """Record the start with its audience snapshot; the first batch is due at once. An
    organization's campaign needs the organization verified (the fact gathered here)."""
    if command.organization_id is not None:
        verified = await verified_organization(conn, command.organization_id)
        command = replace(command, verified=verified)
    executed = await campaigns(store).execute(
        conn,
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
            {"campaign_id": str(command.campaign_id)},
            context,
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
    return executed.state


async def cancel_campaign(
    conn: asyncpg.Connection,
    store: EventStore,
    campaign: UUID,
    command: CancelCampaign,
    context: CommandContext,
    principal: Principal | None = None,
) -> Campaign:
    """Stop the next batch and withdraw the messages not sent yet. The timer goes first: if a
    batch holds it (firing), this waits for that batch to commit, then sees its progress; the
    campaign's lock keeps any later batch out until the cancel committed. Another contact
    centre's campaign is not found before anything is touched (its owner never changes)."""
    if principal is not None:
        await existing_campaign(conn, store, campaign, principal)
    await cancel(conn, batch_timer_id(campaign))
    await lock_campaign(conn, campaign)
    state = await existing_campaign(conn, store, campaign)
    may_cancel(state)
    withdrawn = await withdraw_waiting(conn, store, campaign, state, command.at, context)
    command = replace(command, withdrawn=withdrawn)
    executed = await campaigns(store).execute(
        conn, campaign_stream(campaign), lambda state: decide_cancel(state, command), context
    )
    # a batch that committed while we waited scheduled the next one: drop that too (a timer
    # that still fired would find the campaign cancelled and do nothing)
    await cancel(conn, batch_timer_id(campaign))
    return executed.state


async def withdraw_waiting(
    conn: asyncpg.Connection,
    store: EventStore,
    campaign: UUID,
    state: Campaign,
    at: datetime,
    context: CommandContext,
) -> int:
    """Withdraw the campaign's messages that are requested but not sent (waiting for the
    person's hours, or retrying). Each message's send timer goes first: a send in flight holds
    it, so this waits for that send to commit and then finds the message sent (it stays
    sent). Returns how many were withdrawn."""
    started_event = await started_event_of(conn, campaign)
    if started_event is None:
        return 0
    # the targets its batches handled so far (those it skipped have no message)
    handled = await conn.fetch(
        """SELECT account_ref FROM campaign_targets WHERE campaign_id = $1 AND position < $2
           ORDER BY position""",
        campaign,
        state.processed,
    )
    streams = [
        notification_stream(message_of(started_event, row["account_ref"])) for row in handled
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
        timer = send_timer_id(UUID(stream.removeprefix("notification-")))
        await cancel(conn, timer)
        executed = await messages(store).execute(
            conn,
            stream,
            lambda state: decide_withdraw(state, WithdrawalReason.CAMPAIGN_CANCELLED, at),
            context,
        )
        await cancel(conn, timer)  # a failed attempt that committed meanwhile re-scheduled it
        withdrawn += len(executed.events)
    if withdrawn:
        log.info("campaign messages withdrawn", extra=log_fields(withdrawn=withdrawn))
    return withdrawn


async def run_batch(
    conn: asyncpg.Connection,
    store: EventStore,
    campaign: UUID,
    context: CommandContext,
    now: datetime,
    settings: NotificationSettings,
) -> Campaign:
    """One throttled batch, in the caller's (the timer's) transaction."""
    await lock_campaign(conn, campaign)
    repository = campaigns(store)
    stream = campaign_stream(campaign)
    state = await repository.state(conn, stream)
    positions = next_batch_positions(state)
    if not positions:
        return state
    started_event = await started_event_of(conn, campaign)
    assert started_event is not None
    assert state.channel is not None
    channel = state.channel
    organization = state.organization_id
    sender = sender_variables(await verified_organization(conn, organization))
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
        recipient = await recipient_of(conn, store, account)
        prefs = recipient.preferences
        reach = reach_of(prefs)
        moment = marketing_moment(prefs, settings, now)
        reaches[account], moments[account] = reach, moment
        checks.append(
            TargetCheck(
                account,
                consented=marketing_consented(prefs, channel, recipient.consent_to(organization)),
                excluded=await has_open_complaint_or_appeal(conn, account),
                tagged=await is_tagged(conn, state.tag, account, organization),
                reachable_hours=moment is not None,
            )
        )
    executed = await repository.execute(
        conn, stream, lambda state: decide_batch(state, checks, now).events, context
    )
    state = executed.state
    for account in decide_batch(executed.before, checks, now).requested:
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
                variables={"title": content.title, "body": content.body, **sender},
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
            {"campaign_id": str(campaign)},
            context,
        )
    return state


def campaign_timers(runtime: RunningService) -> dict[str, TimerHandler]:
    async def on_batch(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        wiring = runtime.wiring
        assert isinstance(wiring, NotificationsWiring)
        await run_batch(
            conn,
            runtime.store,
            UUID(timer.payload["campaign_id"]),
            timer.context(SERVICE),
            now,
            wiring.settings,
        )

    return {BATCH_TIMER: on_batch}
