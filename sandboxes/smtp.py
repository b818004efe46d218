"""A local sandbox SMTP server (aiosmtpd) that records what it receives instead of
delivering it. It honours the deterministic ``Message-ID`` the email adapter sets: a message
whose Message-ID it already holds is accepted (250) and not recorded again.

In-process (tests): ``SandboxMailbox`` with ``aiosmtpd.controller.Controller``. As its own
process, with an HTTP view of the mailbox::

    python -m sandboxes.smtp --port 2525 --http-port 9125

``GET /sandbox/mails`` lists what was received, ``DELETE /sandbox/mails`` forgets it.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import asdict, dataclass
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Mail:
    message_id: str
    mail_from: str
    rcpt_to: list[str]
    subject: str
    body: str
    idempotency_key: str | None
    receptions: int = 1
    list_unsubscribe: str | None = None  # RFC 8058 headers, as received
    list_unsubscribe_post: str | None = None


def _header(value: object) -> str | None:
    return None if value is None else str(value)


class SandboxMailbox:
    """The aiosmtpd handler: records each mail once per Message-ID."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mails: dict[str, Mail] = {}

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        message_id = str(parsed.get("Message-ID", "")).strip()
        if not message_id:
            return "550 a Message-ID is required by this sandbox"
        body_part = parsed.get_body(preferencelist=("plain",))
        body = body_part.get_content() if body_part is not None else ""
        with self._lock:
            known = self.mails.get(message_id)
            if known is not None:
                known.receptions += 1
                return "250 OK (duplicate Message-ID, not delivered again)"
            self.mails[message_id] = Mail(
                message_id=message_id,
                mail_from=str(envelope.mail_from),
                rcpt_to=[str(r) for r in envelope.rcpt_tos],
                subject=str(parsed.get("Subject", "")),
                body=body.strip(),
                idempotency_key=parsed.get("X-Idempotency-Key"),
                list_unsubscribe=_header(parsed.get("List-Unsubscribe")),
                list_unsubscribe_post=_header(parsed.get("List-Unsubscribe-Post")),
            )
        return "250 OK"

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(mail) for mail in self.mails.values()]

    def clear(self) -> int:
        with self._lock:
            count = len(self.mails)
            self.mails.clear()
            return count


def main() -> None:
    import uvicorn
    from aiosmtpd.controller import Controller
    from fastapi import FastAPI

    parser = argparse.ArgumentParser(description="Frontdesk sandbox SMTP server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    args = parser.parse_args()
    mailbox = SandboxMailbox()
    controller = Controller(mailbox, hostname=args.host, port=args.port)
    controller.start()
    app = FastAPI(title="Frontdesk sandbox SMTP mailbox")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/sandbox/mails")
    async def mails() -> list[dict[str, Any]]:
        return mailbox.list()

    @app.delete("/sandbox/mails")
    async def clear() -> dict[str, int]:
        return {"deleted": mailbox.clear()}

    try:
        uvicorn.run(app, host=args.host, port=args.http_port, log_level="warning")
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
