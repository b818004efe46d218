"""What one running verification service is wired to: its typed settings (``config.py``) and
its adapters to the outside world, built once at start-up by ``build_wiring``
(``ServiceDefinition.wiring``). Routes reach it through ``WiringDep``; consumers and timers
through ``runtime.wiring``. Tests pass their own (adapters pointed at sandboxes on free ports).

The account platform and the bank are the real HTTP adapters when their URL is configured,
else the in-process sandboxes — which production refuses (``runtime.service.Sandbox``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from runtime.running import RunningService
from runtime.settings import ServiceSettings
from sandboxes.account_platform import SandboxAccountFacts
from sandboxes.bank import SandboxBank
from services.verification.adapters.account_platform import AccountPlatform, HttpAccountPlatform
from services.verification.adapters.bank import BankTransfers, HttpBank
from services.verification.adapters.identity_provider import HttpIdentityProvider, IdentityProvider
from services.verification.adapters.media_vault import MediaVault
from services.verification.config import VerificationSettings


@dataclass
class Wiring:
    settings: VerificationSettings
    facts: AccountPlatform
    identity_provider: IdentityProvider
    bank: BankTransfers
    vault: MediaVault = field(init=False)

    def __post_init__(self) -> None:
        self.vault = MediaVault(self.settings.media_key_bytes())

    @property
    def digest_key(self) -> bytes:
        return self.settings.digest_key.get_secret_value().encode()


def build_wiring(
    service_settings: ServiceSettings | None = None,
    settings: VerificationSettings | None = None,
) -> Wiring:
    """The service's wiring from its settings (``FRONTDESK_VERIFICATION_*``)."""
    settings = settings or VerificationSettings()
    facts: AccountPlatform = (
        HttpAccountPlatform(
            base_url=settings.account_platform_url,
            api_key=settings.account_platform_api_key.get_secret_value(),
        )
        if settings.account_platform_url
        else SandboxAccountFacts()
    )
    bank: BankTransfers = (
        HttpBank(base_url=settings.bank_url, api_key=settings.bank_api_key.get_secret_value())
        if settings.bank_url
        else SandboxBank()
    )
    return Wiring(
        settings=settings,
        facts=facts,
        identity_provider=HttpIdentityProvider(
            name=settings.idp_name,
            base_url=settings.idp_base_url,
            api_key=settings.idp_api_key.get_secret_value(),
            webhook_secret=settings.idp_webhook_secret.get_secret_value().encode(),
            tolerance_seconds=settings.idp_webhook_tolerance_seconds,
        ),
        bank=bank,
    )


def wiring_of(runtime: RunningService) -> Wiring:
    wiring = runtime.wiring
    assert isinstance(wiring, Wiring), "the verification service runs with its own wiring"
    return wiring


async def _wiring(request: Request) -> Wiring:
    return wiring_of(request.app.state.runtime)


WiringDep = Annotated[Wiring, Depends(_wiring)]
