"""Settings of the notifications service, from the environment (``FRONTDESK_NOTIFICATIONS_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_NOTIFICATIONS_", extra="ignore")

    # email over SMTP (a local aiosmtpd sandbox in development: services.notifications.sandbox_smtp)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "Frontdesk <no-reply@frontdesk.example>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # HTTP providers (local sandboxes: services.notifications.sandbox_provider)
    sms_provider_url: str | None = None
    wechat_provider_url: str | None = None
    qq_provider_url: str | None = None
    provider_api_key: SecretStr = SecretStr("sandbox-key")
    provider_timeout_seconds: float = 10.0
    # delivery receipts: where providers post them, and the secret that signs them
    receipt_url: str | None = None
    webhook_secret: SecretStr = SecretStr("dev-webhook-secret")
    # delivery
    max_send_attempts: int = Field(default=4, ge=1, le=20)
    rate_limit_per_hour: int = Field(default=10, ge=1)
    # callbacks
    callback_max_attempts: int = Field(default=3, ge=1, le=10)
    callback_attempt_spacing_minutes: int = Field(default=120, ge=5)
    # what messages tell people
    hotline: str = "400-000-0000"
    public_url: str = "https://frontdesk.example"
