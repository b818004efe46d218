"""Ownership evidence when the registered phone is dead: the points table.

Each alternative proof the person offers is scored against what the account platform knows
(``OwnershipFacts``, gathered by the application) and explained without quoting the facts
themselves; the session's ``decide`` sums the points against the threshold (enough: the check
passes; too little: a reviewer decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from contracts.events.verification_sessions import OwnershipItem
from services.verification.domain.accounts import AccountFacts

PAST_DEVICE_POINTS = 30
ONE_CITY_POINTS, TWO_CITIES_POINTS = 10, 20
PAYMENT_POINTS = 30
POINTS_PER_VOUCHER, MAX_VOUCHER_POINTS = 10, 20
EARLIER_SESSION_POINTS = 25


@dataclass(frozen=True)
class OwnershipClaim:
    """What the person says proves they own the account."""

    device: str | None
    login_cities: tuple[str, ...]
    card_last4: str | None
    amount_cents: int | None
    vouching_contacts: tuple[str, ...]
    evidence_refs: tuple[UUID, ...]


@dataclass(frozen=True)
class OwnershipFacts:
    """What the platform knows, gathered once: the account's facts, and whether the holder
    was verified in another session within the last year."""

    account: AccountFacts
    earlier_verified_session: bool


def score_ownership(
    facts: AccountFacts, claim: OwnershipClaim, earlier_session: bool
) -> list[OwnershipItem]:
    """Each alternative proof, its points and why — without quoting the facts themselves."""
    items = []
    device_ok = claim.device is not None and claim.device.casefold() in {
        d.casefold() for d in facts.devices
    }
    items.append(
        OwnershipItem(
            kind="past_device",
            points=PAST_DEVICE_POINTS if device_ok else 0,
            explanation="the device named was used on the account before"
            if device_ok
            else (
                "the device named was not seen on the account"
                if claim.device
                else "no device named"
            ),
        )
    )
    known = {c.casefold() for c in facts.login_cities}
    cities = {c.casefold() for c in claim.login_cities} & known
    items.append(
        OwnershipItem(
            kind="past_login_cities",
            points=TWO_CITIES_POINTS if len(cities) >= 2 else ONE_CITY_POINTS if cities else 0,
            explanation=(
                f"{len(cities)} of {len(claim.login_cities)} cities named match past log-ins"
            ),
        )
    )
    payment_ok = any(
        p.card_last4 == claim.card_last4 and p.amount_cents == claim.amount_cents
        for p in facts.payments
    )
    items.append(
        OwnershipItem(
            kind="payment_record",
            points=PAYMENT_POINTS if payment_ok else 0,
            explanation="a payment named (card and amount) matches the account's records"
            if payment_ok
            else ("no payment record matches" if claim.card_last4 else "no payment named"),
        )
    )
    vouchers = {v.casefold() for v in facts.vouching_contacts}
    vouched = len({c.casefold() for c in claim.vouching_contacts} & vouchers)
    items.append(
        OwnershipItem(
            kind="vouching_contacts",
            points=min(MAX_VOUCHER_POINTS, POINTS_PER_VOUCHER * vouched),
            explanation=f"{vouched} contact(s) from the friend list vouched for the holder",
        )
    )
    items.append(
        OwnershipItem(
            kind="earlier_verified_session",
            points=EARLIER_SESSION_POINTS if earlier_session else 0,
            explanation="the holder was verified in an earlier session within a year"
            if earlier_session
            else "no earlier verified session within a year",
        )
    )
    return items
