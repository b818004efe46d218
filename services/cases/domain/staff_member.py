"""The staff member aggregate: the specialist queues a member of staff works, and whether
they take cases. Long-lived (every change of skills): it keeps snapshots. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.base import EventPayload
from contracts.events.cases_accounts import StaffSkillsSet
from contracts.vocabulary import ServiceQueue
from runtime.aggregate import AggregateType, Snapshots


@dataclass(frozen=True)
class StaffMember:
    staff_id: str | None = None
    queues: tuple[ServiceQueue, ...] = ()
    active: bool = False


@dataclass(frozen=True)
class SetSkills:
    staff_id: str
    queues: tuple[ServiceQueue, ...]
    active: bool
    at: datetime


def decide(member: StaffMember, command: SetSkills) -> list[EventPayload]:
    queues = tuple(sorted(set(command.queues)))
    if member.staff_id is not None and (queues, command.active) == (member.queues, member.active):
        return []
    return [
        StaffSkillsSet(
            staff_id=command.staff_id, queues=list(queues), active=command.active, set_at=command.at
        )
    ]


def evolve(member: StaffMember, event: EventPayload) -> StaffMember:
    if isinstance(event, StaffSkillsSet):
        return StaffMember(event.staff_id, tuple(event.queues), event.active)
    return member


STAFF_MEMBER = AggregateType[StaffMember]("staff_member", StaffMember, evolve, Snapshots(version=1))


def staff_stream(staff_id: str) -> str:
    return f"staff_member-{staff_id}"
