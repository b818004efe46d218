"""Field encryption and the envelope's key references, without I/O."""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from contracts import REGISTRY, Envelope, EventPayload
from contracts.base import PersonalData
from contracts.events.checkin import Intake, TicketIssued
from contracts.registry import _personal_data_problems
from contracts.vocabulary import Channel, LanguagePreference, ProblemCategory, ServiceQueue
from runtime import keystore
from runtime.keystore import MasterKey, SubjectKey
from runtime.privacy import TOKEN_PREFIX, Privacy, decrypt_value, encrypt_value

pytestmark = pytest.mark.unit


class KeysInMemory:
    """A test double of the KeyStore interface (the real one is tested over PostgreSQL)."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, int], bytes | None] = {}

    async def current_key(self, subject_id: str) -> SubjectKey:
        versions = sorted(v for s, v in self.keys if s == subject_id)
        if versions and self.keys[(subject_id, versions[-1])] is not None:
            material = self.keys[(subject_id, versions[-1])]
            assert material is not None
            return SubjectKey(subject_id, versions[-1], material)
        version = (versions[-1] + 1) if versions else 1
        self.keys[(subject_id, version)] = os.urandom(32)
        return await self.current_key(subject_id)

    async def key(self, subject_id: str, version: int) -> SubjectKey | None:
        material = self.keys.get((subject_id, version))
        return None if material is None else SubjectKey(subject_id, version, material)

    async def load(self, wanted: Iterable[tuple[str, int]]) -> None:
        pass  # in memory already

    async def erase(self, subject_id: str) -> bool:
        erased = False
        for key in [k for k in self.keys if k[0] == subject_id]:
            erased = erased or self.keys[key] is not None
            self.keys[key] = None
        return erased

    def forget(self, subject_id: str) -> None:
        pass


def ticket(phone: str | None = "+8613800000000", words: str | None = "FAKE words") -> TicketIssued:
    return TicketIssued(
        ticket_id=uuid.uuid4(),
        site_id="s1",
        queue=ServiceQueue.ACCOUNT_SECURITY,
        number="A001",
        channel=Channel.WALK_IN,
        intake=Intake(
            problem_category=ProblemCategory.ACCOUNT_SUSPENDED,
            account_ref="acct-1",
            contact_phone=phone,
            language=LanguagePreference(tag="zh-CN"),
            description=words,
        ),
        issued_at=datetime.now(UTC),
    )


def envelope(event_id: uuid.UUID, payload: dict[str, Any], ref: Any) -> Envelope:
    return Envelope(
        event_id=event_id,
        event_type="checkin.ticket_issued",
        schema_version=2,
        occurred_at=datetime.now(UTC),
        stream_type="ticket",
        stream_id="ticket-x",
        stream_version=1,
        correlation_id=uuid.uuid4(),
        producer="checkin",
        personal_data=ref,
        payload=payload,
    )


KEY = SubjectKey("account:a", 1, os.urandom(32))


def test_a_value_round_trips_and_the_token_reveals_nothing() -> None:
    event_id = uuid.uuid4()
    token = encrypt_value(KEY, event_id, "intake.contact_phone", "+8613800000000")
    assert token.startswith(TOKEN_PREFIX)
    assert "8613800000000" not in token
    assert decrypt_value(KEY, event_id, "intake.contact_phone", token) == "+8613800000000"
    assert token != encrypt_value(KEY, event_id, "intake.contact_phone", "+8613800000000")


@pytest.mark.parametrize(
    ("event_id", "path", "key"),
    [
        pytest.param(uuid.uuid4(), "intake.contact_phone", KEY, id="moved-to-another-event"),
        pytest.param(None, "intake.description", KEY, id="moved-to-another-field"),
        pytest.param(
            None,
            "intake.contact_phone",
            SubjectKey("account:b", 1, os.urandom(32)),
            id="another-subjects-key",
        ),
    ],
)
def test_a_token_only_opens_in_its_own_event_field_and_key(
    event_id: uuid.UUID | None, path: str, key: SubjectKey
) -> None:
    original = uuid.uuid4()
    token = encrypt_value(KEY, original, "intake.contact_phone", "+8613800000000")
    with pytest.raises(InvalidTag):
        decrypt_value(key, event_id or original, path, token)


async def test_seal_encrypts_only_personal_fields_and_references_the_key() -> None:
    keys = KeysInMemory()
    privacy, payload, event_id = Privacy(keys), ticket(), uuid.uuid4()
    sealed, ref = await privacy.seal(event_id, payload)
    assert ref is not None
    assert (ref.subject_id, ref.key_version, ref.algorithm) == ("account:acct-1", 1, "AES-256-GCM")
    assert ref.fields == ["intake.contact_phone", "intake.description"]
    assert sealed["intake"]["contact_phone"].startswith(TOKEN_PREFIX)
    assert sealed["intake"]["account_ref"] == "acct-1"
    assert sealed["number"] == "A001"
    revealed = await privacy.reveal(envelope(event_id, sealed, ref))
    assert revealed == payload.model_dump(mode="json")


async def test_absent_personal_values_need_no_key() -> None:
    sealed, ref = await Privacy(None).seal(uuid.uuid4(), ticket(phone=None, words=None))
    assert ref is None
    assert sealed["intake"]["contact_phone"] is None


async def test_personal_values_without_a_key_store_are_refused() -> None:
    with pytest.raises(RuntimeError, match="key store"):
        await Privacy(None).seal(uuid.uuid4(), ticket())


async def test_after_erasure_values_read_as_none_and_a_new_key_is_a_new_version() -> None:
    keys = KeysInMemory()
    privacy, event_id = Privacy(keys), uuid.uuid4()
    sealed, ref = await privacy.seal(event_id, ticket())
    assert await keys.erase("account:acct-1")
    revealed = await privacy.reveal(envelope(event_id, sealed, ref))
    assert revealed["intake"]["contact_phone"] is None
    assert revealed["intake"]["description"] is None
    assert TicketIssued.model_validate(revealed).intake.account_ref == "acct-1"
    assert (await keys.current_key("account:acct-1")).version == 2


async def test_reveal_leaves_the_received_envelope_as_it_was() -> None:
    keys = KeysInMemory()
    privacy, event_id = Privacy(keys), uuid.uuid4()
    sealed, ref = await privacy.seal(event_id, ticket())
    received = envelope(event_id, sealed, ref)
    before = copy.deepcopy(received.payload)
    revealed = await privacy.reveal(received)
    assert revealed["intake"]["contact_phone"] == "+8613800000000"
    assert received.payload == before  # the sealed tokens, untouched


async def test_prepare_makes_a_key_only_for_personal_values() -> None:
    keys = KeysInMemory()
    privacy = Privacy(keys)
    await privacy.prepare("account:acct-1", ticket(phone=None, words=None).intake)
    assert keys.keys == {}  # nothing to seal: no key made for the subject
    await privacy.prepare("account:acct-1", ticket().intake)
    assert list(keys.keys) == [("account:acct-1", 1)]


def test_the_key_cache_drops_expired_keys_then_the_oldest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keystore, "KEYS_KEPT", 10)
    store = keystore.PostgresKeyStore(None, MasterKey(os.urandom(32)), cache_seconds=30)  # type: ignore[arg-type]
    store._remember(SubjectKey("account:old", 1, os.urandom(32)), current=True)
    store._cache = {k: (0.0, key) for k, (_, key) in store._cache.items()}  # expired
    for n in range(4):
        store._remember(SubjectKey(f"account:{n}", 1, os.urandom(32)), current=True)
    assert len(store._cache) == 10
    assert store._cached("account:3", None) is not None
    store._remember(SubjectKey("account:4", 1, os.urandom(32)), current=True)
    assert store._cached("account:old", 1) is None  # expired: dropped
    assert len(store._cache) <= 10
    for n in range(100):
        store._remember(SubjectKey(f"account:x{n}", 1, os.urandom(32)), current=True)
    assert len(store._cache) <= 10  # none expired: the oldest go
    assert store._cached("account:x99", None) is not None


def test_the_master_key_wrap_binds_subject_and_version() -> None:
    master = MasterKey(os.urandom(32))
    wrapped = master.wrap("account:a", 1, b"k" * 32)
    assert master.unwrap("account:a", 1, wrapped) == b"k" * 32
    with pytest.raises(InvalidTag):
        master.unwrap("account:b", 1, wrapped)
    with pytest.raises(InvalidTag):
        master.unwrap("account:a", 2, wrapped)
    assert KEY.material.hex() not in repr(KEY)


def test_the_registry_requires_a_subject_and_erasable_personal_fields() -> None:
    class Undeclared(EventPayload):
        phone: str | None = PersonalData("x", default=None)

    class Mandatory(EventPayload):
        data_subject = ("account", "account_ref")
        account_ref: str
        phone: str = PersonalData("x")

    assert _personal_data_problems("u", Undeclared) == [
        "u: personal fields ['phone'] but no data_subject"
    ]
    assert _personal_data_problems("m", Mandatory) == [
        "m: personal field phone must be optional (erasable)"
    ]
    assert REGISTRY.check_complete() == []
