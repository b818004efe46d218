"""Settings of the notifications service, from the environment (``FRONTDESK_NOTIFICATIONS_*``).

Production (``FRONTDESK_ENV=production``) refuses the development defaults: the providers' API
key, the receipt webhook's secret, the unsubscribe links' signing key, the placeholder
hotline, public link and sender that messages would tell real people, plain-HTTP provider,
receipt and unsubscribe URLs, and an SMTP password sent without STARTTLS. (The code claim
goes to verification over the internal network, like every call between the services:
``FRONTDESK_PEERS``.)
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.settings import UnsafeSettings

DEV_PROVIDER_API_KEY = "sandbox-key"  # the local sandboxes' key, refused in production
DEV_WEBHOOK_SECRET = "dev-webhook-secret"  # noqa: S105 - refused in production
DEV_HOTLINE = "400-000-0000"
DEV_PUBLIC_URL = "https://frontdesk.example"
DEV_SMTP_SENDER = "Frontdesk <no-reply@frontdesk.example>"
DEV_UNSUBSCRIBE_KEY = "dev-unsubscribe-key"  # refused in production
MIN_SECRET_LENGTH = 32


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_NOTIFICATIONS_", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        default="development", validation_alias="FRONTDESK_ENV"
    )
    # email over SMTP (a local aiosmtpd sandbox in development: sandboxes.smtp)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = DEV_SMTP_SENDER
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # HTTP providers (local sandboxes: sandboxes.message_provider)
    sms_provider_url: str | None = None
    wechat_provider_url: str | None = None
    qq_provider_url: str | None = None
    provider_api_key: SecretStr = SecretStr(DEV_PROVIDER_API_KEY)
    provider_timeout_seconds: float = 10.0
    # delivery receipts: where providers post them, and the secret that signs them
    receipt_url: str | None = None
    webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    # delivery
    max_send_attempts: int = Field(default=4, ge=1, le=20)
    rate_limit_per_hour: int = Field(default=10, ge=1)
    # one-time codes: claimed from verification at send time (its URL: FRONTDESK_PEERS's
    # "verification" unless set here), under this claimant id (verification's CODE_CLAIMANTS)
    verification_url: str | None = None
    code_claimant: str = Field(default="notifications", min_length=1)
    # a claimed code cannot be claimed again: a transient provider error is retried at once,
    # in process, this many times in all, waiting code_send_retry_seconds * attempt between
    code_send_attempts: int = Field(default=3, ge=1, le=5)
    code_send_retry_seconds: float = Field(default=1.0, ge=0, le=10)
    # organizations' contacts: verification's submission carries no language or timezone
    organization_language: str = "zh-CN"
    organization_timezone: str = "Asia/Shanghai"
    # marketing (campaign messages): only inside this daily window of the person's own time
    # (their timezone, else marketing_timezone), within their preferred hours, never in their
    # quiet hours; a message is held until then
    marketing_window_start: str = Field(default="09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    marketing_window_end: str = Field(default="20:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    marketing_timezone: str = "Asia/Shanghai"
    # callbacks
    callback_max_attempts: int = Field(default=3, ge=1, le=10)
    callback_attempt_spacing_minutes: int = Field(default=120, ge=5)
    # a phone caller's queue callback: due when their contact is assigned, for this long (at
    # least the contact's answer window), with these attempts; its times are shown in the
    # caller's timezone, else queue_callback_timezone
    queue_callback_window_minutes: int = Field(default=15, ge=5, le=240)
    queue_callback_max_attempts: int = Field(default=3, ge=1, le=10)
    queue_callback_attempt_spacing_minutes: int = Field(default=5, ge=5, le=60)
    queue_callback_timezone: str = "Asia/Shanghai"
    # what messages tell people
    hotline: str = DEV_HOTLINE
    public_url: str = DEV_PUBLIC_URL
    # marketing email's one-click unsubscribe link (RFC 8058): HMAC key of its tokens, how
    # long a link works, and the public base URL that routes /notifications/unsubscribe to
    # this service (else public_url)
    unsubscribe_key: SecretStr = SecretStr(DEV_UNSUBSCRIBE_KEY)
    unsubscribe_link_days: int = Field(default=90, ge=1, le=400)
    unsubscribe_base_url: str | None = None

    @property
    def unsubscribe_url(self) -> str:
        base = self.unsubscribe_base_url or self.public_url
        return f"{base.rstrip('/')}/notifications/unsubscribe"

    @model_validator(mode="after")
    def _refuse_development_defaults(self) -> NotificationSettings:
        if self.env != "production":
            return self
        problems = []
        if self.provider_api_key.get_secret_value() == DEV_PROVIDER_API_KEY:
            problems.append("FRONTDESK_NOTIFICATIONS_PROVIDER_API_KEY must be set")
        secret = self.webhook_secret.get_secret_value()
        if secret == DEV_WEBHOOK_SECRET or len(secret) < MIN_SECRET_LENGTH:
            problems.append(
                "FRONTDESK_NOTIFICATIONS_WEBHOOK_SECRET must be set "
                f"(at least {MIN_SECRET_LENGTH} characters)"
            )
        key = self.unsubscribe_key.get_secret_value()
        if key == DEV_UNSUBSCRIBE_KEY or len(key) < MIN_SECRET_LENGTH:
            problems.append(
                "FRONTDESK_NOTIFICATIONS_UNSUBSCRIBE_KEY must be set "
                f"(at least {MIN_SECRET_LENGTH} characters)"
            )
        for name, default in (
            ("hotline", DEV_HOTLINE),
            ("public_url", DEV_PUBLIC_URL),
            ("smtp_sender", DEV_SMTP_SENDER),
        ):
            if getattr(self, name) == default:
                problems.append(
                    f"FRONTDESK_NOTIFICATIONS_{name.upper()} must be set "
                    "(messages would tell people a placeholder)"
                )
        for name in (
            "sms_provider_url",
            "wechat_provider_url",
            "qq_provider_url",
            "receipt_url",
            "unsubscribe_base_url",
        ):
            url = getattr(self, name)
            if url is not None and not url.startswith("https://"):
                problems.append(f"FRONTDESK_NOTIFICATIONS_{name.upper()} must be https")
        if self.smtp_password is not None and not self.smtp_starttls:
            problems.append(
                "FRONTDESK_NOTIFICATIONS_SMTP_STARTTLS must be on when a password is sent"
            )
        if problems:
            raise UnsafeSettings("; ".join(problems))
        return self
