"""Check-in's wiring: its settings, built once at start-up (``ServiceDefinition.wiring``) and
reached by routes through the one dependency ``Wiring`` (consumers and timers through
``runtime.wiring``). Check-in speaks to no external party, so there are no adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from runtime.service import Runtime
from runtime.settings import ServiceSettings
from services.checkin.config import CheckinSettings


@dataclass(frozen=True)
class CheckinWiring:
    settings: CheckinSettings

    @property
    def phone_key(self) -> str:
        return self.settings.phone_key.get_secret_value()


def build_wiring(settings: ServiceSettings) -> CheckinWiring:
    return CheckinWiring(settings=CheckinSettings())


async def wiring_of(runtime: Runtime) -> CheckinWiring:
    wiring = runtime.wiring
    assert isinstance(wiring, CheckinWiring), "check-in runs with its own wiring"
    return wiring


Wiring = Annotated[CheckinWiring, Depends(wiring_of)]
