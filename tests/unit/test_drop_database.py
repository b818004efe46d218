"""runtime.db.drop_database: an autovacuum worker in the database makes PostgreSQL 15 refuse
``DROP DATABASE … WITH (FORCE)`` to a role without ``pg_signal_backend`` (a bench's teardown
failed so); the plain drop, which asks autovacuum to stop and waits for it, follows."""

from __future__ import annotations

import asyncpg
import pytest

from runtime.db import drop_database

pytestmark = pytest.mark.unit

FORCE = 'DROP DATABASE IF EXISTS "bench_x" WITH (FORCE)'
PLAIN = 'DROP DATABASE IF EXISTS "bench_x"'


class Admin:
    """An admin connection answering each statement with what it was given, in turn."""

    def __init__(self, *answers: Exception | None) -> None:
        self.answers = list(answers)
        self.sent: list[str] = []

    async def execute(self, sql: str) -> str:
        self.sent.append(sql)
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        return "DROP DATABASE"


def autovacuum_in_the_way() -> asyncpg.InsufficientPrivilegeError:
    return asyncpg.InsufficientPrivilegeError(
        "must be a member of the role whose process is being terminated or member of "
        "pg_signal_backend"
    )


async def test_force_alone_when_it_is_allowed() -> None:
    admin = Admin(None)
    await drop_database(admin, "bench_x")  # type: ignore[arg-type]
    assert admin.sent == [FORCE]


async def test_a_plain_drop_after_force_is_refused_for_an_autovacuum_worker() -> None:
    admin = Admin(autovacuum_in_the_way(), None)
    await drop_database(admin, "bench_x")  # type: ignore[arg-type]
    assert admin.sent == [FORCE, PLAIN]


async def test_force_again_when_a_session_came_back_meanwhile() -> None:
    in_use = asyncpg.ObjectInUseError("database is being accessed by other users")
    admin = Admin(autovacuum_in_the_way(), in_use, None)
    await drop_database(admin, "bench_x")  # type: ignore[arg-type]
    assert admin.sent == [FORCE, PLAIN, FORCE]


async def test_it_gives_up_after_its_tries() -> None:
    in_use = asyncpg.ObjectInUseError("database is being accessed by other users")
    admin = Admin(*[autovacuum_in_the_way(), in_use] * 2)
    with pytest.raises(asyncpg.ObjectInUseError):
        await drop_database(admin, "bench_x", tries=2)  # type: ignore[arg-type]
    assert admin.sent == [FORCE, PLAIN] * 2
