"""Recipients: a person's preferences (set by staff, withdrawn by an unsubscribe link or an
opt-out reply), read consistently from their stream to reach them, and their marketing
consent to each verified organization (recorded by that organization's staff, withdrawn by
the unsubscribe link of that organization's campaign or by an opt-out reply).

Inbound replies from the SMS, WeChat and QQ providers: a provider posts each reply a person
sent to one of our numbers or accounts to ``POST /notifications/webhooks/inbound``
(HMAC-signed like the delivery receipts). A reply that is only ``TD``, ``退订`` or ``STOP``
(``domain.recipients.opt_out_keyword``) withdraws marketing consent on that channel — to the
platform and to every organization — for every account whose preferences (read model
``recipient_preferences``, as stored) name that address on that channel; each account's own
stream decides (``decide_opt_out``: the read model may lag). Campaign messages already
waiting for those people are withdrawn when their moment comes (the dispatcher checks consent
again). Anything else is ignored: a person's other replies are not read by anyone. Neither
the address nor the text is stored or logged: ``inbound_replies`` keeps the provider's id (a
webhook delivered twice changes nothing), the channel, whether it was an opt-out and how many
accounts it concerned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts.events.notifications import MessageChannel, RecipientPreferencesSet
from runtime.context import CommandContext
from runtime.eventstore import EventStore
from runtime.organizations import verified_organization
from runtime.repository import Repository
from runtime.telemetry import log_fields
from services.notifications.domain.recipients import (
    RECIPIENT,
    OptOut,
    Reach,
    Recipient,
    SetOrganizationConsent,
    SetPreferences,
    Unsubscribe,
    decide_opt_out,
    decide_organization_consent,
    decide_preferences,
    decide_unsubscribe,
    opt_out_keyword,
    reach_of,
    recipient_stream,
    require_inbound_channel,
    sender_address,
)
from services.notifications.projections.preferences import accounts_with_address

log = logging.getLogger(__name__)


def recipients(store: EventStore) -> Repository[Recipient]:
    return Repository(store, RECIPIENT)


async def recipient_of(conn: asyncpg.Connection, store: EventStore, account_ref: str) -> Recipient:
    """The person's preferences and consents, read from their stream (consistent with the
    last command that set them)."""
    return await recipients(store).state(conn, recipient_stream(account_ref))


async def preferences_of(
    conn: asyncpg.Connection, store: EventStore, recipient_ref: str | None
) -> RecipientPreferencesSet | None:
    """The person's own preferences, read from their stream (consistent with the command
    that set them; the addresses decrypted, or None once erased)."""
    if recipient_ref is None or not recipient_ref.startswith("account:"):
        return None
    return (await recipient_of(conn, store, recipient_ref.removeprefix("account:"))).preferences


async def reach(
    conn: asyncpg.Connection, store: EventStore, recipient_ref: str | None, phone: str | None = None
) -> Reach:
    """How to reach the person (``domain.recipients.reach_of``) from their preferences."""
    return reach_of(await preferences_of(conn, store, recipient_ref), phone)


async def set_preferences(
    conn: asyncpg.Connection, store: EventStore, command: SetPreferences, context: CommandContext
) -> RecipientPreferencesSet | None:
    executed = await recipients(store).execute(
        conn,
        recipient_stream(command.account_ref),
        lambda state: decide_preferences(state, command),
        context,
    )
    return executed.state.preferences


async def set_organization_consent(
    conn: asyncpg.Connection,
    store: EventStore,
    command: SetOrganizationConsent,
    context: CommandContext,
) -> Recipient:
    """Record the person's consent to one organization's marketing (the organization as
    verification verified it is the fact its rule needs)."""
    verified = await verified_organization(conn, command.organization_id)
    executed = await recipients(store).execute(
        conn,
        recipient_stream(command.account_ref),
        lambda state: decide_organization_consent(state, verified, command),
        context,
    )
    return executed.state


async def unsubscribe(
    conn: asyncpg.Connection,
    store: EventStore,
    account_ref: str,
    command: Unsubscribe,
    context: CommandContext,
) -> bool:
    """The person followed a campaign email's unsubscribe link; True when it withdrew
    consent (a second click changes nothing): to the platform's marketing, or to the
    organization's whose campaign it was (``command.organization_id``)."""
    executed = await recipients(store).execute(
        conn,
        recipient_stream(account_ref),
        lambda state: decide_unsubscribe(state, command),
        context,
    )
    return executed.changed


# -- inbound replies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundReply:
    message_id: str
    channel: MessageChannel
    sender: str
    text: str
    received_at: datetime

    def __repr__(self) -> str:  # never the sender or the text
        return f"InboundReply(message_id={self.message_id!r}, channel={self.channel.value})"


@dataclass(frozen=True)
class InboundOutcome:
    opt_out: bool
    accounts: int  # whose consent on the channel this reply withdrew
    duplicate: bool = False


async def take_inbound_reply(
    conn: asyncpg.Connection, store: EventStore, reply: InboundReply, context: CommandContext
) -> InboundOutcome:
    """In the caller's transaction: record the reply's id (a second delivery waits for the
    first to commit, then does nothing), then withdraw consent where it is an opt-out."""
    require_inbound_channel(reply.channel)
    keyword = opt_out_keyword(reply.text)
    taken = await conn.fetchval(
        """INSERT INTO inbound_replies (channel, message_id, opt_out, accounts, received_at)
           VALUES ($1, $2, $3, 0, $4) ON CONFLICT DO NOTHING RETURNING 1""",
        reply.channel.value,
        reply.message_id,
        keyword is not None,
        reply.received_at,
    )
    if taken is None:
        previous = await conn.fetchrow(
            "SELECT opt_out, accounts FROM inbound_replies WHERE channel = $1 AND message_id = $2",
            reply.channel.value,
            reply.message_id,
        )
        return InboundOutcome(previous["opt_out"], previous["accounts"], duplicate=True)
    if keyword is None:
        log.info("inbound reply ignored", extra=log_fields(channel=reply.channel.value))
        return InboundOutcome(False, 0)
    address = sender_address(reply.channel, reply.sender)
    command = OptOut(reply.channel, address, keyword, reply.received_at)
    repository = recipients(store)
    withdrawn = 0
    for account in await accounts_with_address(conn, reply.channel, address):
        executed = await repository.execute(
            conn,
            recipient_stream(account),
            lambda state: decide_opt_out(state, command),
            context,
        )
        withdrawn += len(executed.events)
    await conn.execute(
        "UPDATE inbound_replies SET accounts = $3 WHERE channel = $1 AND message_id = $2",
        reply.channel.value,
        reply.message_id,
        withdrawn,
    )
    log.info(
        "inbound opt-out taken",
        extra=log_fields(channel=reply.channel.value, keyword=keyword, accounts=withdrawn),
    )
    return InboundOutcome(True, withdrawn)
