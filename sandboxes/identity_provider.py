"""A LOCAL SANDBOX identity provider: its own HTTP process, speaking the Frontdesk
identity-provider protocol (services/verification/adapters/identity_provider.py).

It is not a provider and verifies nothing: the "person" completes a session by saying which
checks pass (``POST /v1/sessions/{id}/complete`` or the buttons of the session page), and the
sandbox sends the signed webhook exactly as a real provider would. It never receives or keeps a
document or a face: there are none.

    python -m sandboxes.identity_provider --port 8093

Settings (flags or environment): ``--api-key`` / ``SANDBOX_IDP_API_KEY``, ``--webhook-secret``
/ ``SANDBOX_IDP_WEBHOOK_SECRET`` (both default to the verification service's development
secret), ``--host`` / ``SANDBOX_IDP_HOST``, ``--port`` / ``SANDBOX_IDP_PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import httpx
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from services.verification.adapters.identity_provider import signed_headers
from services.verification.config import DEV_SECRET

Outcome = Literal["pass", "fail"]


class CreateSession(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=200)
    callback_url: str = Field(min_length=8, max_length=2000)
    language: str = Field(default="en", max_length=35)


class Completion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: Outcome = "pass"
    liveness: Outcome = "pass"
    face_match: Outcome = "pass"


@dataclass
class SandboxSession:
    id: str
    reference: str
    callback_url: str
    language: str
    expires_at: datetime
    status: str = "created"
    deliveries: list[tuple[str, bytes]] = field(default_factory=list)


def create_app(api_key: str, webhook_secret: str) -> FastAPI:
    app = FastAPI(title="Frontdesk sandbox identity provider (local, not a real provider)")
    sessions: dict[str, SandboxSession] = {}
    secret = webhook_secret.encode()

    def session_or_404(session_id: str) -> SandboxSession:
        session = sessions.get(session_id)
        if session is None:
            raise HTTPException(404, "no such session")
        return session

    async def deliver(session: SandboxSession, delivery_id: str, body: bytes) -> int | None:
        status: int | None = None
        async with httpx.AsyncClient(timeout=10.0) as client:
            for attempt in range(3):
                headers = signed_headers(secret, delivery_id, body, int(time.time()))
                try:
                    response = await client.post(
                        session.callback_url, content=body, headers=headers
                    )
                    status = response.status_code
                    if status < 500:
                        return status
                except httpx.HTTPError:
                    status = None
                await asyncio.sleep(0.2 * 2**attempt)
        return status

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/sessions", status_code=201)
    async def create_session(
        body: CreateSession, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, str]:
        if authorization != f"Bearer {api_key}":
            raise HTTPException(401, "bad api key")
        session_id = f"sbx_{uuid.uuid4().hex}"
        session = SandboxSession(
            id=session_id,
            reference=body.reference,
            callback_url=body.callback_url,
            language=body.language,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
        sessions[session_id] = session
        return {
            "id": session_id,
            "url": f"/v1/sessions/{session_id}/page",
            "expires_at": session.expires_at.isoformat(),
        }

    @app.get("/v1/sessions/{session_id}")
    async def get_session(session_id: str) -> dict[str, object]:
        session = session_or_404(session_id)
        return {"id": session.id, "reference": session.reference, "status": session.status}

    @app.post("/v1/sessions/{session_id}/complete")
    async def complete(session_id: str, body: Completion) -> dict[str, object]:
        """The person finished at the provider; the signed outcome goes to the callback."""
        session = session_or_404(session_id)
        if session.status != "created":
            raise HTTPException(409, f"session already {session.status}")
        checks = body.model_dump()
        approved = all(outcome == "pass" for outcome in checks.values())
        session.status = "approved" if approved else "declined"
        delivery_id = str(uuid.uuid4())
        payload = {
            "delivery_id": delivery_id,
            "session_id": session.id,
            "reference": session.reference,
            "status": session.status,
            "checks": checks,
            "reasons": []
            if approved
            else [f"{name} failed" for name, o in checks.items() if o == "fail"],
            "completed_at": datetime.now(UTC).isoformat(),
        }
        raw = json.dumps(payload).encode()
        session.deliveries.append((delivery_id, raw))
        status = await deliver(session, delivery_id, raw)
        return {"delivery_id": delivery_id, "delivered": status == 200, "status_code": status}

    @app.post("/v1/sessions/{session_id}/redeliver")
    async def redeliver(session_id: str) -> dict[str, object]:
        """Send the last webhook again, as a provider does when it missed our answer."""
        session = session_or_404(session_id)
        if not session.deliveries:
            raise HTTPException(409, "nothing delivered yet")
        delivery_id, raw = session.deliveries[-1]
        status = await deliver(session, delivery_id, raw)
        return {"delivery_id": delivery_id, "status_code": status}

    @app.get("/v1/sessions/{session_id}/page", response_class=HTMLResponse)
    async def page(session_id: str) -> HTMLResponse:
        session = session_or_404(session_id)
        action = f"/v1/sessions/{html.escape(session.id)}/complete"
        return HTMLResponse(
            "<!doctype html><title>Sandbox identity check</title>"
            "<h1>Sandbox identity check (no real verification)</h1>"
            f"<p>Session {html.escape(session.id)}: {html.escape(session.status)}</p>"
            f"<button onclick=\"fetch('{action}',{{method:'POST',headers:{{'Content-Type':"
            "'application/json'}},body:'{}'}})\">Pass every check</button> "
            f"<button onclick=\"fetch('{action}',{{method:'POST',headers:{{'Content-Type':"
            "'application/json'}},body:JSON.stringify({face_match:'fail'})})\">"
            "Face does not match</button>"
        )

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("SANDBOX_IDP_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_IDP_PORT", "8093")))
    parser.add_argument("--api-key", default=os.environ.get("SANDBOX_IDP_API_KEY", DEV_SECRET))
    parser.add_argument(
        "--webhook-secret", default=os.environ.get("SANDBOX_IDP_WEBHOOK_SECRET", DEV_SECRET)
    )
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.api_key, args.webhook_secret),
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
