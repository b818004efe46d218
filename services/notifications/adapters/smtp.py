"""Email over SMTP (the standard library's client, in a worker thread).

SMTP has no idempotency key. Each message carries a deterministic ``Message-ID`` built from
the idempotency key (and an ``X-Idempotency-Key`` header): the local sandbox server
(``sandboxes.smtp``) refuses to deliver a Message-ID twice, and mail
clients collapse duplicates with one Message-ID. A production relay that does not de-duplicate
can, in the one window between its "250 OK" and our commit, deliver a second copy with the
same Message-ID (documented in docs/services/notifications.md).
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from contracts.events.notifications import MessageChannel
from services.notifications.adapters.channels import OutgoingMessage, SendError, SendResult


def message_id(idempotency_key: str) -> str:
    """RFC 5322 msg-id from the key (``:`` is not allowed on its left side)."""
    return f"<{idempotency_key.replace(':', '.')}@notifications.frontdesk>"


class SmtpEmailAdapter:
    channel = MessageChannel.EMAIL
    provider = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self._password = starttls, username, password
        self.timeout = timeout

    def _build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = message_id(message.idempotency_key)
        email["X-Idempotency-Key"] = message.idempotency_key
        email["Content-Language"] = message.language
        for name, value in message.headers.items():
            email[name] = value
        email.set_content(message.body)
        return email

    def _send_blocking(self, email: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
            if self.starttls:
                client.starttls()
            if self.username and self._password:
                client.login(self.username, self._password)
            client.send_message(email)

    async def send(self, message: OutgoingMessage) -> SendResult:
        email = self._build(message)
        try:
            await asyncio.to_thread(self._send_blocking, email)
        except smtplib.SMTPRecipientsRefused:
            raise SendError("smtp: recipient refused", transient=False) from None
        except smtplib.SMTPResponseException as error:
            transient = 400 <= error.smtp_code < 500
            raise SendError(f"smtp: reply {error.smtp_code}", transient=transient) from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError):
            raise SendError("smtp: server unreachable", transient=True) from None
        except smtplib.SMTPException as error:
            raise SendError(f"smtp: {type(error).__name__}", transient=False) from None
        return SendResult(self.provider, message_id(message.idempotency_key))
