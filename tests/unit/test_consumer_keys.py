"""A batch's sealed records get their keys in one call to the key store, before each is
revealed at its turn (``ConsumerRunner._load_keys``); a key store that fails there only
delays the keys to each record's turn. A replay reveals its sealed records ahead of their
transaction with the batch's keys (``ConsumerRunner._collect``), and stops collecting at one
it cannot read. A group that reads no personal data gets it withheld: no key asked for, nothing
revealed. The key store's own query: test_repository.py."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import Envelope
from contracts.envelope import PersonalDataRef
from contracts.events.checkin import TicketLeft
from contracts.topics import CHECKIN_TICKETS
from runtime.consumer import ConsumerGroup, ConsumerRunner, DeadLetter, Record
from runtime.privacy import Privacy

pytestmark = pytest.mark.unit


class KeysAsked(Privacy):
    def __init__(self, failing: BaseException | None = None) -> None:
        super().__init__(None)
        self.asked: list[set[tuple[str, int]]] = []
        self.failing = failing

    async def load_keys(self, envelopes: Iterable[Envelope]) -> None:
        if self.failing is not None:
            raise self.failing
        self.asked.append(
            {
                (e.personal_data.subject_id, e.personal_data.key_version)
                for e in envelopes
                if e.personal_data
            }
        )


async def _no_dead_letters(letter: DeadLetter) -> None:
    raise AssertionError(letter)


def record(offset: int, account: str | None) -> Record:
    """A ticket left; sealed under ``account``'s key when one is given."""
    left = TicketLeft(
        ticket_id=uuid.uuid4(),
        reason="pd1:sealed" if account else None,
        left_at=datetime.now(UTC),
        account_ref=account,
    )
    envelope = Envelope(
        event_id=uuid.uuid4(),
        event_type=TicketLeft.event_type,
        schema_version=TicketLeft.schema_version,
        occurred_at=datetime.now(UTC),
        stream_type="ticket",
        stream_id=f"ticket-{offset}",
        stream_version=1,
        correlation_id=uuid.uuid4(),
        producer="checkin",
        personal_data=(
            PersonalDataRef(subject_id=f"account:{account}", key_version=1, fields=["reason"])
            if account
            else None
        ),
        payload=left.model_dump(mode="json"),
    )
    return Record(envelope.to_bytes(), b"k", "t", 0, offset)


def runner(privacy: Privacy) -> ConsumerRunner:
    async def handler(conn: Any, event: Any) -> None:
        return None

    group = ConsumerGroup("tests.keys", [CHECKIN_TICKETS], {TicketLeft: handler})
    return ConsumerRunner(None, group, _no_dead_letters, privacy=privacy)  # type: ignore[arg-type]


async def test_a_batchs_sealed_records_ask_for_their_keys_once() -> None:
    privacy = KeysAsked()
    consumer = runner(privacy)
    batch = [record(0, "a"), record(1, None), record(2, "b"), record(3, "a")]
    await consumer._load_keys(await consumer._plan(batch))
    assert privacy.asked == [{("account:a", 1), ("account:b", 1)}]
    await consumer._load_keys(await consumer._plan([record(4, None)]))
    assert len(privacy.asked) == 1  # nothing sealed: nothing asked


async def test_a_key_store_failing_there_leaves_the_keys_to_each_records_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    consumer = runner(KeysAsked(failing=ConnectionRefusedError("key store down")))
    with caplog.at_level(logging.WARNING, logger="runtime.consumer"):
        await consumer._load_keys(await consumer._plan([record(0, "a")]))  # not raised
    assert [r.getMessage() for r in caplog.records] == ["keys not loaded ahead"]


class Revealing(KeysAsked):
    """Reveals as a reader without a key store would (the sealed text as it is), but for the
    records of ``unreadable`` (their reason comes back as a number) and of ``down`` (the key
    store refuses the connection)."""

    def __init__(
        self,
        unreadable: frozenset[uuid.UUID] = frozenset(),
        down: frozenset[uuid.UUID] = frozenset(),
    ) -> None:
        super().__init__()
        self.unreadable, self.down = unreadable, down
        self.revealed: list[uuid.UUID] = []

    async def reveal(self, envelope: Envelope) -> dict[str, Any]:
        self.revealed.append(envelope.event_id)
        if envelope.event_id in self.unreadable:
            return {**envelope.payload, "reason": 42}
        if envelope.event_id in self.down:
            raise ConnectionRefusedError("key store down")
        return await super().reveal(envelope)


def replaying(privacy: Privacy) -> tuple[ConsumerRunner, list[uuid.UUID]]:
    handled: list[uuid.UUID] = []

    async def handler(conn: Any, event: Any) -> None:
        handled.append(event.envelope.event_id)

    group = ConsumerGroup("tests.keys", [CHECKIN_TICKETS], {TicketLeft: handler})
    consumer = ConsumerRunner(None, group, _no_dead_letters, privacy=privacy)  # type: ignore[arg-type]
    return consumer, handled


async def test_a_replay_reveals_its_sealed_records_ahead_with_the_batchs_keys() -> None:
    privacy = Revealing()
    consumer, handled = replaying(privacy)
    batch = [record(0, "a"), record(1, None), record(2, "b")]
    plan = await consumer._plan(batch, aside=True)
    [collected] = await consumer._collect(plan, None)  # type: ignore[arg-type]
    assert collected is not None
    assert collected.done == 3
    ids = [Envelope.from_bytes(r.value).event_id for r in batch]  # type: ignore[arg-type]
    assert handled == ids
    assert privacy.asked == [{("account:a", 1), ("account:b", 1)}]  # before any reveal
    assert privacy.revealed == [ids[0], ids[2]]


async def test_a_replay_stops_collecting_at_a_sealed_record_it_cannot_read() -> None:
    """Its payload fails at its turn, in its place (dead-lettered there as poison): nothing
    from it on is handled ahead."""
    batch = [record(0, "a"), record(1, "a"), record(2, None)]
    ids = [Envelope.from_bytes(r.value).event_id for r in batch]  # type: ignore[arg-type]
    consumer, handled = replaying(Revealing(unreadable=frozenset({ids[1]})))
    [collected] = await consumer._collect(await consumer._plan(batch, aside=True), None)  # type: ignore[arg-type]
    assert collected is not None
    assert collected.done == 1
    assert handled == ids[:1]


async def test_a_key_store_failing_while_collecting_leaves_the_record_to_its_turn() -> None:
    batch = [record(0, "a"), record(1, "b")]
    ids = [Envelope.from_bytes(r.value).event_id for r in batch]  # type: ignore[arg-type]
    consumer, handled = replaying(Revealing(down=frozenset({ids[1]})))
    [collected] = await consumer._collect(await consumer._plan(batch, aside=True), None)  # type: ignore[arg-type]
    assert collected is not None
    assert collected.done == 1  # not raised: the second is revealed at its turn
    assert handled == ids[:1]


class Refusing(Privacy):
    """A key store this reader must never reach."""

    def __init__(self) -> None:
        super().__init__(None)

    async def load_keys(self, envelopes: Iterable[Envelope]) -> None:
        raise AssertionError("keys asked for")

    async def reveal(self, envelope: Envelope) -> dict[str, Any]:
        raise AssertionError("revealed")


def withholding() -> tuple[ConsumerRunner, list[Any]]:
    """A group whose handlers use no personal value (``reads_personal_data=False``)."""
    handled: list[Any] = []

    async def handler(conn: Any, event: Any) -> None:
        handled.append(event.payload)

    group = ConsumerGroup(
        "tests.keys", [CHECKIN_TICKETS], {TicketLeft: handler}, reads_personal_data=False
    )
    consumer = ConsumerRunner(None, group, _no_dead_letters, privacy=Refusing())  # type: ignore[arg-type]
    return consumer, handled


async def test_a_group_that_reads_no_personal_data_gets_it_withheld_and_asks_no_key() -> None:
    consumer, _ = withholding()
    batch = [record(0, "a"), record(1, None), record(2, "b")]
    plan = await consumer._plan(batch)
    await consumer._load_keys(plan)  # nothing to load: every payload decoded as it arrived
    [run] = plan.steps
    assert not isinstance(run, int)
    payloads = [pending.payload for pending in run]
    assert all(isinstance(payload, TicketLeft) for payload in payloads)
    assert [payload.reason for payload in payloads] == [None, None, None]  # type: ignore[union-attr]
    # the record as it came: its sealed value stays in the envelope, only not revealed
    assert run[0].envelope.payload["reason"] == "pd1:sealed"
    assert [payload.account_ref for payload in payloads] == ["a", None, "b"]  # type: ignore[union-attr]


async def test_its_replay_handles_every_sealed_record_ahead_without_revealing_one() -> None:
    consumer, handled = withholding()
    batch = [record(0, "a"), record(1, "b")]
    [collected] = await consumer._collect(await consumer._plan(batch, aside=True), None)  # type: ignore[arg-type]
    assert collected is not None
    assert collected.done == 2
    assert [payload.reason for payload in handled] == [None, None]
