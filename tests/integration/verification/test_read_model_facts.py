"""The ownership points table's "verified in an earlier session" fact comes from the
``session_views`` read model (issue 11: no application query reads event JSON)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.verification.projections.sessions import holder_verified_since
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 1, tzinfo=UTC)


async def test_a_holder_verified_in_another_session_within_the_window_counts(
    stack: dict[str, RunningService],
) -> None:
    pool = stack["verification"].runtime.pool
    account, current, earlier = f"acct-{uuid.uuid4().hex[:8]}", uuid.uuid4(), uuid.uuid4()
    rows = [
        (earlier, "holder", "verified", NOW - timedelta(days=30)),
        (uuid.uuid4(), "proxy", "verified", NOW - timedelta(days=10)),  # not the holder
        (uuid.uuid4(), "holder", "failed", NOW - timedelta(days=5)),  # not verified
        (current, "holder", "verified", NOW),  # the session asking
    ]
    async with pool.acquire() as conn:
        transaction = conn.transaction()  # rolled back: the rebuild tests compare the tables
        await transaction.start()
        try:
            for verification_id, role, status, completed_at in rows:
                await conn.execute(
                    """INSERT INTO session_views (verification_id, account_ref, purpose, risk_level,
                           person_role, checks, status, started_at, expires_at, completed_at,
                           version)
                       VALUES ($1, $2, 'account_recovery', 'low', $3, '{}', $4, $5, $5, $5, 1)""",
                    verification_id, account, role, status, completed_at,
                )  # fmt: skip
            assert await holder_verified_since(conn, account, current, NOW - timedelta(days=365))
            # within 29 days only the asking session itself (excluded), a proxy and a failure
            assert not await holder_verified_since(conn, account, current, NOW - timedelta(days=29))
            assert not await holder_verified_since(
                conn, "acct-other", current, NOW - timedelta(days=365)
            )
        finally:
            await transaction.rollback()
