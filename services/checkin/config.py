"""Check-in's settings (read once at start-up, ``wiring.py``) and the virtual queue's tie to
a phone number, without keeping the number.

One active virtual-queue ticket per person and account: the person is the phone number the
customer joins with, so one number cannot hold several places through several customer ids
(hoarding, reselling). The number itself never becomes a key, an index value or a log line:
``person_ref`` is ``hmac:`` + HMAC-SHA256(key, context | E.164), keyed so that the 10^8 numbers
of a prefix cannot be hashed by anyone without the key to find who holds a ticket. The number
still travels in ``intake.contact_phone``, encrypted per data subject like all personal data.

The key is ``FRONTDESK_CHECKIN_PHONE_KEY``: a development default that production refuses (as
every secret of the platform). Rotating it changes every ``person_ref``: do it when no virtual
ticket is active (tickets are a day's affair).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.vocabulary import E164_PATTERN
from runtime.settings import UnsafeSettings

DEV_PHONE_KEY = "checkin-development-phone-key-change-me"  # refused in production
# the groups that follow check-in's own topics (read models, re-estimation, assignment) wait
# this long after a batch before the next poll (``ConsumerGroup.linger_ms``): under load a
# batch then carries several tickets' events, one transaction and one offset commit for all
# (docs/performance-history.md, "Session 6"); a record arriving at an idle group is handled at once
OWN_EVENTS_LINGER_MS = 50
E164 = re.compile(E164_PATTERN)
CONTEXT = "frontdesk-checkin-virtual-queue-phone"


class CheckinSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_CHECKIN_", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        default="development", validation_alias="FRONTDESK_ENV"
    )
    phone_key: SecretStr = SecretStr(DEV_PHONE_KEY)
    # How long before a booked appointment its customer is reminded, in minutes (each lead
    # whose moment is still ahead at booking; JSON list in the environment, e.g. [1440,120]).
    appointment_reminders_minutes: list[Annotated[int, Field(ge=5, le=7 * 24 * 60)]] = Field(
        default=[24 * 60, 2 * 60], max_length=4
    )

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> CheckinSettings:
        if self.env == "production":
            if self.phone_key.get_secret_value() == DEV_PHONE_KEY:
                raise UnsafeSettings("FRONTDESK_CHECKIN_PHONE_KEY must be set in production")
            if len(self.phone_key.get_secret_value()) < 32:
                raise UnsafeSettings("FRONTDESK_CHECKIN_PHONE_KEY must be at least 32 characters")
        return self


def phone_ref(key: str, phone: str) -> str:
    """The keyed hash that stands for a phone number (E.164) in keys and indexes."""
    if not E164.match(phone):
        raise ValueError("not an E.164 phone number")
    mac = hmac.new(key.encode(), f"{CONTEXT}\x00{phone}".encode(), hashlib.sha256)
    return "hmac:" + mac.hexdigest()
