"""Encryption of held media (evidence, documents): AES-256-GCM with the media id as associated
data, so sealed bytes cannot be moved to another record. The key is
``FRONTDESK_VERIFICATION_MEDIA_KEY`` (a KMS data key in production); the bytes are deleted at the
end of their retention (the ``media-purge`` timer)."""

from __future__ import annotations

import hashlib
import os
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class MediaVault:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, media_id: UUID, data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, f"media|{media_id}".encode())

    def open(self, media_id: UUID, sealed: bytes) -> bytes:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, f"media|{media_id}".encode())

    @staticmethod
    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def __repr__(self) -> str:
        return "MediaVault(<key hidden>)"
