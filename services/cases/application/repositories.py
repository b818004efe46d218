"""The cases service's aggregates in its event store, each through the runtime's one command
path (``runtime/repository.py``); the case's after-append hooks keep the open-problem index
the service-level timers and the appeal period's timer in the same transaction as its events."""

from __future__ import annotations

from runtime.eventstore import EventStore
from runtime.repository import Repository
from services.cases.application.appeal_timers import keep_appeal_timer
from services.cases.application.open_problems import keep_open_problems
from services.cases.application.service_level_timers import keep_service_level_timers
from services.cases.domain.account import ACCOUNT, Account
from services.cases.domain.case import CASE, Case
from services.cases.domain.data_subject import DATA_SUBJECT, DataSubject
from services.cases.domain.staff_member import STAFF_MEMBER, StaffMember


def cases(store: EventStore) -> Repository[Case]:
    return Repository(
        store, CASE, after_append=[keep_open_problems, keep_service_level_timers, keep_appeal_timer]
    )


def accounts(store: EventStore) -> Repository[Account]:
    return Repository(store, ACCOUNT)


def staff(store: EventStore) -> Repository[StaffMember]:
    return Repository(store, STAFF_MEMBER)


def data_subjects(store: EventStore) -> Repository[DataSubject]:
    return Repository(store, DATA_SUBJECT)
