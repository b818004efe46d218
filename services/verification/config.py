"""Settings of the verification service (``FRONTDESK_VERIFICATION_*``), with local defaults.

Production refuses the development secrets (the webhook secret shared with the identity
provider, the key of code and answer digests, the media key, the provider's API key).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.settings import UnsafeSettings

DEV_SECRET = "verification-development-secret-change-me"  # noqa: S105 - refused in production
DEV_MEDIA_KEY = base64.b64encode(b"verification-dev-media-key-32byt").decode()


class VerificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_VERIFICATION_", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        default="development", validation_alias="FRONTDESK_ENV"
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8003",
        description="How the identity provider reaches this service (its webhook).",
    )
    # the account platform's facts API and the bank's micro-deposit API
    # (adapters/account_platform.py, adapters/bank.py); unset: the in-process sandboxes
    # (sandboxes/), which production refuses
    account_platform_url: str | None = None
    account_platform_api_key: SecretStr = SecretStr(DEV_SECRET)
    bank_url: str | None = None
    bank_api_key: SecretStr = SecretStr(DEV_SECRET)
    # identity provider (the sandbox by default: python -m sandboxes.identity_provider)
    idp_name: str = "sandbox"
    idp_base_url: str = "http://127.0.0.1:8093"
    idp_api_key: SecretStr = SecretStr(DEV_SECRET)
    idp_webhook_secret: SecretStr = SecretStr(DEV_SECRET)
    idp_webhook_tolerance_seconds: int = Field(default=300, ge=10, le=3600)
    # keyed digests of one-time codes, knowledge answers and deposit amounts
    digest_key: SecretStr = SecretStr(DEV_SECRET)
    # base64 of 32 bytes: encrypts held media (AES-256-GCM)
    media_key: SecretStr = SecretStr(DEV_MEDIA_KEY)
    media_retention_days: int = Field(default=30, ge=1)
    media_max_bytes: int = Field(default=5_000_000, ge=1)
    # sessions
    session_ttl_minutes: int = Field(default=24 * 60, ge=5)
    lockout_cooldown_minutes: int = Field(default=24 * 60, ge=1)
    code_claim_seconds: int = Field(default=120, ge=10)
    code_valid_seconds: int = Field(default=300, ge=30)
    code_claimants: list[str] = Field(
        default=["notifications"], description="Service ids allowed to claim one-time codes."
    )
    knowledge_questions: int = Field(default=4, ge=2, le=8)
    knowledge_required_correct: int = Field(default=3, ge=1, le=8)
    ownership_threshold: int = Field(default=60, ge=1)
    # organizations
    deposit_expiry_days: int = Field(default=3, ge=1)
    deposit_max_attempts: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> VerificationSettings:
        if self.env == "production":
            for name in ("idp_api_key", "idp_webhook_secret", "digest_key"):
                if getattr(self, name).get_secret_value() == DEV_SECRET:
                    raise UnsafeSettings(f"FRONTDESK_VERIFICATION_{name.upper()} must be set")
            for url, name in (
                (self.account_platform_url, "account_platform_api_key"),
                (self.bank_url, "bank_api_key"),
            ):
                if url and getattr(self, name).get_secret_value() == DEV_SECRET:
                    raise UnsafeSettings(f"FRONTDESK_VERIFICATION_{name.upper()} must be set")
            if self.media_key.get_secret_value() == DEV_MEDIA_KEY:
                raise UnsafeSettings("FRONTDESK_VERIFICATION_MEDIA_KEY must be set")
        if len(self.media_key_bytes()) != 32:
            raise UnsafeSettings("FRONTDESK_VERIFICATION_MEDIA_KEY must be base64 of 32 bytes")
        if self.knowledge_required_correct > self.knowledge_questions:
            raise UnsafeSettings("more correct answers required than questions asked")
        return self

    def media_key_bytes(self) -> bytes:
        return base64.b64decode(self.media_key.get_secret_value(), validate=True)

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(minutes=self.session_ttl_minutes)

    @property
    def lockout_cooldown(self) -> timedelta:
        return timedelta(minutes=self.lockout_cooldown_minutes)
