"""Tokens against hostile input (issue 12): a bounded lifetime, a non-empty bounded subject."""

from __future__ import annotations

import time
from collections.abc import Callable
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
    ("claims", "reason"),
    [
        pytest.param(lambda now: {"exp": now + 100 * 365 * 86400}, "lifetime", id="100-years"),
        pytest.param(lambda now: {"exp": now + 86400 + 120}, "lifetime", id="a-day-and-more"),
        pytest.param(lambda now: {"sub": ""}, "sub", id="empty-sub"),
        pytest.param(lambda now: {"sub": "x" * 10_000}, "sub", id="10kB-sub"),
        pytest.param(lambda now: {"sub": "x" * 201}, "sub", id="201-char-sub"),
        pytest.param(lambda now: {"sub": "alice smith"}, "sub", id="space-in-sub"),
        pytest.param(lambda now: {"sub": "a\u0000b"}, "sub", id="nul-in-sub"),
        pytest.param(lambda now: {"sub": 42}, "sub", id="number-sub"),
        pytest.param(
            lambda now: {"iat": now + 3600, "exp": now + 4000}, "iat", id="iat-in-the-future"
        ),
    ],
)
def test_hostile_tokens_are_401_with_a_clear_message(
    claims: Callable[[int], dict[str, Any]], reason: str
) -> None:
    # forged when the test runs, not when it is collected: a long session must not expire them
    token = forge(**claims(int(time.time())))
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
