"""A failed check's reason quotes the reviewer's words about the person (issue 12): it is
sealed under the account's key, unreadable once the account is erased, and the failures
written before (v1, plain text) still read as written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts import REGISTRY, Envelope
from contracts.events.verification_sessions import CheckFailed, VerificationCheck
from runtime.privacy import TOKEN_PREFIX, Privacy
from tests.unit.test_privacy import KeysInMemory

pytestmark = pytest.mark.unit

WORDS = "proxy relationship rejected by a reviewer: the certificate is altered"


def failed() -> CheckFailed:
    return CheckFailed(
        verification_id=uuid.uuid4(),
        check=VerificationCheck.PROXY_RELATIONSHIP,
        reason=WORDS,
        failed_at=datetime(2026, 1, 1, tzinfo=UTC),
        account_ref="acct-7",
    )


def envelope(event_id: uuid.UUID, payload: dict[str, object], ref: object) -> Envelope:
    return Envelope.model_validate(
        {
            "event_id": event_id,
            "event_type": "verification.check_failed",
            "schema_version": 2,
            "occurred_at": datetime.now(UTC),
            "stream_type": "verification",
            "stream_id": f"verification-{payload['verification_id']}",
            "stream_version": 5,
            "correlation_id": uuid.uuid4(),
            "producer": "verification",
            "personal_data": ref,
            "payload": payload,
        }
    )


async def test_the_reason_is_sealed_under_the_accounts_key_and_gone_after_erasure() -> None:
    keys, event = KeysInMemory(), failed()
    privacy, event_id = Privacy(keys), uuid.uuid4()
    sealed, ref = await privacy.seal(event_id, event)
    assert ref is not None
    assert ref.subject_id == "account:acct-7"
    assert sealed["reason"].startswith(TOKEN_PREFIX)
    assert "certificate" not in str(sealed)
    assert (await privacy.reveal(envelope(event_id, sealed, ref)))["reason"] == WORDS
    assert await keys.erase("account:acct-7")
    revealed = await privacy.reveal(envelope(event_id, sealed, ref))
    assert revealed["reason"] is None
    assert CheckFailed.model_validate(revealed).check is VerificationCheck.PROXY_RELATIONSHIP


def test_a_failure_written_in_plain_text_before_still_reads_as_written() -> None:
    stored = {
        "verification_id": str(uuid.uuid4()),
        "check": "document_and_liveness",
        "reason": "identity document rejected by a reviewer: blurred",
        "failed_at": "2025-06-01T00:00:00Z",
    }
    decoded = REGISTRY.decode("verification.check_failed", 1, stored)
    assert isinstance(decoded, CheckFailed)
    assert decoded.reason == stored["reason"]
    assert decoded.account_ref is None
    assert decoded.data_subject_id == f"verification:{stored['verification_id']}"
