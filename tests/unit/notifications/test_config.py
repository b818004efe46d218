"""Production refuses the notification settings' development defaults."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.settings import UnsafeSettings
from services.notifications.config import NotificationSettings

pytestmark = pytest.mark.unit

SAFE: dict[str, Any] = {
    "FRONTDESK_ENV": "production",  # the field env reads this variable
    "provider_api_key": "a-real-provider-key-from-the-vault",
    "webhook_secret": "w" * 40,
    "hotline": "400-820-8820",
    "public_url": "https://help.example.cn",
    "smtp_sender": "Help <help@example.cn>",
    "sms_provider_url": "https://sms-gateway.example.cn",
    "receipt_url": "https://help.example.cn/notifications/receipts",
    "unsubscribe_key": "u" * 40,
}


def test_production_starts_with_its_own_settings() -> None:
    settings = NotificationSettings(**SAFE)
    assert settings.env == "production"


def test_development_and_test_keep_the_local_defaults() -> None:
    for env in ("development", "test"):
        assert (
            NotificationSettings(FRONTDESK_ENV=env).provider_api_key.get_secret_value()
            == "sandbox-key"
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"provider_api_key": "sandbox-key"}, "PROVIDER_API_KEY must be set"),
        ({"webhook_secret": "dev-webhook-secret"}, "WEBHOOK_SECRET must be set"),
        ({"webhook_secret": "short-secret"}, "at least 32 characters"),
        ({"hotline": "400-000-0000"}, "HOTLINE must be set"),
        ({"public_url": "https://frontdesk.example"}, "PUBLIC_URL must be set"),
        ({"smtp_sender": "Frontdesk <no-reply@frontdesk.example>"}, "SMTP_SENDER must be set"),
        ({"sms_provider_url": "http://sms-gateway.example.cn"}, "SMS_PROVIDER_URL must be https"),
        ({"qq_provider_url": "http://127.0.0.1:8097"}, "QQ_PROVIDER_URL must be https"),
        ({"receipt_url": "http://help.example.cn/r"}, "RECEIPT_URL must be https"),
        ({"smtp_password": "pw", "smtp_starttls": False}, "SMTP_STARTTLS must be on"),
        ({"unsubscribe_key": "dev-unsubscribe-key"}, "UNSUBSCRIBE_KEY must be set"),
        ({"unsubscribe_key": "short-key"}, "UNSUBSCRIBE_KEY must be set"),
        ({"unsubscribe_base_url": "http://help.example.cn"}, "UNSUBSCRIBE_BASE_URL must be https"),
    ],
)
def test_production_refuses_a_development_default(change: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsafeSettings, match=message):
        NotificationSettings(**{**SAFE, **change})


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(UnsafeSettings) as refused:
        NotificationSettings(FRONTDESK_ENV="production")
    text = str(refused.value)
    for name in (
        "PROVIDER_API_KEY",
        "WEBHOOK_SECRET",
        "UNSUBSCRIBE_KEY",
        "HOTLINE",
        "PUBLIC_URL",
        "SMTP_SENDER",
    ):
        assert name in text


def test_the_environment_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_ENV", "production")
    with pytest.raises(UnsafeSettings):
        NotificationSettings()
    for name, value in SAFE.items():
        if name != "FRONTDESK_ENV":
            monkeypatch.setenv(f"FRONTDESK_NOTIFICATIONS_{name.upper()}", str(value))
    assert NotificationSettings().env == "production"


def test_the_unsubscribe_link_is_served_under_the_public_url_unless_set() -> None:
    settings = NotificationSettings(**SAFE)
    assert settings.unsubscribe_url == "https://help.example.cn/notifications/unsubscribe"
    own = NotificationSettings(**{**SAFE, "unsubscribe_base_url": "https://mail.example.cn/"})
    assert own.unsubscribe_url == "https://mail.example.cn/notifications/unsubscribe"
