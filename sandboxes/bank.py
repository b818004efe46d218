"""A LOCAL SANDBOX bank: an in-memory ledger that "sends" micro-deposits and shows them on the
account's statement, which is how the organization learns the amounts (tests read
``statement``; a real organization reads its bank statement).

In process it is the verification service's bank when ``FRONTDESK_VERIFICATION_BANK_URL`` is
unset (development and tests; production refuses it). It also serves the bank protocol of
``services/verification/adapters/bank.py`` over HTTP, so the real ``HttpBank`` runs against it:

    python -m sandboxes.bank --port 8094
"""

from __future__ import annotations

import argparse
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException
from pydantic import AwareDatetime, BaseModel, Field

from runtime.service import Sandbox

DEV_API_KEY = "sandbox-bank-development-key"


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


class MicroDeposits(BaseModel):
    account_number: str = Field(min_length=1, max_length=40)
    bank_name: str = Field(min_length=1, max_length=100)
    amounts_cents: list[Annotated[int, Field(ge=1, le=99)]] = Field(min_length=2, max_length=2)
    reference: str = Field(max_length=200)
    at: AwareDatetime


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
        if authorization != f"Bearer {api_key}":
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
    async def statement(account_number: str) -> list[dict[str, object]]:
        return [
            {"transfer_ref": c.transfer_ref, "amount_cents": c.amount_cents,
             "reference": c.reference, "at": c.at.isoformat()}
            for c in ledger.statement(account_number)
        ]  # fmt: skip

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("SANDBOX_BANK_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SANDBOX_BANK_PORT", "8094"))
    )
    parser.add_argument("--api-key", default=os.environ.get("SANDBOX_BANK_API_KEY", DEV_API_KEY))
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.api_key), host=args.host, port=args.port, access_log=False,
        log_level="warning",
    )  # fmt: skip


if __name__ == "__main__":
    main()
