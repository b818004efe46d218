"""One-click unsubscribe tokens for marketing email (RFC 8058 ``List-Unsubscribe``). Pure.

A token names what it withdraws — the account, the channel (email) and the campaign whose
message carried it — and when it expires, signed with HMAC-SHA256 under the service's
unsubscribe key: ``<payload>.<signature>``, both base64url without padding (URL-safe as is).
No address and no other personal data is in it: the account ref is an opaque platform id.
A token whose signature does not match (tampered, another key) is refused with 400; a
well-signed token past its expiry with 410.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from contracts.events.notifications import MessageChannel
from runtime.errors import FrontdeskError

TOKEN_VERSION = 1
MAX_TOKEN_LENGTH = 600


class InvalidUnsubscribeToken(FrontdeskError):
    status = 400
    title = "Invalid unsubscribe link"


class ExpiredUnsubscribeToken(FrontdeskError):
    status = 410
    title = "Unsubscribe link expired"


@dataclass(frozen=True)
class UnsubscribeClaim:
    account_ref: str
    channel: MessageChannel
    campaign_id: UUID
    expires_at: datetime

    def __repr__(self) -> str:  # the account ref is enough to find the person: not in logs
        return f"UnsubscribeClaim(channel={self.channel.value}, campaign_id={self.campaign_id})"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, b"unsubscribe." + payload.encode("ascii"), hashlib.sha256).digest()


def sign_token(
    key: bytes,
    account_ref: str,
    channel: MessageChannel,
    campaign_id: UUID,
    issued_at: datetime,
    valid_for: timedelta,
) -> str:
    expires = int((issued_at + valid_for).timestamp())
    body = {"v": TOKEN_VERSION, "a": account_ref, "c": channel.value, "k": str(campaign_id)}
    body["e"] = expires
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_b64(_mac(key, payload))}"


def verify_token(key: bytes, token: str, now: datetime) -> UnsubscribeClaim:
    """The claim of a token signed with ``key``; raises ``InvalidUnsubscribeToken`` (bad
    shape or signature) or ``ExpiredUnsubscribeToken`` (signed, but expired at ``now``)."""
    invalid = InvalidUnsubscribeToken("the unsubscribe link is not valid (damaged or altered)")
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise invalid
    payload, signature = token.split(".")
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise invalid from None
    if not payload.isascii() or not hmac.compare_digest(given, _mac(key, payload)):
        raise invalid
    try:
        body = json.loads(_unb64(payload))
        if body["v"] != TOKEN_VERSION:
            raise invalid
        claim = UnsubscribeClaim(
            account_ref=str(body["a"]),
            channel=MessageChannel(body["c"]),
            campaign_id=UUID(body["k"]),
            expires_at=datetime.fromtimestamp(int(body["e"]), tz=UTC),
        )
    except (KeyError, TypeError, ValueError):
        raise invalid from None
    if not claim.account_ref:
        raise invalid
    if now >= claim.expires_at:
        raise ExpiredUnsubscribeToken(
            "the unsubscribe link has expired: change your preferences in your account instead"
        )
    return claim
