# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""One-click unsubscribe from marketing email (RFC 8058).

Every campaign email carries ``List-Unsubscribe: <https://…/notifications/unsubscribe?token=…>``
and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, and its footer names the same link.
The signed token (``domain/unsubscribe.py``) authenticates the request: no bearer token.

- ``GET /notifications/unsubscribe?token=`` — a tiny confirmation page with one button; it
  changes nothing (mail scanners follow links: a GET must never unsubscribe).
- ``POST /notifications/unsubscribe?token=`` — what a mail client's one-click sends (body
  ``List-Unsubscribe=One-Click``, form-encoded) and what the page's button sends: withdraws
  the account's marketing consent on email, a ``recipient_preferences_set`` restating the
  rest, ``set_by`` ``unsubscribe:email``. Idempotent: a second POST changes nothing.

A damaged or altered token → 400, an expired one → 410 (problem+json), nothing written. The
token and the account are never logged (the runtime logs no query string).
"""

from __future__ import annotations

import html
import logging
from typing import Annotated
from urllib.parse import parse_qs
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse

from runtime.commands import command
from runtime.context import CommandContext
from runtime.organizations import verified_organization
from runtime.service import Runtime
from runtime.telemetry import log_fields
from services.notifications.application.campaigns import campaign_owner
from services.notifications.application.messages import SERVICE_ACTOR
from services.notifications.application.recipients import unsubscribe as withdraw_email_consent
from services.notifications.domain.recipients import Unsubscribe
from services.notifications.domain.templates import resolve_language
from services.notifications.domain.unsubscribe import (
    MAX_TOKEN_LENGTH,
    InvalidUnsubscribeToken,
    UnsubscribeClaim,
    verify_token,
)
from services.notifications.wiring import NotificationsWiring, Wired

log = logging.getLogger(__name__)

router = APIRouter(tags=["unsubscribe"])

PATH = "/notifications/unsubscribe"

# (title, question, button, done) per template language
_PAGES = {
    "zh-CN": ("退订", "不再通过电子邮件接收营销信息？", "退订", "您已退订，不会再收到营销邮件。"),
    "en": (
        "Unsubscribe",
        "Stop receiving marketing email from us?",
        "Unsubscribe",
        "You are unsubscribed: no more marketing email.",
    ),
    "fr": (
        "Désabonnement",
        "Ne plus recevoir nos e-mails promotionnels ?",
        "Se désabonner",
        "Vous êtes désabonné : plus d'e-mails promotionnels.",
    ),
    "de": (
        "Abbestellen",
        "Keine Werbe-E-Mails mehr von uns erhalten?",
        "Abbestellen",
        "Sie haben abbestellt: keine Werbe-E-Mails mehr.",
    ),
    "ja": (
        "配信停止",
        "マーケティングメールの配信を停止しますか？",
        "配信停止",
        "配信を停止しました。今後マーケティングメールは届きません。",
    ),
}

# (question, done) when the campaign was an organization's: the page names that organization
# (its verified legal name), whose marketing alone the click stops
_ORGANIZATION_PAGES = {
    "zh-CN": (
        "不再通过电子邮件接收{sender}的营销信息？",
        "您已退订，不会再收到{sender}的营销邮件。",
    ),
    "en": (
        "Stop receiving marketing email from {sender}?",
        "You are unsubscribed: no more marketing email from {sender}.",
    ),
    "fr": (
        "Ne plus recevoir les e-mails promotionnels de {sender} ?",
        "Vous êtes désabonné : plus d'e-mails promotionnels de {sender}.",
    ),
    "de": (
        "Keine Werbe-E-Mails mehr von {sender} erhalten?",
        "Sie haben abbestellt: keine Werbe-E-Mails mehr von {sender}.",
    ),
    "ja": (
        "{sender}からのマーケティングメールの配信を停止しますか？",
        "配信を停止しました。今後{sender}からのマーケティングメールは届きません。",
    ),
}

Token = Annotated[str | None, Query(max_length=MAX_TOKEN_LENGTH, description="The signed token.")]
AcceptLanguage = Annotated[str | None, Header(alias="Accept-Language")]


def _language(accept_language: str | None) -> str:
    """The first language of ``Accept-Language`` the page has (else English)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*":
            language = resolve_language(tag)
            if language != "en" or tag.lower().startswith("en"):
                return language
    return "en"


def _page(language: str, message: str, form_action: str | None, button: str) -> HTMLResponse:
    title = _PAGES[language][0]
    form = (
        f'<form method="post" action="{html.escape(form_action)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{html.escape(button)}</button></form>'
        if form_action
        else ""
    )
    return HTMLResponse(
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p>{form}</body></html>",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def page_texts(language: str, sender: str | None) -> tuple[str, str]:
    """The page's question and its answer once done, naming the organization if it sent."""
    if sender is None:
        _, question, _, done = _PAGES[language]
        return question, done
    question, done = _ORGANIZATION_PAGES[language]
    return question.format(sender=sender), done.format(sender=sender)


async def _sender(conn: asyncpg.Connection, runtime: Runtime, campaign_id: UUID) -> str | None:
    """The organization whose campaign the link came from (its legal name), else None."""
    owner = await campaign_owner(conn, runtime.store, campaign_id)
    organization = await verified_organization(conn, owner)
    return organization.legal_name if organization else None


def _claim(token: str | None, runtime: Runtime, wiring: NotificationsWiring) -> UnsubscribeClaim:
    if not token:
        raise InvalidUnsubscribeToken("the unsubscribe link has no token")
    key = wiring.settings.unsubscribe_key.get_secret_value().encode()
    return verify_token(key, token, runtime.clock.now())


@router.get(
    PATH,
    response_class=HTMLResponse,
    summary="The page an email's unsubscribe link opens (signed token; changes nothing)",
    responses={400: {"description": "Damaged or altered link"}, 410: {"description": "Expired"}},
)
async def unsubscribe_page(
    runtime: Runtime, wiring: Wired, token: Token = None, accept_language: AcceptLanguage = None
) -> HTMLResponse:
    claim = _claim(token, runtime, wiring)
    async with runtime.pool.acquire() as conn:
        sender = await _sender(conn, runtime, claim.campaign_id)
    language = _language(accept_language)
    question, _ = page_texts(language, sender)
    return _page(language, question, f"{PATH}?token={token}", _PAGES[language][2])


@router.post(
    PATH,
    response_class=HTMLResponse,
    summary="One-click unsubscribe (RFC 8058; signed token): withdraws marketing consent on "
    "email, once",
    responses={400: {"description": "Damaged or altered link"}, 410: {"description": "Expired"}},
)
async def unsubscribe(
    request: Request,
    runtime: Runtime,
    wiring: Wired,
    token: Token = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    if not token and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        body = await request.body()
        form = parse_qs(body.decode("utf-8", "replace")[: MAX_TOKEN_LENGTH + 200])
        token = next(iter(form.get("token", [])), None)
    claim = _claim(token, runtime, wiring)
    context = CommandContext.new(SERVICE_ACTOR)

    async def act(conn: asyncpg.Connection) -> bool:
        # an organization's campaign: the consent to that organization alone is withdrawn
        owner = await campaign_owner(conn, runtime.store, claim.campaign_id)
        link = Unsubscribe(claim.channel, claim.campaign_id, runtime.clock.now(), owner)
        return await withdraw_email_consent(conn, runtime.store, claim.account_ref, link, context)

    withdrawn = await command(runtime.pool, act)
    async with runtime.pool.acquire() as conn:
        sender = await _sender(conn, runtime, claim.campaign_id)
    log.info(
        "unsubscribe link taken",
        extra=log_fields(
            channel=claim.channel.value,
            campaign_id=str(claim.campaign_id),
            withdrawn=withdrawn,
        ),
    )
    language = _language(accept_language)
    return _page(language, page_texts(language, sender)[1], None, "")
