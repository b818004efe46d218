# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""The one-click unsubscribe of marketing email: signed tokens (sign, verify, expiry,
tampering, another key), the campaign template's footer per channel and language, the
withdrawal decision, and the RFC 8058 headers the SMTP adapter puts on the mail."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.events.notifications import (
    MessageChannel,
    NotificationKind,
    RecipientPreferencesSet,
)
from services.notifications.adapters.channels import OutgoingMessage
from services.notifications.adapters.smtp import SmtpEmailAdapter
from services.notifications.config import NotificationSettings
from services.notifications.domain.recipients import Recipient, Unsubscribe, decide_unsubscribe
from services.notifications.domain.templates import LANGUAGES, TemplateError, render
from services.notifications.domain.unsubscribe import (
    ExpiredUnsubscribeToken,
    InvalidUnsubscribeToken,
    sign_token,
    verify_token,
)

pytestmark = pytest.mark.unit

KEY = b"k" * 40
T0 = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)
CAMPAIGN_ID = uuid.UUID("7a8b6c2e-7a4c-4a51-9d55-2f0d0c7e3b11")
EMAIL, SMS = MessageChannel.EMAIL, MessageChannel.SMS
DAYS_90 = timedelta(days=90)


def token(**overrides: object) -> str:
    arguments: dict[str, object] = {
        "key": KEY,
        "account_ref": "acc-42",
        "channel": EMAIL,
        "campaign_id": CAMPAIGN_ID,
        "issued_at": T0,
        "valid_for": DAYS_90,
    }
    arguments.update(overrides)
    return sign_token(**arguments)  # type: ignore[arg-type]


def test_a_signed_token_names_the_account_channel_and_campaign_and_is_url_safe() -> None:
    signed = token()
    claim = verify_token(KEY, signed, T0 + timedelta(days=89))
    assert (claim.account_ref, claim.channel, claim.campaign_id) == ("acc-42", EMAIL, CAMPAIGN_ID)
    assert claim.expires_at == T0 + DAYS_90
    assert set(signed) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert "acc-42" not in repr(claim)


def test_a_token_holds_no_address() -> None:
    payload = token().split(".")[0]
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(body) == {"v", "a", "c", "k", "e"}
    assert "@" not in json.dumps(body)


def test_an_expired_token_is_gone() -> None:
    with pytest.raises(ExpiredUnsubscribeToken) as expired:
        verify_token(KEY, token(), T0 + DAYS_90)
    assert expired.value.status == 410


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature altered
        lambda t: t.split(".")[0] + ".",  # no signature
        lambda t: t.replace(".", ""),  # no separator
        lambda t: t + ".x",  # two separators
        lambda t: "",  # nothing
        lambda t: "é" + t,  # not ascii
        lambda t: t * 20,  # far too long
    ],
)
def test_a_damaged_token_is_refused(damage: object) -> None:
    with pytest.raises(InvalidUnsubscribeToken) as refused:
        verify_token(KEY, damage(token()), T0)  # type: ignore[operator]
    assert refused.value.status == 400


def test_a_token_whose_payload_names_another_account_is_refused() -> None:
    payload, signature = token().split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["a"] = "acc-43"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidUnsubscribeToken):
        verify_token(KEY, f"{forged}.{signature}", T0)
    body["a"], body["e"] = "acc-42", body["e"] + 10**8  # a longer life
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidUnsubscribeToken):
        verify_token(KEY, f"{forged}.{signature}", T0)


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(InvalidUnsubscribeToken):
        verify_token(b"x" * 40, token(), T0)


def test_the_campaign_footer_offers_the_link_by_email_and_the_reply_elsewhere() -> None:
    link = "https://help.example.cn/notifications/unsubscribe?token=abc.def"
    footers = {}
    for language in LANGUAGES:
        with_link = render(
            NotificationKind.CAMPAIGN,
            language,
            {"title": "T", "body": "Wallet back.", "unsubscribe": link},
        ).body
        by_reply = render(
            NotificationKind.CAMPAIGN, language, {"title": "T", "body": "Wallet back."}
        ).body
        assert with_link.startswith("Wallet back.\n")
        assert with_link.endswith(link)
        assert "STOP" not in with_link
        assert "TD" not in with_link
        assert ("STOP" in by_reply) or ("TD" in by_reply)
        assert link not in by_reply
        footers[language] = with_link.splitlines()[-1]
    assert footers == {
        "zh-CN": f"退订请点击：{link}",
        "en": f"To unsubscribe, open: {link}",
        "fr": f"Pour vous désabonner, ouvrez : {link}",
        "de": f"Zum Abbestellen öffnen Sie: {link}",
        "ja": f"配信停止はこちら：{link}",
    }


def test_the_unsubscribe_variable_must_be_an_https_link() -> None:
    with pytest.raises(TemplateError):
        render(
            NotificationKind.CAMPAIGN,
            "en",
            {"title": "T", "body": "B", "unsubscribe": "http://x/u"},
        )


def prefs(consent: list[MessageChannel]) -> RecipientPreferencesSet:
    return RecipientPreferencesSet(
        account_ref="acc-42",
        channels=[EMAIL, SMS],
        language="en",
        marketing_consent=consent,
        phone="+8613800000001",
        email="someone@example.cn",
        set_by="customer",
        set_at=T0,
    )


def test_unsubscribing_withdraws_email_consent_only_and_once() -> None:
    command = Unsubscribe(EMAIL, CAMPAIGN_ID, T0 + timedelta(hours=1))
    [event] = decide_unsubscribe(Recipient(prefs([EMAIL, SMS])), command)
    assert isinstance(event, RecipientPreferencesSet)
    assert event.marketing_consent == [SMS]
    assert event.set_by == "unsubscribe:email"
    assert event.reason == f"unsubscribe link on email (campaign {CAMPAIGN_ID})"
    assert (event.email, event.phone, event.channels) == (
        "someone@example.cn",
        "+8613800000001",
        [EMAIL, SMS],
    )
    assert event.set_at == T0 + timedelta(hours=1)
    assert decide_unsubscribe(Recipient(event), command) == []  # a second click: nothing
    assert decide_unsubscribe(Recipient(prefs([SMS])), command) == []
    assert decide_unsubscribe(Recipient(), command) == []


def test_the_smtp_adapter_puts_the_list_unsubscribe_headers_on_the_mail() -> None:
    link = "https://help.example.cn/notifications/unsubscribe?token=abc.def"
    adapter = SmtpEmailAdapter("127.0.0.1", 25, "Help <help@example.cn>")
    outgoing = OutgoingMessage(
        notification_id=CAMPAIGN_ID,
        channel=EMAIL,
        idempotency_key=f"{CAMPAIGN_ID}:email",
        language="en",
        to="someone@example.cn",
        subject="Back",
        body="Wallet back.",
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    mail = adapter._build(outgoing)
    assert mail["List-Unsubscribe"] == f"<{link}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "abc.def" not in repr(outgoing)
    plain = adapter._build(OutgoingMessage(CAMPAIGN_ID, EMAIL, "k", "en", "a@b.cn", "s", "b"))
    assert plain["List-Unsubscribe"] is None


def test_the_dev_key_signs_in_development_only() -> None:
    assert NotificationSettings(FRONTDESK_ENV="test").unsubscribe_key.get_secret_value()
