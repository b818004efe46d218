"""Audit and retention events, published by every service on shared topics.

``audit.personal_data_accessed`` answers "who looked at this person's data, when and why";
``retention.data_purged`` answers "what did we delete because its time was up".
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload
from contracts.fields import SubjectId
from contracts.registry import REGISTRY
from contracts.topics import AUDIT_ACCESSES, RETENTION_PURGES


@REGISTRY.event("audit.personal_data_accessed", version=1, topic=AUDIT_ACCESSES)
class PersonalDataAccessed(EventPayload):
    """A member of staff read a person's personal data. The envelope's actor says who; this
    says whose data, what (the resource and its personal fields — names, never values), and
    why (the case or ticket it was for). Keyed by ``access-<uuid>``."""

    service: str = Field(description="The service that served the read.")
    subject_id: SubjectId = Field(description="Whose data, e.g. account:acct-42.")
    resource: str = Field(description="What was read: case, ticket, verification_session, …")
    resource_id: str
    fields: list[str] = Field(description="Names of the personal fields shown (not values).")
    purpose: str = Field(description="Why: the case or ticket the read was for, e.g. case:<id>.")
    accessed_at: AwareDatetime


@REGISTRY.event("retention.data_purged", version=1, topic=RETENTION_PURGES)
class DataPurged(EventPayload):
    """A retention job deleted data whose retention period was over. Counts, never contents.
    Keyed by ``purge-<service>-<policy>``."""

    service: str
    policy: str = Field(description="The retention policy, e.g. idempotency_keys.")
    description: str = Field(description="What kind of data, in words.")
    retention_days: float = Field(description="How long this kind of data is kept.")
    purged: int = Field(ge=1, description="How many records were deleted.")
    older_than: AwareDatetime = Field(description="Everything before this moment went.")
    purged_at: AwareDatetime
