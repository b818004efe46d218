"""Tokens against hostile input (issue 12): a bounded lifetime, a non-empty bounded subject."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from runtime.auth import TokenVerifier, Unauthenticated

pytestmark = pytest.mark.unit
SECRET = "a-test-secret-that-is-long-enough-for-hs256"
VERIFIER = TokenVerifier(SECRET, "frontdesk", "frontdesk")


def forge(**claims: Any) -> str:
    now = int(time.time())
    body = {
        "sub": "alice",
        "roles": ["agent"],
        "iat": now,
        "exp": now + 600,
        "iss": "frontdesk",
        "aud": "frontdesk",
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        pytest.param(forge(exp=int(time.time()) + 100 * 365 * 86400), "lifetime", id="100-years"),
        pytest.param(forge(exp=int(time.time()) + 86400 + 120), "lifetime", id="a-day-and-more"),
        pytest.param(forge(sub=""), "sub", id="empty-sub"),
        pytest.param(forge(sub="x" * 10_000), "sub", id="10kB-sub"),
        pytest.param(forge(sub="x" * 201), "sub", id="201-char-sub"),
        pytest.param(forge(sub="alice smith"), "sub", id="space-in-sub"),
        pytest.param(forge(sub="a\u0000b"), "sub", id="nul-in-sub"),
        pytest.param(forge(sub=42), "sub", id="number-sub"),
        pytest.param(
            forge(iat=int(time.time()) + 3600, exp=int(time.time()) + 4000),
            "iat",
            id="iat-in-the-future",
        ),
    ],
)
def test_hostile_tokens_are_401_with_a_clear_message(token: str, reason: str) -> None:
    with pytest.raises(Unauthenticated, match=f"(?i){reason}"):
        VERIFIER.verify(token)


def test_a_token_within_the_limits_is_accepted() -> None:
    now = int(time.time())
    assert VERIFIER.verify(forge(sub="service:cases", exp=now + 86400)).id == "service:cases"
    assert VERIFIER.verify(forge(sub="x" * 200)).id == "x" * 200


def test_the_maximum_lifetime_is_configurable_and_issue_respects_it() -> None:
    short = TokenVerifier(SECRET, "frontdesk", "frontdesk", max_lifetime_seconds=600)
    with pytest.raises(Unauthenticated, match="lifetime"):
        short.verify(forge(exp=int(time.time()) + 601))
    with pytest.raises(ValueError, match="ttl"):
        short.issue("alice", ["agent"], ttl_seconds=3600)
    with pytest.raises(ValueError, match="subject"):
        VERIFIER.issue("", ["agent"])
