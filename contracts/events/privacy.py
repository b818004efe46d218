"""Events about a person's data as a whole, published by the cases service (which owns the
account timeline) on ``frontdesk.cases.data_subjects``, keyed by ``data_subject-<subject id>``.

A data subject id names a person the way events declare it, e.g. ``account:acct-42``.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload
from contracts.registry import REGISTRY
from contracts.topics import CASES_DATA_SUBJECTS

SUBJECT_ID = r"^[a-z_]+:[^\s]{1,200}$"


@REGISTRY.event("cases.legal_hold_placed", version=1, topic=CASES_DATA_SUBJECTS)
class LegalHoldPlaced(EventPayload):
    """A legal hold on a person's data: while it is open, erasure is refused with its reason."""

    subject_id: str = Field(pattern=SUBJECT_ID)
    hold_id: UUID
    reason: str = Field(min_length=3, max_length=500)
    case_id: UUID | None = None
    placed_at: AwareDatetime


@REGISTRY.event("cases.legal_hold_released", version=1, topic=CASES_DATA_SUBJECTS)
class LegalHoldReleased(EventPayload):
    """A legal hold was lifted."""

    subject_id: str = Field(pattern=SUBJECT_ID)
    hold_id: UUID
    released_at: AwareDatetime


@REGISTRY.event("cases.data_subject_erased", version=1, topic=CASES_DATA_SUBJECTS)
class DataSubjectErased(EventPayload):
    """A person's data was ordered erased. Every service destroys the subject's key (the first
    to hear it does; the others find it gone), drops it from its caches and removes or redacts
    the person's data in its read models. Events already in the log stay, unreadable."""

    subject_id: str = Field(pattern=SUBJECT_ID)
    reason: str = Field(min_length=3, max_length=500)
    erased_at: AwareDatetime
