"""Micro-deposits to an organization's registered bank account.

``BankTransfers`` is the interface to the bank (production: the bank's corporate payment API
through the platform's payment gateway). ``SandboxBank`` is a local, in-memory ledger for
development and tests: it "sends" transfers and shows them on the account's statement, which
is how the organization learns the amounts (tests read ``statement``; a real organization reads
its bank statement).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Credit:
    transfer_ref: str
    amount_cents: int
    reference: str
    at: datetime


class BankTransfers(Protocol):
    name: str

    async def send_micro_deposits(
        self,
        *,
        account_number: str,
        bank_name: str,
        amounts_cents: tuple[int, int],
        reference: str,
        at: datetime,
    ) -> list[str]:
        """Send each amount as its own transfer; returns the bank's transfer references."""
        ...


class SandboxBank:
    """A local, in-memory bank (development and tests only)."""

    name = "sandbox"

    def __init__(self) -> None:
        self._ledger: dict[str, list[Credit]] = {}

    async def send_micro_deposits(
        self,
        *,
        account_number: str,
        bank_name: str,
        amounts_cents: tuple[int, int],
        reference: str,
        at: datetime,
    ) -> list[str]:
        refs = []
        for amount in amounts_cents:
            transfer_ref = f"sbxbank-{uuid.uuid4().hex[:16]}"
            self._ledger.setdefault(account_number, []).append(
                Credit(transfer_ref, amount, reference, at)
            )
            refs.append(transfer_ref)
        return refs

    def statement(self, account_number: str) -> list[Credit]:
        return list(self._ledger.get(account_number, []))
