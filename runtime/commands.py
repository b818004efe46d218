"""The one way a route runs a command: one transaction, an optional Idempotency-Key, and a
bounded retry when another request changed the same stream first.

``command(pool, act)`` runs ``act(conn)`` in a transaction. When it raises
``ConcurrencyConflict`` (another transaction appended to the stream after ``act`` loaded it),
or PostgreSQL aborts it as a deadlock victim or a serialization failure (two commands taking
the same rows or locks in opposite orders: nothing was written, and PostgreSQL's documented
answer is to run the transaction again), the whole transaction is rolled back and ``act``
runs again on the fresh state, up to ``COMMAND_ATTEMPTS`` times; what is then illegal is
refused by ``decide`` with its reason.
``idempotent(...)`` is the same with the answer stored under the caller's Idempotency-Key in
that transaction, so a retried request returns the first answer and acts no more.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from runtime import positions
from runtime.errors import ConcurrencyConflict, IdempotencyKeyReused

T = TypeVar("T")

COMMAND_ATTEMPTS = 3
# what makes a command run again from the start: nothing of the attempt was written
RETRIED = (ConcurrencyConflict, asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


async def command(
    pool: asyncpg.Pool,
    act: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    attempts: int = COMMAND_ATTEMPTS,
) -> T:
    """Run ``act`` in one transaction, again on a concurrency conflict (bounded)."""
    for attempt in range(1, attempts + 1):
        try:
            written = positions.start_attempt()
            async with pool.acquire() as conn, conn.transaction():
                result = await act(conn)
            positions.committed(written)
            return result
        except RETRIED:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="Retrying a request with the same key returns the first result.",
    ),
]


def fingerprint(body: BaseModel | dict[str, Any] | None) -> str:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


async def idempotent(
    pool: asyncpg.Pool,
    scope: str,
    key: str | None,
    request_fingerprint: str,
    act: Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]],
    *,
    attempts: int = COMMAND_ATTEMPTS,
) -> JSONResponse:
    """``command`` whose answer is stored under the key in the same transaction.

    A retry with the same key and the same request returns the stored answer and acts no more;
    the same key with a different request is refused (422). Of two concurrent requests with one
    key, the second waits for the first and then returns its answer.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await _idempotent_once(pool, scope, key, request_fingerprint, act)
        except RETRIED:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


async def _idempotent_once(
    pool: asyncpg.Pool,
    scope: str,
    key: str | None,
    request_fingerprint: str,
    act: Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    async with pool.acquire() as conn:
        if key is not None:
            replay = await _stored_answer(conn, scope, key, request_fingerprint)
            if replay is not None:
                return replay
        try:
            written = positions.start_attempt()
            async with conn.transaction():
                status, answer = await act(conn)
                body = _json_of(answer)
                if key is not None:
                    await conn.execute(
                        """INSERT INTO idempotency_keys
                               (scope, key, fingerprint, status_code, response)
                           VALUES ($1, $2, $3, $4, $5)""",
                        scope,
                        key,
                        request_fingerprint,
                        status,
                        body,
                    )
        except asyncpg.UniqueViolationError as error:
            if key is None or error.table_name != "idempotency_keys":
                raise
            replay = await _stored_answer(conn, scope, key, request_fingerprint)
            assert replay is not None
            return replay
    positions.committed(written)
    return JSONResponse(body, status_code=status)


def _json_of(answer: Any) -> Any:
    """The answer as JSON data: a model straight through its serializer (as
    ``jsonable_encoder`` would, without walking the result again)."""
    if isinstance(answer, BaseModel):
        return answer.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(answer)


async def _stored_answer(
    conn: asyncpg.Connection, scope: str, key: str, request_fingerprint: str
) -> JSONResponse | None:
    row = await conn.fetchrow(
        "SELECT fingerprint, status_code, response FROM idempotency_keys "
        "WHERE scope = $1 AND key = $2",
        scope,
        key,
    )
    if row is None:
        return None
    if row["fingerprint"] != request_fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    return JSONResponse(
        row["response"], status_code=row["status_code"], headers={"Idempotent-Replay": "true"}
    )
