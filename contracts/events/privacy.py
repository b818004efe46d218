"""Events about a person's data as a whole, published by the cases service (which owns the
account timeline) on ``frontdesk.cases.data_subjects``, keyed by ``data_subject-<subject id>``.

A data subject id names a person the way events declare it, e.g. ``account:acct-42``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field

from contracts.base import EventPayload, PersonalData
from contracts.fields import SUBJECT_ID as SUBJECT_ID_PATTERN
from contracts.fields import FreeText500, SubjectId
from contracts.registry import REGISTRY
from contracts.topics import CASES_DATA_SUBJECTS

SUBJECT_ID = SUBJECT_ID_PATTERN  # one identifier pattern: intake, contracts, privacy


@REGISTRY.event("cases.legal_hold_placed", version=1, topic=CASES_DATA_SUBJECTS)
class LegalHoldPlacedV1(EventPayload):
    """A legal hold on a person's data (v1: the reason in plain text)."""

    model_config = ConfigDict(title="LegalHoldPlaced")

    subject_id: str = Field(pattern=r"^[a-z_]+:[^\s]{1,200}$")
    hold_id: UUID
    reason: str = Field(min_length=3, max_length=500)
    case_id: UUID | None = None
    placed_at: AwareDatetime


@REGISTRY.event("cases.legal_hold_placed", version=2, topic=CASES_DATA_SUBJECTS)
class LegalHoldPlaced(EventPayload):
    """A legal hold on a person's data: while it is open, erasure is refused with its reason.
    v2: the reason is personal data, sealed under the subject's key (v1 upcast unchanged)."""

    data_subject = ("", "subject_id")  # the field holds the subject id itself

    subject_id: SubjectId
    hold_id: UUID
    reason: FreeText500 | None = PersonalData(
        "Why the data is held (3 to 500 characters when written).", default=None, min_length=3
    )
    case_id: UUID | None = None
    placed_at: AwareDatetime


@REGISTRY.upcaster("cases.legal_hold_placed", from_version=1)
def _legal_hold_placed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # same fields; the reason became optional (erasable) and personal


@REGISTRY.event("cases.legal_hold_released", version=1, topic=CASES_DATA_SUBJECTS)
class LegalHoldReleased(EventPayload):
    """A legal hold was lifted."""

    subject_id: SubjectId
    hold_id: UUID
    released_at: AwareDatetime


@REGISTRY.event("cases.data_subject_erased", version=1, topic=CASES_DATA_SUBJECTS)
class DataSubjectErased(EventPayload):
    """A person's data was ordered erased. Every service destroys the subject's key (the first
    to hear it does; the others find it gone), drops it from its caches and removes or redacts
    the person's data in its read models. Events already in the log stay, unreadable."""

    subject_id: SubjectId
    reason: str = Field(min_length=3, max_length=500)
    erased_at: AwareDatetime
