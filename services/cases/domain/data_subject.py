"""The data-subject aggregate: legal holds and erasure of one person's data, and who may have
a copy of it. Pure, no I/O.

Cases owns it because cases owns the account timeline; every service acts on its events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.privacy import DataSubjectErased, LegalHoldPlaced, LegalHoldReleased
from runtime.aggregate import AggregateType, Snapshots
from runtime.errors import NotFound, RuleViolation
from services.cases.domain.visibility import Caller


@dataclass(frozen=True)
class Hold:
    reason: str | None  # None once the person's key is destroyed
    case_id: UUID | None


@dataclass(frozen=True)
class DataSubject:
    subject_id: str | None = None
    holds: dict[UUID, Hold] = field(default_factory=dict)
    erasures: int = 0
    last_erased_at: datetime | None = None


@dataclass(frozen=True)
class PlaceLegalHold:
    subject_id: str
    hold_id: UUID
    reason: str
    case_id: UUID | None
    at: datetime


@dataclass(frozen=True)
class ReleaseLegalHold:
    subject_id: str
    hold_id: UUID
    at: datetime


@dataclass(frozen=True)
class EraseSubject:
    subject_id: str
    reason: str
    at: datetime


def decide(
    subject: DataSubject, command: PlaceLegalHold | ReleaseLegalHold | EraseSubject
) -> list[EventPayload]:
    match command:
        case PlaceLegalHold():
            if command.hold_id in subject.holds:
                raise RuleViolation("this legal hold is already placed")
            return [
                LegalHoldPlaced(
                    subject_id=command.subject_id,
                    hold_id=command.hold_id,
                    reason=command.reason,
                    case_id=command.case_id,
                    placed_at=command.at,
                )
            ]
        case ReleaseLegalHold():
            if command.hold_id not in subject.holds:
                raise NotFound(f"no open legal hold {command.hold_id}")
            return [
                LegalHoldReleased(
                    subject_id=command.subject_id,
                    hold_id=command.hold_id,
                    released_at=command.at,
                )
            ]
        case EraseSubject():
            if subject.holds:
                hold_id, hold = next(iter(subject.holds.items()))
                raise RuleViolation(
                    f"erasure blocked by legal hold {hold_id}: {hold.reason or 'reason erased'}"
                )
            return [
                DataSubjectErased(
                    subject_id=command.subject_id, reason=command.reason, erased_at=command.at
                )
            ]
    raise TypeError(f"unknown command {command!r}")


def evolve(subject: DataSubject, event: EventPayload) -> DataSubject:
    match event:
        case LegalHoldPlaced():
            holds = {**subject.holds, event.hold_id: Hold(event.reason, event.case_id)}
            return replace(subject, subject_id=event.subject_id, holds=holds)
        case LegalHoldReleased():
            holds = {k: v for k, v in subject.holds.items() if k != event.hold_id}
            return replace(subject, holds=holds)
        case DataSubjectErased():
            return replace(
                subject,
                subject_id=event.subject_id,
                erasures=subject.erasures + 1,
                last_erased_at=event.erased_at,
            )
    return subject


DATA_SUBJECT = AggregateType[DataSubject]("data_subject", DataSubject, evolve, Snapshots(version=1))


def data_subject_stream(subject_id: str) -> str:
    return f"data_subject-{subject_id}"


# -- a person's own copy of their data -----------------------------------------------------


def check_self_export(
    session: Mapping[str, Any] | None, principal: Caller, now: datetime, window: timedelta
) -> str:
    """The subject whose copy the caller may have, or why not. Only the account holder who
    passed the verification themselves, recently: a proxy or a guardian proves their own
    identity, never the holder's, and gets no copy of the holder's data."""
    if session is None or session.get("person_ref") != principal.id:
        raise NotFound("no such verification of yours")
    if session["status"] != "verified":
        raise RuleViolation(f"this verification has not passed (it is {session['status']})")
    if session["person_role"] != "holder":
        raise RuleViolation(
            f"this verification proved a {session['person_role']}'s identity: only the "
            "account holder may have a copy of the account's data"
        )
    completed_at = datetime.fromisoformat(session["completed_at"])
    if completed_at < now - window:
        minutes = int(window.total_seconds() // 60)
        raise RuleViolation(
            f"the verification passed more than {minutes} minutes ago: verify again to get "
            "a copy of your data"
        )
    return f"account:{session['account_ref']}"
