"""What the platform knows about an account, for knowledge challenges and ownership evidence.

``AccountFactsProvider`` is the interface to the account platform (an internal API in
production). It never hands out a secret to compare in the clear: a past password is checked
by ``verify_past_password`` against the stored hash, in constant time.

``SandboxAccountFacts`` is the local data set for development and tests: every account id gets
stable, made-up facts derived from a hash of the id (no real person's data), plus a past
password stored only as an scrypt hash. Tests read the expected answers through
``sandbox_answers`` — a sandbox-only aid that no production provider offers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol


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
    vouching_contacts: tuple[
        str, ...
    ]  # friends who confirmed, when asked, that they know the holder
    has_past_password: bool

    @property
    def phone_last4(self) -> str | None:
        return self.registered_phone[-4:] if self.registered_phone else None


class AccountFactsProvider(Protocol):
    """The account platform's facts about an account (production: an internal API client)."""

    async def facts(self, account_ref: str) -> AccountFacts | None:
        """The account's facts, or None for an unknown account."""

    async def decoys(self, kind: str, exclude: set[str], count: int, seed: int) -> list[str]:
        """Plausible wrong options of ``kind`` (friend, city) that are not in ``exclude``."""

    async def verify_past_password(self, account_ref: str, candidate: str) -> bool:
        """Whether ``candidate`` is a password the account used before (hash comparison)."""


# -- the sandbox ------------------------------------------------------------------------------

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


class SandboxAccountFacts:
    """Local, made-up account facts for development and tests (see the module docstring)."""

    name = "sandbox"

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
