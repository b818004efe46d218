# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese text)
"""Email campaigns with a one-click unsubscribe (RFC 8058), over the real paths (Kafka,
PostgreSQL, the cases API for tags, the local SMTP sandbox, the durable timers): the mail
carries the List-Unsubscribe headers and the link in its footer; the link's page changes
nothing; the one-click POST withdraws email marketing consent once (``set_by``
``unsubscribe:email``); a second campaign skips that person for consent; a tampered or
expired link changes nothing."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from contracts.events.notifications import MessageChannel, RecipientPreferencesSet
from runtime.scheduler import OffsetClock
from services.notifications.domain.recipients import recipient_stream
from services.notifications.domain.unsubscribe import sign_token
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.notifications.conftest import (
    SETTINGS,
    Sandboxes,
    in_marketing_hours,
)
from tests.integration.notifications.test_campaigns import (
    fire,
    read_models_see,
    set_preferences,
    start_body,
    tag,
)

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]
ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


async def preference_events(stack: Stack, account: str) -> list[RecipientPreferencesSet]:
    runtime = stack["notifications"].runtime
    async with runtime.pool.acquire() as conn:
        history = await runtime.store.load(conn, recipient_stream(account))
    return [e.payload for e in history if isinstance(e.payload, RecipientPreferencesSet)]


async def start(stack: Stack, token: Callable[..., str], name: str, run: str) -> dict[str, Any]:
    answer = await stack["notifications"].client.post(
        "/campaigns",
        json=start_body(name, "email", rate=120),
        headers={**auth(token("supervisor")), "Idempotency-Key": f"mail-{run}-{uuid.uuid4()}"},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_an_email_campaign_carries_a_one_click_unsubscribe_that_withdraws_consent(
    stack: Stack,
    token: Callable[..., str],
    clock: OffsetClock,
    sandboxes: Sandboxes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    run = uuid.uuid4().hex[:8]
    name = f"mail-{run}"
    reader, other, silent = (f"acct-{run}-{k}" for k in ("a1", "a2", "n1"))
    email = {account: f"{account}@example.com" for account in (reader, other, silent)}
    for account, language in ((reader, "zh-CN"), (other, "en")):
        await set_preferences(
            stack,
            token,
            account,
            channels=["email", "sms"],
            email=email[account],
            phone=f"+86138{uuid.uuid4().int % 10**8:08d}",
            marketing_consent=["email", "sms"],
            language={"tag": language},
        )
    await set_preferences(stack, token, silent, channels=["email"], email=email[silent])
    for account in (reader, other, silent):
        await tag(stack, token, account, name)
    await read_models_see(stack, name, 3, [], [reader, other, silent])

    # an email campaign starts (no longer refused) and reaches both consenting customers
    in_marketing_hours(clock)
    view = await start(stack, token, name, run)
    assert (view["channel"], view["targeted"], view["skipped_consent"]) == ("email", 2, 1)

    async def mails() -> dict[str, dict[str, Any]] | None:
        await fire(stack)
        got = {
            m["rcpt_to"][0]: m
            for m in sandboxes.mailbox.list()
            if m["rcpt_to"][0] in email.values()
        }
        return got if len(got) == 2 else None

    received = await eventually(mails, within=120)
    assert email[silent] not in received
    mail = received[email[reader]]
    assert mail["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
    header = mail["list_unsubscribe"]
    assert header.startswith("<https://")
    assert header.endswith(">")
    link = header[1:-1]
    assert link.startswith(f"{SETTINGS.unsubscribe_url}?token=")
    assert mail["subject"] == "钱包已恢复"
    assert mail["body"] == f"本月使用钱包支付享九折。\n退订请点击：{link}"
    # no SMS opt-out ("reply TD") in an email; the link's random token may spell "TD" itself
    assert "TD" not in mail["body"].removesuffix(link)
    assert received[email[other]]["body"].endswith(
        "To unsubscribe, open: " + received[email[other]]["list_unsubscribe"][1:-1]
    )
    assert received[email[other]]["list_unsubscribe"] != header  # each account its own link
    signed = parse_qs(urlsplit(link).query)["token"][0]
    assert reader not in signed
    assert "@" not in signed

    client = stack["notifications"].client
    path = f"/notifications/unsubscribe?token={signed}"
    before = len(await preference_events(stack, reader))

    # the page the link opens asks, and changes nothing (mail scanners follow links)
    page = await client.get(path, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "Se désabonner" in page.text
    assert f'action="{path}"' in page.text

    # a tampered token, or one signed long ago, changes nothing
    tampered = signed[:-3] + ("AAA" if not signed.endswith("AAA") else "BBB")
    for bad in (
        await client.get(f"/notifications/unsubscribe?token={tampered}"),
        await client.post(
            f"/notifications/unsubscribe?token={tampered}",
            content=b"List-Unsubscribe=One-Click",
            headers=ONE_CLICK,
        ),
        await client.post("/notifications/unsubscribe", content=b"", headers=ONE_CLICK),
    ):
        assert bad.status_code == 400, bad.text
        assert bad.headers["content-type"] == "application/problem+json"
    expired = sign_token(
        SETTINGS.unsubscribe_key.get_secret_value().encode(),
        reader,
        MessageChannel.EMAIL,
        uuid.UUID(view["campaign_id"]),
        clock.now() - timedelta(days=SETTINGS.unsubscribe_link_days + 1),
        timedelta(days=SETTINGS.unsubscribe_link_days),
    )
    gone = await client.post(
        f"/notifications/unsubscribe?token={expired}",
        content=b"List-Unsubscribe=One-Click",
        headers=ONE_CLICK,
    )
    assert gone.status_code == 410, gone.text
    assert gone.headers["content-type"] == "application/problem+json"
    assert len(await preference_events(stack, reader)) == before

    # the mail client's one-click POST: email consent withdrawn, the rest restated
    clicked = await client.post(path, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK)
    assert clicked.status_code == 200, clicked.text
    events = await preference_events(stack, reader)
    assert len(events) == before + 1
    withdrawn = events[-1]
    assert withdrawn.set_by == "unsubscribe:email"
    assert withdrawn.reason == f"unsubscribe link on email (campaign {view['campaign_id']})"
    assert withdrawn.marketing_consent == [MessageChannel.SMS]
    assert withdrawn.email == email[reader]
    # a second click (or the page's button after the mail client's one-click) changes nothing
    again = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200, again.text
    assert len(await preference_events(stack, reader)) == before + 1
    assert len(await preference_events(stack, other)) == before  # the other one untouched

    # a second campaign to the tag skips them for consent
    pool = stack["notifications"].runtime.pool

    async def projected() -> bool:
        consent = await pool.fetchval(
            "SELECT marketing_consent FROM recipient_preferences WHERE recipient_ref = $1",
            f"account:{reader}",
        )
        return consent is not None and "email" not in consent

    await eventually(projected, within=90)
    second = await start(stack, token, name, run)
    assert (second["targeted"], second["skipped_consent"]) == (1, 2)

    async def second_mails() -> list[dict[str, Any]] | None:
        await fire(stack)
        got = [
            m
            for m in sandboxes.mailbox.list()
            if m["rcpt_to"][0] in email.values()
            and m["message_id"] not in {r["message_id"] for r in received.values()}
        ]
        return got or None

    [next_mail] = await eventually(second_mails, within=120)
    assert next_mail["rcpt_to"] == [email[other]]

    # no log record of ours names an address or a token (the in-process SMTP sandbox,
    # "mail.log", plays the outside mail server and the test's httpx client the mail client:
    # they log what they handle)
    for record in caplog.records:
        if record.name.startswith(("mail.", "httpx", "httpcore")):
            continue
        text = f"{record.getMessage()} {record.__dict__}"
        for address in email.values():
            assert address not in text, f"an address in a log record of {record.name}"
        assert signed not in text, f"a token in a log record of {record.name}"
