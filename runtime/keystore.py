"""Subject keys for crypto-shredding: one key store, its own PostgreSQL database, every service.

``KeyStore`` is the interface; ``PostgresKeyStore`` keeps each subject's 256-bit key wrapped
with a master key (AES-256-GCM, the subject id and version as associated data). In production
the wrapping belongs in a KMS or HSM: implement ``KeyStore`` (or replace ``MasterKey.wrap`` /
``unwrap`` with the KMS's encrypt/decrypt calls) and the rest of the platform is unchanged.
Keys are cached in memory for a short time and never logged.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEYSTORE_MIGRATIONS = Path(__file__).parent / "keystore_migrations"
KEY_BYTES = 32
KEYS_KEPT = 20_000  # cached keys past which the expired ones are dropped
NONCE_BYTES = 12


@dataclass(frozen=True)
class SubjectKey:
    subject_id: str
    version: int
    material: bytes = field(repr=False)
    # the cipher of the key, made once: it goes with the key (``forget`` drops both)
    cipher: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cipher", AESGCM(self.material))


class KeyStore(Protocol):
    async def current_key(self, subject_id: str) -> SubjectKey:
        """The key new data of this subject is encrypted with (created on first use)."""

    async def key(self, subject_id: str, version: int) -> SubjectKey | None:
        """A key by version; None once the subject was erased (or for an unknown version)."""

    async def load(self, wanted: Iterable[tuple[str, int]]) -> None:
        """Bring the keys ``wanted`` (subject id, version) into this process's cache, in one
        round trip: ``key`` then finds them. Erased or unknown ones stay out."""

    async def erase(self, subject_id: str) -> bool:
        """Destroy every key of the subject; True when something was destroyed."""

    def forget(self, subject_id: str) -> None:
        """Drop the subject's keys from this process's cache."""


@dataclass(frozen=True)
class MasterKey:
    """Wraps subject keys. Local implementation of what a KMS does in production."""

    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise ValueError("the key store master key must be 32 bytes")

    def wrap(self, subject_id: str, version: int, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.material).encrypt(nonce, key, _aad(subject_id, version))

    def unwrap(self, subject_id: str, version: int, wrapped: bytes) -> bytes:
        nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        return AESGCM(self.material).decrypt(nonce, sealed, _aad(subject_id, version))


# The subject's latest key, or (a subject never seen) its first one, inserted with the key
# wrapped by the caller; nothing when another transaction inserted the first key meanwhile.
_CURRENT_OR_FIRST = """
WITH latest AS (
    SELECT version, wrapped_key FROM subject_keys
    WHERE subject_id = $1 ORDER BY version DESC LIMIT 1
), created AS (
    INSERT INTO subject_keys (subject_id, version, wrapped_key)
    SELECT $1, 1, $2 WHERE NOT EXISTS (SELECT FROM latest)
    ON CONFLICT DO NOTHING
    RETURNING version, wrapped_key
)
SELECT version, wrapped_key FROM created
UNION ALL
SELECT version, wrapped_key FROM latest
LIMIT 1
"""


def _aad(subject_id: str, version: int) -> bytes:
    return f"frontdesk-subject-key|{subject_id}|{version}".encode()


class PostgresKeyStore:
    def __init__(
        self, pool: asyncpg.Pool, master_key: MasterKey, *, cache_seconds: float = 30.0
    ) -> None:
        self.pool = pool
        self.master_key = master_key
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[str, int | None], tuple[float, SubjectKey]] = {}
        self._creating = asyncio.Lock()

    def _cached(self, subject_id: str, version: int | None) -> SubjectKey | None:
        hit = self._cache.get((subject_id, version))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def _remember(self, key: SubjectKey, *, current: bool) -> SubjectKey:
        now = time.monotonic()
        expires = now + self.cache_seconds
        if len(self._cache) >= KEYS_KEPT:  # every new subject adds keys: drop the expired,
            kept = [(k, hit) for k, hit in self._cache.items() if hit[0] >= now]
            self._cache = dict(kept[-KEYS_KEPT // 2 :])  # and the oldest if still too many
        self._cache[(key.subject_id, key.version)] = (expires, key)
        if current:
            self._cache[(key.subject_id, None)] = (expires, key)
        return key

    def forget(self, subject_id: str) -> None:
        for cached in [k for k in self._cache if k[0] == subject_id]:
            del self._cache[cached]

    async def current_key(self, subject_id: str) -> SubjectKey:
        cached = self._cached(subject_id, None)
        if cached is not None:
            return cached
        # one round trip for the usual cases: the subject's latest key, or its first key
        # created now (wrapped before asking, in case it is needed)
        material = os.urandom(KEY_BYTES)
        wrapped = self.master_key.wrap(subject_id, 1, material)
        row = await self.pool.fetchrow(_CURRENT_OR_FIRST, subject_id, wrapped)
        if row is not None and row["wrapped_key"] is not None:
            stored = (
                material  # the first key, made now: no need to unwrap what was just wrapped
                if row["version"] == 1 and row["wrapped_key"] == wrapped
                else self.master_key.unwrap(subject_id, row["version"], row["wrapped_key"])
            )
            return self._remember(SubjectKey(subject_id, row["version"], stored), current=True)
        if row is None:  # another process created the first key at the same moment
            first = await self.key(subject_id, 1)
            if first is not None:
                return self._remember(first, current=True)
        return await self._next_key(subject_id)

    async def _next_key(self, subject_id: str) -> SubjectKey:
        """A new key after an erasure (the latest version has no key any more)."""
        async with self._creating:
            row = await self.pool.fetchrow(
                """SELECT version, wrapped_key FROM subject_keys
                   WHERE subject_id = $1 ORDER BY version DESC LIMIT 1""",
                subject_id,
            )
            if row is not None and row["wrapped_key"] is not None:
                material = self.master_key.unwrap(subject_id, row["version"], row["wrapped_key"])
                return self._remember(
                    SubjectKey(subject_id, row["version"], material), current=True
                )
            version = 1 if row is None else row["version"] + 1
            material = os.urandom(KEY_BYTES)
            await self.pool.execute(
                """INSERT INTO subject_keys (subject_id, version, wrapped_key)
                   VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""",
                subject_id,
                version,
                self.master_key.wrap(subject_id, version, material),
            )
        # another process may have created it first: read back what is stored
        stored = await self.key(subject_id, version)
        if stored is None:
            raise RuntimeError(f"key of {subject_id} v{version} vanished while created")
        return self._remember(stored, current=True)

    async def key(self, subject_id: str, version: int) -> SubjectKey | None:
        cached = self._cached(subject_id, version)
        if cached is not None:
            return cached
        wrapped = await self.pool.fetchval(
            "SELECT wrapped_key FROM subject_keys WHERE subject_id = $1 AND version = $2",
            subject_id,
            version,
        )
        if wrapped is None:
            return None
        material = self.master_key.unwrap(subject_id, version, wrapped)
        return self._remember(SubjectKey(subject_id, version, material), current=False)

    async def load(self, wanted: Iterable[tuple[str, int]]) -> None:
        missing = {
            (subject, version) for subject, version in wanted if not self._cached(subject, version)
        }
        if not missing:
            return
        subjects, versions = zip(*missing, strict=True)
        rows = await self.pool.fetch(
            """SELECT subject_id, version, wrapped_key FROM subject_keys
               JOIN unnest($1::text[], $2::int[]) AS wanted (subject_id, version)
                   USING (subject_id, version)
               WHERE wrapped_key IS NOT NULL""",
            list(subjects),
            list(versions),
        )
        for subject, version, wrapped in rows:
            material = self.master_key.unwrap(subject, version, wrapped)
            self._remember(SubjectKey(subject, version, material), current=False)

    async def erase(self, subject_id: str) -> bool:
        result = await self.pool.execute(
            """UPDATE subject_keys SET wrapped_key = NULL, erased_at = now()
               WHERE subject_id = $1 AND wrapped_key IS NOT NULL""",
            subject_id,
        )
        self.forget(subject_id)
        return result != "UPDATE 0"
