"""Webhook signatures, knowledge questions, digests, ownership scores, settings: no I/O."""

from __future__ import annotations

import json
import time

import pytest

from runtime.settings import UnsafeSettings
from sandboxes.account_platform import SandboxAccountFacts
from services.verification.adapters.identity_provider import (
    HttpIdentityProvider,
    WebhookRejected,
    signed_headers,
)
from services.verification.application.digests import digest, matches, normalize_answer
from services.verification.application.knowledge import answer_context, build_challenge
from services.verification.config import DEV_SECRET, VerificationSettings
from services.verification.domain.ownership import OwnershipClaim, score_ownership

pytestmark = pytest.mark.unit

SECRET = b"webhook-secret"


def provider(now: float = 1_800_000_000.0) -> HttpIdentityProvider:
    return HttpIdentityProvider(
        name="sandbox",
        base_url="http://idp.invalid",
        api_key="key",
        webhook_secret=SECRET,
        tolerance_seconds=300,
        wall_clock=lambda: now,
    )


def body(delivery: str = "d-1", status: str = "approved") -> bytes:
    return json.dumps(
        {
            "delivery_id": delivery,
            "session_id": "sbx_1",
            "reference": "ref",
            "status": status,
            "checks": {"document": "pass"},
            "reasons": [],
        }
    ).encode()


def test_an_authentic_fresh_webhook_is_read() -> None:
    raw = body()
    result = provider().verify_webhook(signed_headers(SECRET, "d-1", raw, 1_800_000_000), raw)
    assert result.approved
    assert result.provider_session_ref == "sbx_1"
    assert result.explanation() == "identity document: pass"


@pytest.mark.parametrize(
    ("secret", "delivery", "timestamp", "tamper", "problem"),
    [
        (b"other", "d-1", 1_800_000_000, False, "wrong signature"),
        (SECRET, "d-1", 1_800_000_000 - 301, False, "outside the accepted window"),
        (SECRET, "d-1", 1_800_000_000 + 301, False, "outside the accepted window"),
        (SECRET, "d-1", 1_800_000_000, True, "wrong signature"),
        (SECRET, "d-2", 1_800_000_000, False, "differs from the header"),
    ],
)
def test_forged_stale_tampered_or_mismatched_webhooks_are_rejected(
    secret: bytes, delivery: str, timestamp: int, tamper: bool, problem: str
) -> None:
    raw = body()
    headers = signed_headers(secret, delivery, raw, timestamp)
    sent = raw.replace(b"approved", b"declined") if tamper else raw
    with pytest.raises(WebhookRejected, match=problem):
        provider().verify_webhook(headers, sent)


def test_a_webhook_without_signature_headers_is_rejected() -> None:
    with pytest.raises(WebhookRejected, match="missing"):
        provider().verify_webhook({"Content-Type": "application/json"}, body())


def test_the_signature_covers_the_delivery_id() -> None:
    raw = body()
    headers = signed_headers(SECRET, "d-1", raw, int(time.time()))
    headers["X-Delivery-Id"] = "d-9"  # a replay under a fresh delivery id
    with pytest.raises(WebhookRejected, match="wrong signature"):
        provider(time.time()).verify_webhook(headers, raw)


# -- knowledge --------------------------------------------------------------------------------


async def test_a_challenge_mixes_the_right_answer_with_decoys_and_keeps_only_its_digest() -> None:
    facts_provider = SandboxAccountFacts()
    facts = await facts_provider.facts("acct-unit-1")
    assert facts is not None
    questions = await build_challenge(facts, facts_provider, b"k", 4)
    assert len(questions) == 4
    for question in questions:
        if question.kind == "past_password":
            assert question.options == []
            assert question.answer_digest is None
            continue
        assert len(question.options) == len(set(question.options)) == 4
        truths: dict[str, set[str | None]] = {
            "phone_last4": {facts.phone_last4},
            "friend": set(facts.friends),
            "login_city": set(facts.login_cities),
        }
        truth = truths[question.kind]
        right = [o for o in question.options if o in truth]
        assert len(right) == 1  # decoys are never true
        context = answer_context(question.question_id)
        assert matches(b"k", context, normalize_answer(right[0]), question.answer_digest)
        wrong = next(o for o in question.options if o not in truth)
        assert not matches(b"k", context, normalize_answer(wrong), question.answer_digest)


async def test_the_sandbox_checks_a_past_password_against_its_scrypt_hash() -> None:
    facts = SandboxAccountFacts()
    password = SandboxAccountFacts.sandbox_answers("acct-unit-2").past_password
    assert await facts.verify_past_password("acct-unit-2", password)
    assert not await facts.verify_past_password("acct-unit-2", password + "x")
    assert await facts.facts("unknown-account") is None


def test_digests_are_keyed_bound_to_their_context_and_normalized() -> None:
    stored = digest(b"k", "code|1", "123456")
    assert matches(b"k", "code|1", "123456", stored)
    assert not matches(b"other", "code|1", "123456", stored)
    assert not matches(b"k", "code|2", "123456", stored)
    assert not matches(b"k", "code|1", "123456", None)
    assert normalize_answer("  Li  WEI ") == normalize_answer("li wei")


# -- ownership ----------------------------------------------------------------------------------


def test_each_alternative_proof_is_scored_and_explained_without_the_facts() -> None:
    facts = SandboxAccountFacts.sandbox_answers("acct-unit-3").facts
    claim = OwnershipClaim(
        device=facts.devices[0].upper(),
        login_cities=(facts.login_cities[0], "Lhasa"),
        card_last4=facts.payments[0].card_last4,
        amount_cents=facts.payments[0].amount_cents + 1,  # not the amount on record
        vouching_contacts=(facts.vouching_contacts[0], "Nobody"),
        evidence_refs=(),
    )
    items = {item.kind: item for item in score_ownership(facts, claim, earlier_session=True)}
    assert {k: v.points for k, v in items.items()} == {
        "past_device": 30,
        "past_login_cities": 10,
        "payment_record": 0,
        "vouching_contacts": 10,
        "earlier_verified_session": 25,
    }
    text = " ".join(item.explanation for item in items.values())
    assert facts.devices[0] not in text
    assert facts.payments[0].card_last4 not in text


# -- settings -----------------------------------------------------------------------------------


def test_production_refuses_the_development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_ENV", "production")
    with pytest.raises(UnsafeSettings, match="IDP_API_KEY"):
        VerificationSettings()
    monkeypatch.setenv("FRONTDESK_ENV", "development")
    assert VerificationSettings().idp_api_key.get_secret_value() == DEV_SECRET
    with pytest.raises(UnsafeSettings, match="more correct answers"):
        VerificationSettings(knowledge_questions=2, knowledge_required_correct=3)
