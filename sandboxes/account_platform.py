"""A LOCAL SANDBOX account platform: every account id gets stable, made-up facts derived from a
hash of the id (no real person's data), plus a past password stored only as an scrypt hash;
ids starting with ``unknown-`` are unknown accounts. Tests read the expected answers through
``sandbox_answers`` — a sandbox-only aid that no real platform offers.

In process it is the verification service's account platform when
``FRONTDESK_VERIFICATION_ACCOUNT_PLATFORM_URL`` is unset (development and tests; production
refuses it). It also serves the protocol of
``services/verification/adapters/account_platform.py`` over HTTP, so the real
``HttpAccountPlatform`` runs against it:

    python -m sandboxes.account_platform --port 8095
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field, TypeAdapter

from runtime.service import Sandbox
from services.verification.domain.accounts import AccountFacts, PaymentRecord

DEV_API_KEY = "sandbox-account-platform-development-key"


NAMES = (
    "Li Wei", "Wang Fang", "Zhang Min", "Liu Yang", "Chen Jie", "Yang Li", "Zhao Lei",
    "Huang Ying", "Zhou Tao", "Wu Xia", "Xu Jun", "Sun Hui", "Ma Lin", "Zhu Qiang",
    "Hu Yan", "Guo Ping", "He Jing", "Lin Feng", "Gao Yu", "Luo Na",
)  # fmt: skip
CITIES = (
    "Shenzhen", "Guangzhou", "Shanghai", "Beijing", "Chengdu", "Wuhan", "Hangzhou", "Xi'an",
    "Nanjing", "Chongqing", "Tianjin", "Suzhou", "Changsha", "Kunming", "Harbin", "Xiamen",
)  # fmt: skip
DEVICES = (
    "Huawei P30", "Xiaomi 13", "iPhone 12", "OPPO Reno 8", "vivo X90", "Honor 70",
    "iPad Air", "Windows PC (Chrome)", "MacBook (Safari)", "Redmi Note 11",
)  # fmt: skip

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def _seed(account_ref: str) -> int:
    return int.from_bytes(hashlib.sha256(f"sandbox-facts|{account_ref}".encode()).digest()[:8])


@dataclass(frozen=True)
class _SandboxAccount:
    facts: AccountFacts
    password_salt: bytes
    password_hash: bytes
    past_password: str  # sandbox only: tests need to know it


@lru_cache(maxsize=4096)
def _sandbox_account(account_ref: str) -> _SandboxAccount:
    rng = random.Random(_seed(account_ref))  # noqa: S311 - made-up test data, not a secret
    friends = tuple(rng.sample(NAMES, 5))
    phone = "+86138" + "".join(str(rng.randrange(10)) for _ in range(8))
    payments = tuple(
        PaymentRecord(
            card_last4=f"{rng.randrange(10000):04d}",
            amount_cents=rng.randrange(600, 60000),
            month=f"2026-{rng.randrange(1, 11):02d}",
        )
        for _ in range(2)
    )
    facts = AccountFacts(
        account_ref=account_ref,
        registered_phone=phone,
        registered_email=f"{account_ref}@example.com",
        phone_verified=True,
        email_verified=True,
        friends=friends,
        login_cities=tuple(rng.sample(CITIES, 3)),
        devices=tuple(rng.sample(DEVICES, 2)),
        payments=payments,
        vouching_contacts=friends[:2],
        has_past_password=True,
    )
    password = f"sandbox-{rng.getrandbits(32):08x}"
    salt = hashlib.sha256(f"salt|{account_ref}".encode()).digest()[:16]
    return _SandboxAccount(
        facts=facts,
        password_salt=salt,
        password_hash=hashlib.scrypt(password.encode(), salt=salt, **SCRYPT),
        past_password=password,
    )


@dataclass(frozen=True)
class SandboxAnswers:
    """The right answers of a sandbox account (tests and local demos only)."""

    facts: AccountFacts
    past_password: str


class SandboxAccountFacts(Sandbox):
    """Local, made-up account facts for development and tests (see the module docstring)."""

    name = "sandbox"
    sandbox_of = "the account platform (account facts)"

    async def facts(self, account_ref: str) -> AccountFacts | None:
        if not account_ref or account_ref.startswith("unknown-"):
            return None
        return (await asyncio.to_thread(_sandbox_account, account_ref)).facts

    async def decoys(self, kind: str, exclude: set[str], count: int, seed: int) -> list[str]:
        pool = {"friend": NAMES, "city": CITIES, "device": DEVICES}[kind]
        candidates = [value for value in pool if value not in exclude]
        return random.Random(seed).sample(candidates, min(count, len(candidates)))  # noqa: S311

    async def verify_past_password(self, account_ref: str, candidate: str) -> bool:
        account = await asyncio.to_thread(_sandbox_account, account_ref)
        computed = await asyncio.to_thread(
            hashlib.scrypt, candidate.encode(), salt=account.password_salt, **SCRYPT
        )
        return hmac.compare_digest(computed, account.password_hash)

    @staticmethod
    def sandbox_answers(account_ref: str) -> SandboxAnswers:
        account = _sandbox_account(account_ref)
        return SandboxAnswers(facts=account.facts, past_password=account.past_password)


class DecoyRequest(BaseModel):
    kind: Literal["friend", "city", "device"]
    exclude: list[str] = Field(default_factory=list, max_length=100)
    count: int = Field(ge=0, le=20)
    seed: int


class PasswordCheck(BaseModel):
    candidate: str = Field(max_length=200)


def create_app(api_key: str = DEV_API_KEY) -> FastAPI:
    """The account platform's facts API over HTTP, backed by the sandbox data set."""
    app = FastAPI(title="Frontdesk sandbox account platform (local, made-up facts)")
    platform = SandboxAccountFacts()
    facts_json = TypeAdapter(AccountFacts)

    def authorize(authorization: str | None) -> None:
        if authorization != f"Bearer {api_key}":
            raise HTTPException(401, "bad api key")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/accounts/{account_ref}/facts")
    async def facts(
        account_ref: str, authorization: Annotated[str | None, Header()] = None
    ) -> object:
        authorize(authorization)
        found = await platform.facts(account_ref)
        if found is None:
            raise HTTPException(404, "no such account")
        return facts_json.dump_python(found, mode="json")

    @app.post("/v1/decoys")
    async def decoys(
        body: DecoyRequest, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, list[str]]:
        authorize(authorization)
        values = await platform.decoys(body.kind, set(body.exclude), body.count, body.seed)
        return {"values": values}

    @app.post("/v1/accounts/{account_ref}/past-passwords/check")
    async def check_password(
        account_ref: str, body: PasswordCheck, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, bool]:
        authorize(authorization)
        return {"matches": await platform.verify_past_password(account_ref, body.candidate)}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("SANDBOX_ACCOUNTS_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SANDBOX_ACCOUNTS_PORT", "8095"))
    )
    parser.add_argument(
        "--api-key", default=os.environ.get("SANDBOX_ACCOUNTS_API_KEY", DEV_API_KEY)
    )
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.api_key), host=args.host, port=args.port, access_log=False,
        log_level="warning",
    )  # fmt: skip


if __name__ == "__main__":
    main()
