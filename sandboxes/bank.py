"""A LOCAL SANDBOX bank: an in-memory ledger that "sends" micro-deposits and shows them on the
account's statement, which is how the organization learns the amounts: its holder reads the
statement, authenticated as the account holder (a real bank: online banking or an
account-information API).

In process it is the verification service's bank when ``FRONTDESK_VERIFICATION_BANK_URL`` is
unset (development and tests; production refuses it). It also serves the bank protocol of
``services/verification/adapters/bank.py`` over HTTP, so the real ``HttpBank`` runs against it:

    python -m sandboxes.bank --port 8094 [--api-key …] [--holder-secret …]

Account holders: every account number has one holder, whose bearer credential is
``holder_credential(account_number)`` (an HMAC of the account number under the sandbox's
holder secret). A real bank enrols and authenticates its customers its own way; in the sandbox
the credential is handed to the company out of band (``python -m sandboxes.bank credential
<account number> [--holder-secret …]`` prints it; tests call ``holder_credential``).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Path
from pydantic import AwareDatetime, BaseModel, Field

from runtime.service import Sandbox
from services.verification.adapters.bank import StatementEntry

DEV_API_KEY = "sandbox-bank-development-key"
DEV_HOLDER_SECRET = "sandbox-bank-holder-development-secret"  # noqa: S105 - a sandbox's
CURRENCY = "CNY"
PAYER = "Frontdesk verification"


@dataclass(frozen=True)
class Credit:
    transfer_ref: str
    amount_cents: int
    reference: str
    at: datetime


class SandboxBank(Sandbox):
    """A local, in-memory bank (development and tests only)."""

    name = "sandbox"
    sandbox_of = "the bank (micro-deposits)"

    def __init__(self, holder_secret: str = DEV_HOLDER_SECRET) -> None:
        self._ledger: dict[str, list[Credit]] = {}
        self._holder_secret = holder_secret.encode()

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

    def holder_credential(self, account_number: str) -> str:
        """The account holder's bearer credential (sandbox only: a real bank's login)."""
        return hmac.new(self._holder_secret, account_number.encode(), hashlib.sha256).hexdigest()

    def is_holder(self, account_number: str, credential: str) -> bool:
        return hmac.compare_digest(self.holder_credential(account_number), credential)

    async def incoming_transfers(
        self, *, account_number: str, holder_credential: str
    ) -> list[StatementEntry]:
        if not self.is_holder(account_number, holder_credential):
            raise PermissionError("not this account's holder")
        return [
            StatementEntry(c.transfer_ref, c.amount_cents, CURRENCY, c.reference, PAYER, c.at)
            for c in self.statement(account_number)
        ]

    def statement(self, account_number: str) -> list[Credit]:
        """The ledger's credits to an account (a sandbox aid for in-process tests)."""
        return list(self._ledger.get(account_number, []))


class MicroDeposits(BaseModel):
    account_number: str = Field(min_length=1, max_length=40)
    bank_name: str = Field(min_length=1, max_length=100)
    amounts_cents: list[Annotated[int, Field(ge=1, le=99)]] = Field(min_length=2, max_length=2)
    reference: str = Field(max_length=200)
    at: AwareDatetime


def _bearer(authorization: str | None) -> str:
    if authorization is None or not authorization.startswith("Bearer "):
        raise HTTPException(401, "a bearer credential is needed")
    return authorization.removeprefix("Bearer ")


def create_app(api_key: str = DEV_API_KEY, bank: SandboxBank | None = None) -> FastAPI:
    """The bank protocol over HTTP, backed by ``bank`` (its statement shows the credits)."""
    app = FastAPI(title="Frontdesk sandbox bank (local, moves no money)")
    ledger = bank or SandboxBank()
    app.state.bank = ledger

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/micro-deposits", status_code=201)
    async def micro_deposits(
        body: MicroDeposits, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, list[str]]:
        if not hmac.compare_digest(_bearer(authorization), api_key):
            raise HTTPException(401, "bad api key")
        refs = await ledger.send_micro_deposits(
            account_number=body.account_number,
            bank_name=body.bank_name,
            amounts_cents=(body.amounts_cents[0], body.amounts_cents[1]),
            reference=body.reference,
            at=body.at,
        )
        return {"transfer_refs": refs}

    @app.get("/v1/accounts/{account_number}/statement")
    async def statement(
        account_number: Annotated[str, Path(min_length=1, max_length=40)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, object]:
        credential = _bearer(authorization)
        try:
            entries = await ledger.incoming_transfers(
                account_number=account_number, holder_credential=credential
            )
        except PermissionError:
            raise HTTPException(403, "only the account's holder reads its statement") from None
        return {
            "account_number": account_number,
            "entries": [
                {"transfer_ref": e.transfer_ref, "direction": "credit",
                 "amount_cents": e.amount_cents, "currency": e.currency,
                 "description": e.description, "counterparty": e.counterparty,
                 "booked_at": e.booked_at.isoformat()}
                for e in entries
            ],
        }  # fmt: skip

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("SANDBOX_BANK_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SANDBOX_BANK_PORT", "8094"))
    )
    parser.add_argument("--api-key", default=os.environ.get("SANDBOX_BANK_API_KEY", DEV_API_KEY))
    parser.add_argument(
        "--holder-secret",
        default=os.environ.get("SANDBOX_BANK_HOLDER_SECRET", DEV_HOLDER_SECRET),
    )
    parser.add_argument(
        "credential", nargs="*", metavar="credential ACCOUNT_NUMBER",
        help="print an account holder's credential instead of serving",
    )  # fmt: skip
    args = parser.parse_args()
    bank = SandboxBank(args.holder_secret)
    if args.credential:
        if len(args.credential) != 2 or args.credential[0] != "credential":
            parser.error("usage: python -m sandboxes.bank credential ACCOUNT_NUMBER")
        print(bank.holder_credential(args.credential[1]))
        return
    uvicorn.run(
        create_app(args.api_key, bank), host=args.host, port=args.port, access_log=False,
        log_level="warning",
    )  # fmt: skip


if __name__ == "__main__":
    main()
