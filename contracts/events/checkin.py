"""Events published by the check-in service on ``frontdesk.checkin.tickets``.

A ticket is one person's place in one queue, whatever the channel (walk-in, phone, chat,
email, virtual queue). Its life: issued -> called -> serving -> completed | no-show | left,
with recalled, parked/returned, transferred (back to waiting in another queue, keeping the
original arrival time) and contact assigned (remote channels) in between. Every transition
says who (``agent_id`` where an agent acted; the envelope's ``actor`` always) and when.

Sites, desks and queues are in ``checkin_sites``, agents in ``checkin_agents``, appointments
in ``checkin_appointments``.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload, PersonalData
from contracts.events.checkin_sites import AssignmentRule
from contracts.fields import FreeText100, FreeText200, Identifier, subject_or_fallback
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


class WaitEstimate(BaseModel):
    """An honest wait: where the person stands and a range, from the queue's recent service
    times per problem category and the agents serving the queue right now."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ahead: int = Field(ge=0, description="Tickets ahead in the queue's current order.")
    expected_minutes: int = Field(ge=0, description="Most likely wait from estimated_at.")
    low_minutes: int = Field(ge=0, description="Lower end of the range.")
    high_minutes: int = Field(ge=0, description="Upper end of the range.")
    agents_serving: int = Field(ge=0, description="Agents signed in for this queue.")
    basis: str = Field(
        description="recent_service_times (measured in this queue) or default_service_time "
        "(too few recent services measured yet)."
    )
    range_basis: str | None = Field(
        default=None,
        description="How the range was made: measured_errors (calibrated on this queue's recent "
        "estimate errors to hold the actual wait about 80% of the time) or service_time_spread "
        "(the spread of service times only, before enough outcomes are known). Absent in "
        "estimates made before ranges were calibrated.",
    )
    estimated_at: AwareDatetime


class AppointmentRef(BaseModel):
    """The booked slot a visitor checked in for (served ahead of walk-ins within it)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    appointment_id: UUID
    slot_start: AwareDatetime
    slot_end: AwareDatetime = Field(description="End of the slot plus its grace window.")


class ActingFor(BaseModel):
    """The visitor acts for someone else: a guardian for a minor, a spouse for a holder abroad."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    relationship: ProxyRelationship
    holder_account_ref: Identifier = Field(
        description="Opaque platform id of the holder's account."
    )


class IntakeV1(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    problem_category: ProblemCategory
    account_ref: Identifier = Field(
        description="Opaque platform account id (not the login number)."
    )
    contact_phone: str | None = PersonalData("Contact phone in E.164.", default=None)
    language: str = Field(description="BCP 47 tag of the preferred language.")
    accessibility_needs: list[AccessibilityNeed] = Field(default_factory=list)
    acting_for: ActingFor | None = None
    description: str | None = PersonalData("The visitor's own words.", default=None)


class Intake(BaseModel):
    """What the visitor told us before reaching a desk (pre-filled at the kiosk or online)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    problem_category: ProblemCategory
    account_ref: Identifier = Field(
        description="Opaque platform account id (not the login number)."
    )
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
    service_day: date | None = Field(
        default=None,
        description="The site's local calendar day the number belongs to (numbers restart at "
        "the site's local midnight). Absent in tickets issued before sites had time zones.",
    )
    estimate: WaitEstimate | None = Field(
        default=None, description="Position and estimated wait when the ticket was issued."
    )
    appointment: AppointmentRef | None = Field(
        default=None, description="The appointment this visitor checked in for, if any."
    )
    person_ref: str | None = Field(
        default=None,
        description="Who holds the ticket for the one-active-ticket rule: the verified phone's "
        "keyed hash (hmac:...) or the customer id; never the phone itself.",
    )
    screening_confirmed_by: str | None = Field(
        default=None,
        description="Walk-in: id of the reception or security staff member who confirmed the "
        "security screening before the ticket was issued. Absent for remote channels and in "
        "tickets issued before screening was recorded.",
    )
    screened_at: AwareDatetime | None = Field(
        default=None, description="Walk-in: when the security screening was confirmed."
    )
    owner_agent_id: str | None = Field(
        default=None,
        max_length=200,
        description="Remote contact: the customer's owning agent (e.g. the account manager the "
        "organization's CRM names), for the owner_agent assignment rule. Absent when the "
        "customer has none, and in tickets issued before contacts were assigned.",
    )


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


class MatchLevel(StrEnum):
    """How well the serving agent fits the ticket's language or specialist need."""

    EXACT = "exact"
    DIALECT_RELAXED = "dialect_relaxed"  # same language, another dialect
    LANGUAGE_RELAXED = "language_relaxed"  # another language
    SKILL_RELAXED = "skill_relaxed"  # the specialist skill was waived
    NOT_REQUIRED = "not_required"


class RoutingMatch(BaseModel):
    """Why this ticket went to this agent ("call next"), and whether a requirement was
    relaxed because the ticket waited past the limit with nobody better signed in."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    language: MatchLevel
    skill: MatchLevel
    relaxed: bool = Field(description="True when a language, dialect or skill was relaxed.")
    waited_minutes: int = Field(ge=0)
    priority_reasons: list[str] = Field(
        default_factory=list, description="appointment | accessibility | escalated"
    )
    explanation: str = Field(description="One sentence for the agent and the audit trail.")


@REGISTRY.event("checkin.ticket_called", version=1, topic=CHECKIN_TICKETS)
class TicketCalled(EventPayload):
    """An agent called the ticket to a desk (or remote position)."""

    ticket_id: UUID
    desk_id: str
    agent_id: str
    called_at: AwareDatetime
    match: RoutingMatch | None = Field(
        default=None, description="Set when chosen by call-next routing; absent for a direct call."
    )
    channel: Channel | None = Field(
        default=None,
        description="The ticket's channel: a walk-in or virtual-queue visitor comes to the desk; "
        "a phone, chat or email contact goes nowhere (an agent is about to contact them). "
        "Absent on events written before it was added.",
    )


@REGISTRY.event("checkin.ticket_left", version=1, topic=CHECKIN_TICKETS)
class TicketLeft(EventPayload):
    """The person gave up waiting and left the queue."""

    data_subject = ("account", "account_ref")

    ticket_id: UUID
    reason: FreeText200 | None = PersonalData(
        "Why the person left, in their or the agent's words.", default=None
    )
    left_at: AwareDatetime
    account_ref: Identifier | None = Field(
        default=None, description="The ticket's account: whose key seals the reason."
    )

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        return subject_or_fallback(payload, "account_ref", "ticket", "ticket_id")


# -- the rest of the lifecycle --------------------------------------------------------------


@REGISTRY.event("checkin.ticket_recalled", version=1, topic=CHECKIN_TICKETS)
class TicketRecalled(EventPayload):
    """The called person did not come: the desk called the number again."""

    ticket_id: UUID
    desk_id: str
    agent_id: str
    recall_number: int = Field(ge=1, description="1 for the first recall.")
    recalled_at: AwareDatetime


@REGISTRY.event("checkin.ticket_serving_started", version=1, topic=CHECKIN_TICKETS)
class TicketServingStarted(EventPayload):
    """The person reached the desk (or the agent answered the remote contact)."""

    ticket_id: UUID
    desk_id: str
    agent_id: str
    started_at: AwareDatetime


@REGISTRY.event("checkin.ticket_completed", version=1, topic=CHECKIN_TICKETS)
class TicketCompleted(EventPayload):
    """Service at the desk ended. Final. The agent's resolution is free text that may speak
    of the person: it is sealed under the account's key (events written before it was sealed
    read as written)."""

    data_subject = ("account", "account_ref")

    ticket_id: UUID
    agent_id: str
    resolution: FreeText100 | None = PersonalData(
        "How the agent resolved the visit, in the agent's words.", default=None
    )
    service_seconds: int = Field(ge=0, description="From serving started to completed.")
    completed_at: AwareDatetime
    account_ref: Identifier | None = Field(
        default=None, description="The ticket's account: whose key seals the resolution."
    )

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        return subject_or_fallback(payload, "account_ref", "ticket", "ticket_id")


@REGISTRY.event("checkin.ticket_transferred", version=1, topic=CHECKIN_TICKETS)
class TicketTransferred(EventPayload):
    """The ticket moved to another queue or to a specialist. It waits again, keeping its
    original arrival time (so it does not start again at the back)."""

    ticket_id: UUID
    from_queue: ServiceQueue
    to_queue: ServiceQueue
    required_skill: str | None = Field(
        default=None,
        max_length=64,
        description="Specialist skill now required, e.g. minors_refunds.",
    )
    agent_id: str
    reason: str | None = Field(default=None, max_length=200)
    arrival_at: AwareDatetime = Field(description="Unchanged original arrival time.")
    transferred_at: AwareDatetime


class NoShowReason(StrEnum):
    RECALLS_EXHAUSTED = "recalls_exhausted"
    NOT_AT_DESK_IN_TIME = "not_at_desk_in_time"
    MARKED_BY_AGENT = "marked_by_agent"
    CONTACT_UNANSWERED = "contact_unanswered"


@REGISTRY.event("checkin.ticket_no_show", version=1, topic=CHECKIN_TICKETS)
class TicketNoShow(EventPayload):
    """The person did not come to the desk after being called (and recalled). Final."""

    ticket_id: UUID
    reason: NoShowReason
    recalls: int = Field(ge=0)
    agent_id: str | None = None
    at: AwareDatetime


@REGISTRY.event("checkin.ticket_parked", version=1, topic=CHECKIN_TICKETS)
class TicketParked(EventPayload):
    """The visitor stepped away (to fetch a document, finish a form); not routed meanwhile."""

    ticket_id: UUID
    reason: str | None = Field(default=None, max_length=200)
    parked_at: AwareDatetime


@REGISTRY.event("checkin.ticket_returned", version=1, topic=CHECKIN_TICKETS)
class TicketReturned(EventPayload):
    """The parked visitor is back, in their original place (arrival time unchanged)."""

    ticket_id: UUID
    returned_at: AwareDatetime


@REGISTRY.event("checkin.ticket_priority_raised", version=1, topic=CHECKIN_TICKETS)
class TicketPriorityRaised(EventPayload):
    """The account's case was escalated (repeated contacts about an unresolved problem): the
    ticket is served with the escalation head start."""

    ticket_id: UUID
    reason: str = Field(description="escalated_case")
    case_id: UUID | None = None
    raised_at: AwareDatetime


@REGISTRY.event("checkin.ticket_wait_estimated", version=1, topic=CHECKIN_TICKETS)
class TicketWaitEstimated(EventPayload):
    """The estimated wait shifted by more than the margin since the person was last told,
    so they can be told again (re-estimated as the queue moves)."""

    ticket_id: UUID
    estimate: WaitEstimate
    previous_expected_minutes: int | None = Field(
        default=None, description="What the person was told before."
    )


@REGISTRY.event("checkin.ticket_position_changed", version=1, topic=CHECKIN_TICKETS)
class TicketPositionChanged(EventPayload):
    """Virtual queue: how many are ahead now ("3 ahead"), or "you are next" (ahead = 0).
    The notifications service tells the person when to come."""

    ticket_id: UUID
    ahead: int = Field(ge=0)
    you_are_next: bool
    expected_minutes: int = Field(ge=0)
    at: AwareDatetime


@REGISTRY.event("checkin.contact_assigned", version=1, topic=CHECKIN_TICKETS)
class ContactAssigned(EventPayload):
    """A remote contact (phone, chat, email) was offered to an agent automatically, within
    skills, languages and the agent's concurrency limit for the channel."""

    ticket_id: UUID
    agent_id: str
    channel: Channel
    rule: AssignmentRule = Field(description="The rule that chose the agent.")
    previous_agent_id: str | None = Field(
        default=None, description="Set on a reassignment (the previous agent did not answer)."
    )
    answer_by: AwareDatetime = Field(description="Reassigned if not answered by then.")
    assigned_at: AwareDatetime


class UnansweredReason(StrEnum):
    """Why an offered remote contact went back to the pool unanswered."""

    ANSWER_WINDOW_ENDED = "answer_window_ended"  # the agent's answer window ran out
    AGENT_ON_BREAK = "agent_on_break"  # the agent went on a break before answering
    AGENT_SIGNED_OUT = "agent_signed_out"  # the agent signed out before answering


@REGISTRY.event("checkin.contact_unanswered", version=1, topic=CHECKIN_TICKETS)
class ContactUnanswered(EventPayload):
    """The agent a remote contact was offered to did not answer it — the answer window ran
    out, or the agent went on a break or signed out first: the contact goes back to the
    queue's pool (keeping its place) to be assigned to someone else."""

    ticket_id: UUID
    agent_id: str
    at: AwareDatetime
    reason: UnansweredReason = Field(
        default=UnansweredReason.ANSWER_WINDOW_ENDED,
        description="answer_window_ended (absent in events before the field existed), "
        "agent_on_break or agent_signed_out (released at once, not at the end of the window).",
    )


@REGISTRY.event("checkin.ticket_callback_requested", version=1, topic=CHECKIN_TICKETS)
class TicketCallbackRequested(EventPayload):
    """A caller waiting on the phone asked to be called back instead of holding. The ticket
    keeps its place; when it is called, the agent calls back (carried out by notifications)."""

    ticket_id: UUID
    requested_at: AwareDatetime


# registers the topics and events of the check-in service's other aggregates
from contracts.events import checkin_agents, checkin_appointments  # noqa: E402, F401
