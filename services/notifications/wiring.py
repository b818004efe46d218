"""The process-wide objects of the notifications service, built once from the environment:
its settings, the channel adapters, the client that claims one-time codes from verification,
and the dispatcher that uses them. Tests point the adapters (``CHANNELS.replace``) and the
claim client (``CODE_CLAIMS.use``) at sandboxes and in-process apps."""

from __future__ import annotations

from functools import lru_cache

from runtime.auth import TokenVerifier
from runtime.settings import ServiceSettings
from services.notifications.application.messages import Dispatcher
from services.notifications.adapters.code_claims import VerificationCodeClaims
from services.notifications.adapters.configured import channels_from
from services.notifications.config import NotificationSettings

SETTINGS = NotificationSettings()
CHANNELS = channels_from(SETTINGS)


@lru_cache(maxsize=1)
def _platform() -> ServiceSettings:
    return ServiceSettings()


def _verification_url() -> str:
    if SETTINGS.verification_url:
        return SETTINGS.verification_url
    return _platform().peer_urls().get("verification", "http://127.0.0.1:8003")


def _service_token() -> str:
    """A short-lived token naming this service as the claimant (role ``service``)."""
    platform = _platform()
    verifier = TokenVerifier(
        platform.jwt_secret.get_secret_value(), platform.jwt_issuer, platform.jwt_audience
    )
    return verifier.issue(SETTINGS.code_claimant, ["service"], ttl_seconds=60)


CODE_CLAIMS = VerificationCodeClaims(
    _verification_url(), _service_token, timeout=SETTINGS.provider_timeout_seconds
)
DISPATCHER = Dispatcher(SETTINGS, CHANNELS, code_claims=CODE_CLAIMS)
