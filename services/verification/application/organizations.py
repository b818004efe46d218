"""Organization verification: its repository (with the deposits timer that follows it),
submissions, micro-deposits sent through the bank and confirmed back, reviews."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from contracts.events.verification_organizations import (
    DepositsConfirmed,
    DepositsSent,
    OrganizationRejected,
    OrganizationVerified,
)
from runtime.commands import command
from runtime.context import CommandContext
from runtime.errors import RuleViolation
from runtime.eventstore import EventStore
from runtime.repository import Executed, Repository
from runtime.scheduler import Timer, cancel, schedule
from services.verification.adapters.bank import BankUnavailable
from services.verification.application.digests import digest, matches
from services.verification.application.sessions import SERVICE
from services.verification.domain.organizations import (
    ORGANIZATION,
    ConfirmDeposits,
    ExpireDeposits,
    Organization,
    OrganizationCommand,
    SendDeposits,
    decide_organization,
)
from services.verification.domain.refusals import Party, party_unavailable
from services.verification.wiring import Wiring

DEPOSITS_TIMER = "deposits-expiry"


def organization_stream(organization_id: UUID) -> str:
    return f"organization-{organization_id}"


async def follow_organization(
    conn: asyncpg.Connection, executed: Executed[Organization], context: CommandContext
) -> None:
    """After an append: the deposits' expiry timer, set when sent, dropped when settled."""
    organization_id = executed.state.organization_id
    timer_id = f"{DEPOSITS_TIMER}:{organization_id}"
    for event in executed.events:
        if isinstance(event, DepositsSent):
            await schedule(conn, timer_id, DEPOSITS_TIMER, event.expires_at, {
                "organization_id": str(organization_id)}, context)  # fmt: skip
        elif isinstance(event, DepositsConfirmed | OrganizationRejected | OrganizationVerified):
            await cancel(conn, timer_id)


def organizations(store: EventStore) -> Repository[Organization]:
    return Repository(store, ORGANIZATION, after_append=[follow_organization])


async def load_organization(
    conn: asyncpg.Connection, store: EventStore, organization_id: UUID
) -> Organization:
    return await organizations(store).state(conn, organization_stream(organization_id))


async def change_organization(
    conn: asyncpg.Connection,
    store: EventStore,
    organization_id: UUID,
    change: OrganizationCommand,
    context: CommandContext,
) -> Executed[Organization]:
    return await organizations(store).execute(
        conn,
        organization_stream(organization_id),
        lambda organization: decide_organization(organization, change),
        context,
    )


async def verified_domains_elsewhere(
    conn: asyncpg.Connection, organization_id: UUID
) -> tuple[str, ...]:
    rows = await conn.fetch(
        "SELECT domain FROM verified_domains WHERE organization_id <> $1 ORDER BY domain",
        organization_id,
    )
    return tuple(row["domain"] for row in rows)


def deposits_context(organization_id: UUID, round_no: int) -> str:
    return f"deposits|{organization_id}|{round_no}"


def amounts_secret(amounts: Sequence[int]) -> str:
    return ",".join(str(a) for a in sorted(amounts))


async def send_deposits(
    pool: asyncpg.Pool,
    store: EventStore,
    wiring: Wiring,
    organization: Organization,
    now: datetime,
    context: CommandContext,
) -> Organization:
    """Two random small amounts to the registered account (the bank is called before the
    transaction, once; the decision is taken again on the state the transaction reads)."""
    assert organization.organization_id is not None
    organization_id = organization.organization_id
    settings = wiring.settings
    expires_at = now + timedelta(days=settings.deposit_expiry_days)
    # refuse before moving money when the state does not allow it
    decide_organization(
        organization, SendDeposits((), settings.deposit_max_attempts, expires_at, now)
    )
    first = 1 + secrets.randbelow(99)
    second = 1 + secrets.randbelow(98)
    second = second + 1 if second >= first else second  # two different amounts, 0.01-0.99
    if organization.bank_account_number is None or organization.bank_name is None:
        raise RuleViolation("the registered bank account is no longer on record")
    try:
        refs = await wiring.bank.send_micro_deposits(
            account_number=organization.bank_account_number,
            bank_name=organization.bank_name,
            amounts_cents=(first, second),
            reference=f"Frontdesk verification {str(organization_id)[:8]}",
            at=now,
        )
    except BankUnavailable as error:
        # the organization's administrator reads it: the platform's default language
        raise party_unavailable(Party.BANK, None, str(error)) from None
    send = SendDeposits(tuple(refs), settings.deposit_max_attempts, expires_at, now)

    async def act(conn: asyncpg.Connection) -> Organization:
        sent = (await change_organization(conn, store, organization_id, send, context)).state
        await conn.execute(
            "INSERT INTO deposit_secrets (organization_id, round, amounts_digest) "
            "VALUES ($1, $2, $3)",
            organization_id,
            sent.deposit_rounds,
            digest(
                wiring.digest_key,
                deposits_context(organization_id, sent.deposit_rounds),
                amounts_secret((first, second)),
            ),
        )
        return sent

    return await command(pool, act)


async def confirm_deposits(
    conn: asyncpg.Connection,
    store: EventStore,
    wiring: Wiring,
    organization_id: UUID,
    amounts_cents: tuple[int, int],
    now: datetime,
    context: CommandContext,
) -> Organization:
    organization = await load_organization(conn, store, organization_id)
    stored = await conn.fetchval(
        "SELECT amounts_digest FROM deposit_secrets WHERE organization_id = $1 AND round = $2",
        organization_id,
        organization.deposit_rounds,
    )
    ok = matches(
        wiring.digest_key,
        deposits_context(organization_id, organization.deposit_rounds),
        amounts_secret(amounts_cents),
        stored,
    )
    confirm = ConfirmDeposits(matches=ok, at=now)
    return (await change_organization(conn, store, organization_id, confirm, context)).state


async def on_deposits_timer(
    store: EventStore, conn: asyncpg.Connection, timer: Timer, now: datetime
) -> None:
    organization_id = UUID(timer.payload["organization_id"])
    expire = ExpireDeposits(at=now)
    await change_organization(conn, store, organization_id, expire, timer.context(SERVICE))
