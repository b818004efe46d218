"""The verification service as cases asks it about one session (HTTP, a short-lived service
token): who took it, for which account, whose identity it proved, how and when it ended."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from runtime.errors import Unavailable
from runtime.settings import ServiceSettings


class VerificationSessions:
    """Reads sessions from the verification service named in ``FRONTDESK_PEERS`` (looked up at
    each call: the peers may move while the service runs)."""

    def __init__(self, settings: ServiceSettings, timeout: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout

    async def session(self, verification_id: UUID, token: str) -> dict[str, Any] | None:
        """The session as the verification service knows it; None if it knows no such one."""
        base_url = self._settings.peer_urls()["verification"].rstrip("/")
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(
                    f"{base_url}/verification/sessions/{verification_id}",
                    headers={"Authorization": f"Bearer {token}"},
                )
            if response.status_code == 404:
                return None
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise Unavailable(
                f"the verification service could not be asked ({type(error).__name__})"
            ) from None
        return response.json()  # type: ignore[no-any-return]
