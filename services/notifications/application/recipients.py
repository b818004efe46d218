"""Inbound replies from the SMS, WeChat and QQ providers: an opt-out keyword withdraws marketing
consent on that channel.

A provider posts each reply a person sent to one of our numbers or accounts to
``POST /notifications/webhooks/inbound`` (HMAC-signed like the delivery receipts):
``{"message_id": "<provider's id of the reply>", "channel": "sms"|"wechat"|"qq",
"from": "<the sender's phone, E.164, or open id>", "text": "<what they wrote>",
"received_at": "<ISO time>"|null}``.

A reply that is only ``TD``, ``退订`` or ``STOP`` (any case, full-width or not, spaces and end
punctuation trimmed) withdraws marketing consent on that channel for every account whose
preferences (read model ``recipient_preferences``, as stored) name that address on that
channel; each withdrawal is a ``recipient_preferences_set`` restating the rest, ``set_by``
``inbound:<channel>``, with a reason naming the keyword and the channel. Campaign messages
already waiting for those people are withdrawn when their moment comes (the dispatcher checks
consent again). Anything else is ignored: a person's other replies are not read by anyone.

Neither the address nor the text is stored or logged: ``inbound_replies`` keeps the provider's
id (a webhook delivered twice changes nothing), the channel, whether it was an opt-out and how
many accounts it concerned.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts.events.notifications import MessageChannel
from runtime.eventstore import CommandContext, EventStore
from runtime.telemetry import log_fields
from services.notifications.application.messages import SERVICE_ACTOR, decide_and_append
from services.notifications.domain.recipients import (
    RECIPIENT,
    OptOut,
    decide_opt_out,
    opt_out_keyword,
    recipient_stream,
)

log = logging.getLogger(__name__)

INBOUND_CHANNELS = (MessageChannel.SMS, MessageChannel.WECHAT, MessageChannel.QQ)
_ADDRESS_COLUMN = {
    MessageChannel.SMS: "phone",
    MessageChannel.WECHAT: "wechat",
    MessageChannel.QQ: "qq",
}
_PHONE_NOISE = re.compile(r"[\s\-().]")


def sender_address(channel: MessageChannel, sender: str) -> str:
    """The sender as our preferences store it: an E.164 phone (providers may send ``0086…``
    or the digits without ``+``; spaces, dashes and brackets dropped), or the open id as is."""
    sender = sender.strip()
    if channel is not MessageChannel.SMS:
        return sender
    digits = _PHONE_NOISE.sub("", sender)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.isdigit():
        digits = "+" + digits
    return digits


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
    conn: asyncpg.Connection, store: EventStore, reply: InboundReply
) -> InboundOutcome:
    """In the caller's transaction: record the reply's id (a second delivery waits for the
    first to commit, then does nothing), then withdraw consent where it is an opt-out."""
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
    column = _ADDRESS_COLUMN[reply.channel]
    recipients = await conn.fetch(
        f"""SELECT recipient_ref FROM recipient_preferences
            WHERE {column} = $1 AND recipient_ref LIKE 'account:%' ORDER BY recipient_ref""",
        address,
    )
    command = OptOut(reply.channel, address, keyword, reply.received_at)
    context = CommandContext.new(SERVICE_ACTOR)
    withdrawn = 0
    for row in recipients:
        account = row["recipient_ref"].removeprefix("account:")
        # the event store decides (the read model may lag): consent there, address still theirs
        _, appended = await decide_and_append(
            conn,
            store,
            RECIPIENT,
            recipient_stream(account),
            lambda state: decide_opt_out(state, command),
            context,
        )
        withdrawn += len(appended)
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
