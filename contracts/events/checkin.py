"""Events published by the check-in service on ``frontdesk.checkin.tickets``."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload, PersonalData
from contracts.registry import REGISTRY
from contracts.topics import CHECKIN_TICKETS
from contracts.vocabulary import (
    AccessibilityNeed,
    Channel,
    LanguagePreference,
    ProblemCategory,
    ProxyRelationship,
    ServiceQueue,
)


class ActingFor(BaseModel):
    """The visitor acts for someone else: a guardian for a minor, a spouse for a holder abroad."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    relationship: ProxyRelationship
    holder_account_ref: str = Field(description="Opaque platform id of the holder's account.")


class IntakeV1(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    problem_category: ProblemCategory
    account_ref: str = Field(description="Opaque platform account id (not the login number).")
    contact_phone: str | None = PersonalData("Contact phone in E.164.", default=None)
    language: str = Field(description="BCP 47 tag of the preferred language.")
    accessibility_needs: list[AccessibilityNeed] = Field(default_factory=list)
    acting_for: ActingFor | None = None
    description: str | None = PersonalData("The visitor's own words.", default=None)


class Intake(BaseModel):
    """What the visitor told us before reaching a desk (pre-filled at the kiosk or online)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    problem_category: ProblemCategory
    account_ref: str = Field(description="Opaque platform account id (not the login number).")
    contact_phone: str | None = PersonalData("Contact phone in E.164.", default=None)
    language: LanguagePreference
    accessibility_needs: list[AccessibilityNeed] = Field(default_factory=list)
    acting_for: ActingFor | None = None
    description: str | None = PersonalData("The visitor's own words.", default=None)


@REGISTRY.event("checkin.ticket_issued", version=1, topic=CHECKIN_TICKETS)
class TicketIssuedV1(EventPayload):
    """Superseded by v2 (the language became a tag plus a dialect). Still readable."""

    data_subject = ("account", "intake.account_ref")

    ticket_id: UUID
    site_id: str
    queue: ServiceQueue
    number: str
    channel: Channel
    customer_id: str | None = None
    intake: IntakeV1
    issued_at: AwareDatetime


@REGISTRY.event("checkin.ticket_issued", version=2, topic=CHECKIN_TICKETS)
class TicketIssued(EventPayload):
    """A person entered a queue: a walk-in passed screening and got a number, or a remote
    contact (phone, chat, email, virtual queue) arrived. Carries the intake so that cases can
    open or attach a case and verification can start while the person waits."""

    data_subject = ("account", "intake.account_ref")

    ticket_id: UUID
    site_id: str = Field(description="Service center (or remote contact center) id.")
    queue: ServiceQueue
    number: str = Field(description="Queue number shown to the person, e.g. A017.")
    channel: Channel
    customer_id: str | None = Field(
        default=None, description="Id of the signed-in customer who owns the ticket, if any."
    )
    intake: Intake
    issued_at: AwareDatetime


_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def language_tag_from_v1(value: str) -> str:
    """v1 accepted any string as the language; v2 needs a BCP 47 tag. ``zh_CN`` becomes
    ``zh-CN``; anything that still is no tag becomes ``und`` (BCP 47: undetermined)."""
    candidate = value.strip().replace("_", "-")
    return candidate if _LANGUAGE_TAG.match(candidate) else "und"


@REGISTRY.upcaster("checkin.ticket_issued", from_version=1)
def _ticket_issued_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    intake = dict(payload["intake"])
    intake["language"] = {"tag": language_tag_from_v1(str(intake["language"])), "dialect": None}
    return {**payload, "intake": intake}


@REGISTRY.event("checkin.ticket_called", version=1, topic=CHECKIN_TICKETS)
class TicketCalled(EventPayload):
    """An agent called the ticket to a desk."""

    ticket_id: UUID
    desk_id: str
    agent_id: str
    called_at: AwareDatetime


@REGISTRY.event("checkin.ticket_left", version=1, topic=CHECKIN_TICKETS)
class TicketLeft(EventPayload):
    """The person gave up waiting and left the queue."""

    ticket_id: UUID
    reason: str | None = Field(default=None, max_length=200)
    left_at: AwareDatetime
