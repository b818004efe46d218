"""Keyed digests (HMAC-SHA256) of the secrets a person proves: one-time codes, knowledge
answers, micro-deposit amounts. Only the digest is stored; comparison is constant-time.

A plain hash would not do: a 6-digit code or a 2-digit amount has so few values that its
unkeyed hash is as good as the value. The key (``FRONTDESK_VERIFICATION_DIGEST_KEY``) never
leaves the service, and each digest is bound to its context (delivery id, question id...).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata


def normalize_answer(answer: str) -> str:
    """Answers compare without case, width or surrounding-space differences."""
    return " ".join(unicodedata.normalize("NFKC", answer).casefold().split())


def digest(key: bytes, context: str, secret: str) -> bytes:
    return hmac.new(key, f"{context}\x00{secret}".encode(), hashlib.sha256).digest()


def matches(key: bytes, context: str, secret: str, stored: bytes | None) -> bool:
    """Constant-time comparison of ``secret`` with a stored digest (False when none)."""
    candidate = digest(key, context, secret)
    if stored is None:
        hmac.compare_digest(candidate, candidate)  # same work either way
        return False
    return hmac.compare_digest(candidate, bytes(stored))
