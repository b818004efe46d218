"""HTTP API of the providers' webhooks (HMAC-signed, no bearer token): delivery receipts,
and the replies people send (an opt-out keyword withdraws marketing consent)."""

from __future__ import annotations

import hmac
import json
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from contracts.events.notifications import MessageChannel
from runtime.commands import command
from runtime.context import CommandContext
from runtime.errors import FrontdeskError, RuleViolation
from runtime.service import Runtime
from services.notifications.adapters.http_provider import SIGNATURE_HEADER, signature_of
from services.notifications.application.messages import SERVICE_ACTOR
from services.notifications.application.messages import take_receipt as record_receipt
from services.notifications.application.recipients import InboundReply, take_inbound_reply
from services.notifications.wiring import NotificationsWiring, Wired

router = APIRouter(tags=["notifications"])


class Receipt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str = Field(min_length=1, max_length=200)
    status: str = Field(pattern="^(delivered|failed)$")
    reason: str | None = Field(default=None, max_length=200)


class ReceiptAnswer(BaseModel):
    notification_id: UUID


def _signed(wiring: NotificationsWiring, body: bytes, signature: str | None) -> bool:
    expected = signature_of(wiring.settings.webhook_secret.get_secret_value(), body)
    return signature is not None and hmac.compare_digest(signature, expected)


class BadSignature(FrontdeskError):
    status = 401
    title = "Unauthenticated"


@router.post(
    "/notifications/receipts",
    response_model=ReceiptAnswer,
    summary="Delivery receipt from a provider (webhook, HMAC-signed)",
)
async def take_receipt(
    request: Request,
    runtime: Runtime,
    wiring: Wired,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> ReceiptAnswer:
    body = await request.body()
    if not _signed(wiring, body, signature):
        raise BadSignature("the receipt's X-Frontdesk-Signature does not match its body")
    try:
        receipt = Receipt.model_validate(json.loads(body))
    except (ValueError, TypeError):
        raise RuleViolation("the receipt is not a valid receipt document") from None
    now = runtime.clock.now()
    notification = await command(
        runtime.pool,
        lambda conn: record_receipt(
            conn,
            runtime.store,
            receipt.message_id,
            receipt.status == "delivered",
            receipt.reason,
            CommandContext.new(SERVICE_ACTOR),
            now,
        ),
    )
    return ReceiptAnswer(notification_id=notification)


class InboundBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_id: str = Field(min_length=1, max_length=200)
    channel: MessageChannel
    sender: str = Field(alias="from", min_length=1, max_length=200)
    text: str = Field(max_length=2000)

    def __repr__(self) -> str:  # never the sender or the text
        return f"InboundBody(message_id={self.message_id!r}, channel={self.channel.value})"


class InboundAnswer(BaseModel):
    opt_out: bool = Field(description="The reply was an opt-out keyword (TD, 退订, STOP).")
    accounts: int = Field(description="Accounts whose marketing consent it withdrew.")
    duplicate: bool = Field(description="This reply was taken before: nothing changed now.")


@router.post(
    "/notifications/webhooks/inbound",
    response_model=InboundAnswer,
    summary="A reply a person sent to a message (webhook, HMAC-signed): TD / 退订 / STOP "
    "withdraws marketing consent on that channel",
)
async def take_inbound(
    request: Request,
    runtime: Runtime,
    wiring: Wired,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> InboundAnswer:
    body = await request.body()
    if not _signed(wiring, body, signature):
        raise BadSignature("the reply's X-Frontdesk-Signature does not match its body")
    try:
        inbound = InboundBody.model_validate(json.loads(body))
    except (ValueError, TypeError):
        raise RuleViolation("the reply is not a valid inbound document") from None
    reply = InboundReply(
        message_id=inbound.message_id,
        channel=inbound.channel,
        sender=inbound.sender,
        text=inbound.text,
        received_at=runtime.clock.now(),  # ours: a provider's clock decides nothing
    )
    context = CommandContext.new(SERVICE_ACTOR)
    outcome = await command(
        runtime.pool, lambda conn: take_inbound_reply(conn, runtime.store, reply, context)
    )
    return InboundAnswer(
        opt_out=outcome.opt_out, accounts=outcome.accounts, duplicate=outcome.duplicate
    )
