"""The adapters one running verification service uses (composition root of its outside world).

Built from ``VerificationSettings`` on first use; tests (or another deployment) may install
their own with ``install(runtime, adapters)``, e.g. an ``HttpIdentityProvider`` pointed at a
sandbox provider process started on a free port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import Depends, Request

from runtime.eventstore import EventStore
from runtime.service import ServiceRuntime
from services.verification.adapters.bank import BankTransfers, SandboxBank
from services.verification.adapters.facts import AccountFactsProvider, SandboxAccountFacts
from services.verification.adapters.identity_provider import HttpIdentityProvider, IdentityProvider
from services.verification.config import VerificationSettings, load_settings
from services.verification.media import MediaVault


@dataclass
class Adapters:
    settings: VerificationSettings
    facts: AccountFactsProvider
    identity_provider: IdentityProvider
    bank: BankTransfers
    vault: MediaVault = field(init=False)

    def __post_init__(self) -> None:
        self.vault = MediaVault(self.settings.media_key_bytes())

    @property
    def digest_key(self) -> bytes:
        return self.settings.digest_key.get_secret_value().encode()

    @classmethod
    def from_settings(cls, settings: VerificationSettings) -> Adapters:
        return cls(
            settings=settings,
            facts=SandboxAccountFacts(),
            identity_provider=HttpIdentityProvider(
                name=settings.idp_name,
                base_url=settings.idp_base_url,
                api_key=settings.idp_api_key.get_secret_value(),
                webhook_secret=settings.idp_webhook_secret.get_secret_value().encode(),
                tolerance_seconds=settings.idp_webhook_tolerance_seconds,
            ),
            bank=SandboxBank(),
        )


# keyed by the service's event store: consumers and timers only get the store
_installed: WeakKeyDictionary[EventStore, Adapters] = WeakKeyDictionary()


def adapters_for(store: EventStore) -> Adapters:
    adapters = _installed.get(store)
    if adapters is None:
        adapters = _installed[store] = Adapters.from_settings(load_settings())
    return adapters


def adapters_of(runtime: ServiceRuntime) -> Adapters:
    return adapters_for(runtime.store)


def install(runtime: ServiceRuntime, adapters: Adapters) -> None:
    _installed[runtime.store] = adapters


def _adapters(request: Request) -> Adapters:
    return adapters_of(request.app.state.runtime)


AdaptersDep = Annotated[Adapters, Depends(_adapters)]
