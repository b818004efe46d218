"""Crypto-shredding of personal data in events.

Before an event leaves its service (when it is appended to the event store, which is what
the relay publishes) every field its contract marks as personal data is encrypted with the
data subject's key: ``pd1:`` + base64url(nonce | AES-256-GCM ciphertext and tag), with the
event id and the field path as associated data, so a value cannot be moved to another field or
event. The envelope's ``personal_data`` says whose key, which version and which fields.

A reader with access to the key store gets the values back; a reader without sees the
``pd1:`` strings and still works (routing, counting and tracing need no personal data). Once
the subject's key is erased, the values read as None — in every replay, forever.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from pydantic import BaseModel
from pydantic_core import from_json

from contracts import Envelope, EventPayload, PersonalDataRef, personal_fields
from runtime.keystore import NONCE_BYTES, KeyStore, SubjectKey
from runtime.telemetry import log_fields

log = logging.getLogger(__name__)
TOKEN_PREFIX = "pd1:"  # noqa: S105 - a format marker, not a secret


def _aad(event_id: UUID, path: str) -> bytes:
    return f"frontdesk-field|{event_id}|{path}".encode()


def encrypt_value(key: SubjectKey, event_id: UUID, path: str, value: Any) -> str:
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(value, ensure_ascii=False).encode()
    sealed = key.cipher.encrypt(nonce, plaintext, _aad(event_id, path))
    return TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def decrypt_value(key: SubjectKey, event_id: UUID, path: str, token: str) -> Any:
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError(f"{path} is not an encrypted value")
    raw = token.removeprefix(TOKEN_PREFIX)
    blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    return from_json(key.cipher.decrypt(nonce, sealed, _aad(event_id, path)))


def _get(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[last] = value


@functools.cache
def _personal_paths(model: type[BaseModel]) -> tuple[str, ...]:
    """The personal fields of a payload class, found once (a class's fields do not change)."""
    return tuple(personal_fields(model))


def _copied_along(data: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """A copy of ``data`` that ``_set`` may change at ``paths`` without changing ``data``: the
    dicts on those paths are copied, everything else is shared (the envelope's payload stays
    as it was received)."""
    copied = dict(data)
    for path in paths:
        node = copied
        for part in path.split(".")[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                break
            node[part] = node = dict(child)
    return copied


def withheld(envelope: Envelope) -> dict[str, Any]:
    """The payload with its sealed personal values left out (None), as an erasure leaves them:
    what a reader that uses no personal value is given, with no key asked for and nothing
    decrypted (``ConsumerGroup.reads_personal_data``)."""
    ref = envelope.personal_data
    if ref is None:
        return envelope.payload
    data = _copied_along(envelope.payload, ref.fields)
    for path in ref.fields:
        if isinstance(_get(data, path), str):
            _set(data, path, None)
    return data


class Privacy:
    """Seals and reveals the personal fields of events for one service."""

    def __init__(self, keystore: KeyStore | None) -> None:
        self.keystore = keystore

    async def seal(
        self, event_id: UUID, payload: EventPayload
    ) -> tuple[dict[str, Any], PersonalDataRef | None]:
        """The payload as it may leave the service: personal values encrypted."""
        data = payload.model_dump(mode="json")
        present = [p for p in _personal_paths(type(payload)) if _get(data, p) is not None]
        if not present:
            return data, None
        subject_id = type(payload).data_subject_of(data)
        if subject_id is None:
            raise ValueError(f"{payload.event_type} carries personal data of no subject")
        if self.keystore is None:
            raise RuntimeError("events with personal data need the key store")
        key = await self.keystore.current_key(subject_id)
        for path in present:
            _set(data, path, encrypt_value(key, event_id, path, _get(data, path)))
        return data, PersonalDataRef(subject_id=subject_id, key_version=key.version, fields=present)

    async def prepare(self, subject_id: str | None, part: BaseModel) -> None:
        """Have the subject's current key at hand before sealing ``part`` of an event, when it
        carries personal values (a key is made for a subject only then): a command calls it
        before it takes a lock that its concurrent peers wait on, so the key store's round
        trip is not made while they wait (the key store keeps the key for a while)."""
        if subject_id is None or self.keystore is None:
            return
        data = part.model_dump(mode="json")
        if any(_get(data, path) is not None for path in _personal_paths(type(part))):
            await self.keystore.current_key(subject_id)

    async def load_keys(self, envelopes: Iterable[Envelope]) -> None:
        """The keys the sealed values of ``envelopes`` need, in one round trip to the key
        store (a batch's records, before they are revealed one by one at their turn)."""
        if self.keystore is None:
            return
        wanted = {
            (ref.subject_id, ref.key_version)
            for ref in (envelope.personal_data for envelope in envelopes)
            if ref is not None
        }
        if wanted:
            await self.keystore.load(wanted)

    async def reveal(self, envelope: Envelope) -> dict[str, Any]:
        """The payload with personal values decrypted; None for an erased subject's; the
        encrypted strings as they are when this reader has no key store."""
        ref = envelope.personal_data
        if ref is None or self.keystore is None:
            return envelope.payload
        key = await self.keystore.key(ref.subject_id, ref.key_version)
        if key is None:
            return withheld(envelope)  # erased: forgotten for good
        data = _copied_along(envelope.payload, ref.fields)
        for path in ref.fields:
            token = _get(data, path)
            if not isinstance(token, str):
                continue
            try:
                _set(data, path, decrypt_value(key, envelope.event_id, path, token))
            except (InvalidTag, ValueError):
                log.warning(
                    "personal value cannot be decrypted",
                    extra=log_fields(event_id=str(envelope.event_id), field=path),
                )
                _set(data, path, None)
        return data

    def forget(self, subject_id: str) -> None:
        if self.keystore is not None:
            self.keystore.forget(subject_id)
