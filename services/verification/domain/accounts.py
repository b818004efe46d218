"""What the account platform knows about an account: the facts a knowledge challenge and the
ownership evidence are judged against (gathered by the application through
``adapters/account_platform.py``; never kept, never put in an event)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events.verification_sessions import CodeChannel


@dataclass(frozen=True)
class PaymentRecord:
    card_last4: str
    amount_cents: int
    month: str  # YYYY-MM


@dataclass(frozen=True)
class AccountFacts:
    account_ref: str
    registered_phone: str | None
    registered_email: str | None
    phone_verified: bool
    email_verified: bool
    friends: tuple[str, ...]
    login_cities: tuple[str, ...]
    devices: tuple[str, ...]
    payments: tuple[PaymentRecord, ...]
    # friends who confirmed, when asked, that they know the holder
    vouching_contacts: tuple[str, ...]
    has_past_password: bool

    @property
    def phone_last4(self) -> str | None:
        return self.registered_phone[-4:] if self.registered_phone else None


def channel_destination(facts: AccountFacts, channel: CodeChannel) -> str | None:
    """Where a one-time code may go: only to a verified channel of the account."""
    if channel is CodeChannel.SMS:
        return facts.registered_phone if facts.phone_verified else None
    return facts.registered_email if facts.email_verified else None
