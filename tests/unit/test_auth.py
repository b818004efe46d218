"""Bearer tokens: issue, verify, and who the caller is."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from runtime.auth import ROLES, STAFF_ROLES, Principal, TokenVerifier, Unauthenticated

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-0123456789abcdef-0123456789"
VERIFIER = TokenVerifier(secret=SECRET, issuer="frontdesk", audience="frontdesk")


def forge(**claims: Any) -> str:
    """A token signed with the right secret but with hand-picked claims."""
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "alice",
        "roles": ["agent"],
        "iat": now,
        "exp": now + 600,
        "iss": "frontdesk",
        "aud": "frontdesk",
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


def test_issue_and_verify_round_trip() -> None:
    token = VERIFIER.issue("alice", ["agent", "reviewer"], ttl_seconds=600)
    assert VERIFIER.verify(token) == Principal(id="alice", roles=frozenset({"agent", "reviewer"}))


def test_issue_refuses_unknown_roles() -> None:
    with pytest.raises(ValueError, match="wizard"):
        VERIFIER.issue("alice", ["agent", "wizard"])


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        pytest.param(
            lambda: VERIFIER.issue("alice", ["agent"], ttl_seconds=-60), "expired", id="expired"
        ),
        pytest.param(
            lambda: TokenVerifier(
                "another-secret-0123456789abcdef-0123456789", "frontdesk", "frontdesk"
            ).issue("alice", ["agent"]),
            "signature",
            id="wrong-secret",
        ),
        pytest.param(
            lambda: TokenVerifier(SECRET, "frontdesk", "billing").issue("alice", ["agent"]),
            "audience",
            id="wrong-audience",
        ),
        pytest.param(
            lambda: TokenVerifier(SECRET, "someone-else", "frontdesk").issue("alice", ["agent"]),
            "issuer",
            id="wrong-issuer",
        ),
        pytest.param(lambda: forge(roles=["agent", "wizard"]), "roles", id="unknown-role"),
        pytest.param(lambda: forge(roles=None), "roles", id="missing-roles"),
        pytest.param(lambda: forge(roles=[]), "roles", id="empty-roles"),
        pytest.param(lambda: forge(roles="admin"), "roles", id="roles-not-a-list"),
        pytest.param(lambda: forge(sub=None), "sub", id="missing-sub"),
        pytest.param(lambda: forge(exp=None), "exp", id="missing-exp"),
        pytest.param(lambda: "not-a-jwt", "invalid", id="garbage"),
        pytest.param(
            lambda: jwt.encode(
                {"sub": "alice", "roles": ["admin"]},
                None,  # type: ignore[arg-type]  # pyjwt's key type omits None, which alg="none" requires
                algorithm="none",
            ),
            "invalid",
            id="unsigned",
        ),
    ],
)
def test_bad_tokens_are_unauthenticated(token: Any, reason: str) -> None:
    with pytest.raises(Unauthenticated, match=f"(?i){reason}"):
        VERIFIER.verify(token())


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ({"customer", "agent", "admin"}, "admin"),
        ({"agent", "supervisor"}, "supervisor"),
        ({"reviewer", "specialist"}, "reviewer"),
        ({"agent", "specialist"}, "specialist"),
        ({"service", "agent"}, "agent"),
        ({"customer", "service"}, "service"),
        ({"customer"}, "customer"),
    ],
)
def test_actor_is_the_most_privileged_role(roles: set[str], expected: str) -> None:
    actor = Principal(id="alice", roles=frozenset(roles)).actor()
    assert (actor.id, actor.role) == ("alice", expected)


@pytest.mark.parametrize(
    "role",
    ROLES,
)
def test_a_single_role_principal_acts_in_that_role(role: str) -> None:
    assert Principal(id="p-1", roles=frozenset({role})).actor().role == role


@pytest.mark.parametrize("role", [*STAFF_ROLES, "service"])
def test_staff_and_services_are_staff(role: str) -> None:
    assert Principal(id="p-1", roles=frozenset({role})).is_staff
    assert Principal(id="p-1", roles=frozenset({"customer", role})).is_staff


@pytest.mark.parametrize("role", ["customer", "system"])
def test_customers_are_not_staff(role: str) -> None:
    assert not Principal(id="p-1", roles=frozenset({role})).is_staff


def test_a_phone_the_sign_in_verified_is_the_principals_verified_phone() -> None:
    token = VERIFIER.issue("cust-1", ["customer"], verified_phone="+8613800000001")
    assert VERIFIER.verify(token).verified_phone == "+8613800000001"
    assert VERIFIER.verify(VERIFIER.issue("cust-1", ["customer"])).verified_phone is None


def test_a_phone_claim_not_marked_verified_proves_nothing() -> None:
    unproved = forge(roles=["customer"], phone_number="+8613800000001")
    assert VERIFIER.verify(unproved).verified_phone is None
    said_so = forge(roles=["customer"], phone_number="+8613800000001", phone_number_verified="yes")
    assert VERIFIER.verify(said_so).verified_phone is None  # the standard claim is a boolean


def test_a_malformed_phone_claim_is_unauthenticated() -> None:
    bad = forge(roles=["customer"], phone_number="13800000001", phone_number_verified=True)
    with pytest.raises(Unauthenticated, match=r"E\.164"):
        VERIFIER.verify(bad)
    with pytest.raises(ValueError, match=r"E\.164"):
        VERIFIER.issue("cust-1", ["customer"], verified_phone="13800000001")


def test_a_token_verified_once_is_remembered_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = TokenVerifier(secret=SECRET, issuer="frontdesk", audience="frontdesk")
    token = verifier.issue("alice", ["agent"], ttl_seconds=600)
    decoded: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert decoded == [token]  # checked once
    later = time.time() + 600
    monkeypatch.setattr(time, "time", lambda: later)
    verifier.verify(token)  # PyJWT's own clock has not reached exp yet
    assert decoded == [token, token]  # past exp by our clock: checked in full again


def test_a_token_with_the_wrong_signature_is_refused_even_after_the_right_one_was_seen() -> None:
    verifier = TokenVerifier(secret=SECRET, issuer="frontdesk", audience="frontdesk")
    token = verifier.issue("alice", ["agent"], ttl_seconds=600)
    verifier.verify(token)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(Unauthenticated):
        verifier.verify(forged)
