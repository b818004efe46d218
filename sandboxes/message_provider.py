"""A local sandbox of an HTTP message provider (SMS, WeChat or QQ), run as its own process:

    python -m sandboxes.message_provider --channel sms --port 9101

It serves the provider interface of ``services/notifications/adapters/http_provider.py``,
honours ``Idempotency-Key`` (the same key never records a second message), and records what it
received, queryable over HTTP. It sends nothing to anyone. Test and development controls:

- ``GET /sandbox/messages[?reference=<notification id>]``: what was received (with how many
  requests each idempotency key got);
- ``POST /sandbox/faults {"fail_next": 2, "status": 503}``: answer the next requests with that
  status (transient or permanent failures);
- ``POST /sandbox/messages/{message_id}/receipt {"status": "delivered"|"failed"}``: make the
  delivery receipt, signed like a provider's, post it to the message's ``receipt_url`` if it
  has one, and return it (``{"body": ..., "signature": ...}``);
- ``POST /sandbox/inbound {"from": "+86…", "text": "TD"}``: a person's reply to one of our
  messages, as a provider reports it: the inbound document (``message_id``, ``channel``,
  ``from``, ``text``, ``received_at``), signed like a receipt, posted to ``inbound_url`` (given
  in the request, else ``--inbound-url``) if there is one, and returned
  (``{"body": ..., "signature": ..., "posted": ...}``);
- ``DELETE /sandbox/messages``: forget everything.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

SIGNATURE_HEADER = "X-Frontdesk-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str
    to: str = Field(min_length=1, max_length=200)
    subject: str = Field(default="", max_length=500)
    body: str = Field(min_length=1, max_length=5000)
    reference: str = Field(min_length=1, max_length=100)
    receipt_url: str | None = None


class FaultRequest(BaseModel):
    fail_next: int = Field(ge=0, le=100)
    status: int = Field(default=503, ge=400, le=599)


class InboundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sender: str = Field(alias="from", min_length=1, max_length=200)
    text: str = Field(max_length=2000)
    inbound_url: str | None = None


class ReceiptRequest(BaseModel):
    status: str = Field(pattern="^(delivered|failed)$")
    reason: str | None = None


@dataclass
class Received:
    message_id: str
    channel: str
    to: str
    subject: str
    body: str
    reference: str
    idempotency_key: str
    fingerprint: str
    receipt_url: str | None
    requests: int = 1


def create_sandbox(
    channel: str, api_key: str, webhook_secret: str, inbound_url: str | None = None
) -> FastAPI:
    app = FastAPI(title=f"Frontdesk sandbox provider ({channel})")
    by_key: dict[str, Received] = {}
    faults = {"fail_next": 0, "status": 503}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "channel": channel}

    @app.post("/v1/messages")
    async def send(
        request: SendRequest,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> JSONResponse:
        if authorization != f"Bearer {api_key}":
            raise HTTPException(401, "bad api key")
        if not idempotency_key:
            raise HTTPException(400, "Idempotency-Key is required")
        if faults["fail_next"] > 0:
            faults["fail_next"] -= 1
            return JSONResponse({"error": "injected fault"}, status_code=faults["status"])
        if request.channel != channel:
            raise HTTPException(400, f"this provider serves {channel}")
        fingerprint = hashlib.sha256(
            json.dumps([request.to, request.subject, request.body]).encode()
        ).hexdigest()
        known = by_key.get(idempotency_key)
        if known is not None:
            if known.fingerprint != fingerprint:
                raise HTTPException(409, "Idempotency-Key reused for another message")
            known.requests += 1
            return JSONResponse(
                {"message_id": known.message_id, "status": "accepted"},
                headers={"Idempotent-Replay": "true"},
            )
        received = Received(
            message_id=f"{channel}-{uuid.uuid4().hex[:16]}",
            channel=channel,
            to=request.to,
            subject=request.subject,
            body=request.body,
            reference=request.reference,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            receipt_url=request.receipt_url,
        )
        by_key[idempotency_key] = received
        return JSONResponse({"message_id": received.message_id, "status": "accepted"}, 202)

    @app.get("/sandbox/messages")
    async def messages(reference: str | None = None) -> list[dict[str, Any]]:
        return [asdict(m) for m in by_key.values() if reference is None or m.reference == reference]

    @app.delete("/sandbox/messages")
    async def clear() -> dict[str, int]:
        count = len(by_key)
        by_key.clear()
        return {"deleted": count}

    @app.post("/sandbox/faults")
    async def inject(request: FaultRequest) -> dict[str, int]:
        faults.update(fail_next=request.fail_next, status=request.status)
        return faults

    @app.post("/sandbox/messages/{message_id}/receipt")
    async def receipt(message_id: str, request: ReceiptRequest, raw: Request) -> dict[str, Any]:
        found = next((m for m in by_key.values() if m.message_id == message_id), None)
        if found is None:
            raise HTTPException(404, "no such message")
        body = json.dumps(
            {"message_id": message_id, "status": request.status, "reason": request.reason}
        ).encode()
        signature = sign(webhook_secret, body)
        posted = None
        if found.receipt_url:
            async with httpx.AsyncClient(timeout=5.0) as client:
                answer = await client.post(
                    found.receipt_url,
                    content=body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
                )
                posted = answer.status_code
        return {"body": body.decode(), "signature": signature, "posted": posted}

    @app.post("/sandbox/inbound")
    async def inbound(request: InboundRequest) -> dict[str, Any]:
        body = json.dumps(
            {
                "message_id": f"{channel}-in-{uuid.uuid4().hex[:16]}",
                "channel": channel,
                "from": request.sender,
                "text": request.text,
                "received_at": datetime.now(UTC).isoformat(),
            },
            ensure_ascii=False,
        ).encode()
        signature = sign(webhook_secret, body)
        posted = None
        target = request.inbound_url or inbound_url
        if target:
            async with httpx.AsyncClient(timeout=5.0) as client:
                answer = await client.post(
                    target,
                    content=body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
                )
                posted = answer.status_code
        return {"body": body.decode(), "signature": signature, "posted": posted}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channel", choices=["sms", "wechat", "qq"], required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", default="sandbox-key")
    parser.add_argument("--webhook-secret", default="dev-webhook-secret")
    parser.add_argument(
        "--inbound-url", default=None, help="where to post simulated replies (/sandbox/inbound)"
    )
    args = parser.parse_args()
    app = create_sandbox(args.channel, args.api_key, args.webhook_secret, args.inbound_url)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
