"""Settings of the cases service alone (the shared ones are in runtime/settings.py), read once
at start-up by ``build_wiring`` and reached by routes through ``CasesWiring``, by consumers and
timers through ``runtime.wiring``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.service import Runtime
from runtime.settings import ServiceSettings
from services.cases.adapters.verification import VerificationSessions


class CasesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_CASES_", extra="ignore")

    appeal_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How long after a resolution the customer may appeal (reopen), in days.",
    )
    self_export_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="How recent the verification a customer passed must be for their own copy "
        "of their data.",
    )

    @property
    def appeal_period(self) -> timedelta:
        return timedelta(days=self.appeal_days)

    @property
    def self_export_window(self) -> timedelta:
        return timedelta(minutes=self.self_export_minutes)


@dataclass(frozen=True)
class Wiring:
    """What the cases service is built with: its settings and its adapters."""

    settings: CasesSettings
    verification: VerificationSessions


def build_wiring(settings: ServiceSettings) -> Wiring:
    return Wiring(
        settings=CasesSettings(),
        verification=VerificationSessions(settings),
    )


async def wiring_of(runtime: Runtime) -> Wiring:
    wiring = runtime.wiring
    assert isinstance(wiring, Wiring), "the cases service runs with its own wiring"
    return wiring


# the one dependency through which routes reach the service's settings and adapters
CasesWiring = Annotated[Wiring, Depends(wiring_of)]
