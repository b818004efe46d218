"""The ticket aggregate: one person's place in one queue, pure decisions and folds, no I/O.
(Over 600 lines because it is one aggregate: seventeen commands, their rules and its fold.)

issued -> called -> serving -> completed | no-show | left, with recalled, parked/returned,
transferred (back to waiting in another queue, arrival time kept) and, for remote contacts,
assigned/unanswered in between. Every refusal says why (HTTP 409) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.checkin import (
    AppointmentRef,
    ContactAssigned,
    ContactUnanswered,
    Intake,
    NoShowReason,
    RoutingMatch,
    TicketCallbackRequested,
    TicketCalled,
    TicketCompleted,
    TicketIssued,
    TicketLeft,
    TicketNoShow,
    TicketParked,
    TicketPositionChanged,
    TicketPriorityRaised,
    TicketRecalled,
    TicketReturned,
    TicketServingStarted,
    TicketTransferred,
    TicketWaitEstimated,
    UnansweredReason,
    WaitEstimate,
)
from contracts.events.checkin_agents import AgentStatus
from contracts.events.checkin_sites import AssignmentRule
from contracts.vocabulary import (
    AccessibilityNeed,
    Channel,
    LanguagePreference,
    ProblemCategory,
    ServiceQueue,
)
from runtime.aggregate import AggregateType
from runtime.errors import NotFound, RuleViolation
from services.checkin.domain.agents import Agent
from services.checkin.domain.sites import Site
from services.checkin.domain.wording import Alternative, local_time, queue_label, refusal_fields

TICKET_PREFIX: dict[ServiceQueue, str] = {
    ServiceQueue.ACCOUNT_SECURITY: "A",
    ServiceQueue.WALLET_PAYMENTS: "W",
    ServiceQueue.MINORS_FAMILY: "M",
    ServiceQueue.COMMERCE_DISPUTES: "D",
    ServiceQueue.GENERAL: "G",
}

DEFAULT_QUEUE: dict[ProblemCategory, ServiceQueue] = {
    ProblemCategory.ACCOUNT_SUSPENDED: ServiceQueue.ACCOUNT_SECURITY,
    ProblemCategory.ACCOUNT_RECOVERY_LOST_PHONE: ServiceQueue.ACCOUNT_SECURITY,
    ProblemCategory.WALLET_REACTIVATION: ServiceQueue.WALLET_PAYMENTS,
    ProblemCategory.THIRD_PARTY_REPORT_DISPUTE: ServiceQueue.COMMERCE_DISPUTES,
    ProblemCategory.MINOR_SPENDING_REFUND: ServiceQueue.MINORS_FAMILY,
    ProblemCategory.OTHER: ServiceQueue.GENERAL,
}

REMOTE_CHANNELS = frozenset(
    {Channel.PHONE, Channel.CHAT_QQ, Channel.CHAT_WECHAT, Channel.CHAT_WEB, Channel.EMAIL}
)

# "N ahead" is told to virtual-queue holders when the count reaches one of these.
POSITION_NOTICES = (10, 5, 3, 1, 0)


def ticket_number(queue: ServiceQueue, sequence: int) -> str:
    """A017-style number shown to the person: the queue's prefix and a 3-digit sequence."""
    return f"{TICKET_PREFIX[queue]}{sequence:03d}"


class TicketStatus(StrEnum):
    NOT_ISSUED = "not_issued"
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    PARKED = "parked"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    LEFT = "left"


FINAL_STATUSES = frozenset({TicketStatus.COMPLETED, TicketStatus.NO_SHOW, TicketStatus.LEFT})
ACTIVE_STATUSES = frozenset(
    {TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING, TicketStatus.PARKED}
)


@dataclass(frozen=True)
class Ticket:
    status: TicketStatus = TicketStatus.NOT_ISSUED
    ticket_id: UUID | None = None
    site_id: str | None = None
    queue: ServiceQueue | None = None
    number: str | None = None
    channel: Channel | None = None
    customer_id: str | None = None
    problem_category: ProblemCategory | None = None
    issued_at: datetime | None = None
    desk_id: str | None = None
    called_at: datetime | None = None
    left_at: datetime | None = None
    first_called_at: datetime | None = None
    account_ref: str | None = None
    language: LanguagePreference | None = None
    accessibility_needs: tuple[AccessibilityNeed, ...] = ()
    arrival_at: datetime | None = None
    service_day: date | None = None
    person_ref: str | None = None
    appointment: AppointmentRef | None = None
    required_skill: str | None = None
    escalated: bool = False
    agent_id: str | None = None
    recalls: int = 0
    serving_started_at: datetime | None = None
    ended_at: datetime | None = None
    parked_at: datetime | None = None
    transfers: int = 0
    first_estimate: WaitEstimate | None = None
    estimate: WaitEstimate | None = None
    ahead_told: int | None = None
    callback_requested: bool = False
    answer_by: datetime | None = None
    last_agent_id: str | None = None
    resolution: str | None = None
    no_show_reason: NoShowReason | None = None
    owner_agent_id: str | None = None  # remote contact: the customer's owning agent

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


# -- facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveTicket:
    """A ticket the same person, account or customer holds and that has not ended."""

    number: str
    status: TicketStatus


@dataclass(frozen=True)
class TicketFacts:
    """What the application gathered, once, before a ticket command: beyond the ticket's own
    state, what its rules depend on. ``Site()`` is a site never configured (always open, every
    queue with default settings)."""

    site: Site = field(default_factory=Site)
    # issuing a virtual-queue ticket: an active ticket of the person, account or customer
    active_ticket: ActiveTicket | None = None
    # calling a ticket: the agent it is called to (not tracked when they have no profile)
    agent: Agent | None = None


NO_FACTS = TicketFacts()


# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueTicket:
    ticket_id: UUID
    site_id: str
    queue: ServiceQueue
    sequence: int
    channel: Channel
    customer_id: str | None
    intake: Intake
    at: datetime
    service_day: date | None = None
    estimate: WaitEstimate | None = None
    appointment: AppointmentRef | None = None
    person_ref: str | None = None
    screening_confirmed_by: str | None = None  # staff who confirmed it (walk-in)
    owner_agent_id: str | None = None  # remote contact: the customer's owning agent
    # a customer joining the virtual queue: the phone number their sign-in verified
    verified_phone: str | None = None


@dataclass(frozen=True)
class CallTicket:
    desk_id: str
    agent_id: str
    at: datetime
    match: RoutingMatch | None = None


@dataclass(frozen=True)
class RecallTicket:
    agent_id: str
    at: datetime
    max_recalls: int
    override: bool = False  # a supervisor acting for the desk


@dataclass(frozen=True)
class StartServing:
    agent_id: str
    at: datetime
    override: bool = False


@dataclass(frozen=True)
class CompleteTicket:
    agent_id: str
    at: datetime
    resolution: str | None = None
    override: bool = False


@dataclass(frozen=True)
class TransferTicket:
    agent_id: str
    to_queue: ServiceQueue
    at: datetime
    required_skill: str | None = None
    reason: str | None = None
    override: bool = False


@dataclass(frozen=True)
class MarkNoShow:
    at: datetime
    reason: NoShowReason = NoShowReason.MARKED_BY_AGENT
    agent_id: str | None = None
    override: bool = False


@dataclass(frozen=True)
class ParkTicket:
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class ReturnTicket:
    at: datetime


@dataclass(frozen=True)
class LeaveQueue:
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class RaisePriority:
    at: datetime
    case_id: UUID | None = None


@dataclass(frozen=True)
class RecordEstimate:
    """Re-estimated as the queue moved: an event only when it shifted past the margin."""

    estimate: WaitEstimate
    margin_minutes: int


@dataclass(frozen=True)
class RecordPosition:
    """Virtual queue: tell "N ahead" when N reaches a notice point, "you are next" at 0."""

    ahead: int
    expected_minutes: int
    at: datetime


@dataclass(frozen=True)
class AssignContact:
    agent_id: str
    desk_id: str
    rule: AssignmentRule
    answer_by: datetime
    at: datetime
    match: RoutingMatch | None = None  # why this agent may serve it (language, skill)


@dataclass(frozen=True)
class ExpireAssignment:
    at: datetime


@dataclass(frozen=True)
class ReleaseContact:
    """The agent a contact is offered to went on a break or signed out before answering: the
    contact goes back to the pool at once instead of at the end of its answer window."""

    agent_id: str
    at: datetime
    reason: UnansweredReason


@dataclass(frozen=True)
class HandBackContact:
    """The agent serving a remote contact (a phone call, chat or email they had answered)
    signed out before finishing it: the contact waits again in its own queue, keeping its
    arrival time (so it is ahead of everyone who came after it), its language and its
    specialist skill, for the next agent who has them. Its ``checkin.ticket_transferred``
    says why (``reason``: ``agent_signed_out``). A break keeps the answered contacts: the
    agent comes back to them."""

    agent_id: str
    at: datetime
    reason: UnansweredReason = UnansweredReason.AGENT_SIGNED_OUT


@dataclass(frozen=True)
class RequestCallback:
    at: datetime


Command = (
    IssueTicket
    | CallTicket
    | RecallTicket
    | StartServing
    | CompleteTicket
    | TransferTicket
    | MarkNoShow
    | ParkTicket
    | ReturnTicket
    | LeaveQueue
    | RaisePriority
    | RecordEstimate
    | RecordPosition
    | AssignContact
    | ExpireAssignment
    | ReleaseContact
    | HandBackContact
    | RequestCallback
)


def estimate_shifted(told: WaitEstimate | None, new: WaitEstimate, margin_minutes: int) -> bool:
    """Worth telling the person again: moved by more than the margin or 25%, whichever is
    larger (a 3-minute change on a 2-hour wait is noise; on a 6-minute wait it is not)."""
    if told is None:
        return True
    threshold = max(margin_minutes, 0.25 * told.expected_minutes)
    return abs(new.expected_minutes - told.expected_minutes) > threshold


def position_notice_due(told: int | None, ahead: int) -> bool:
    """True when "N ahead" should be told: first time, or a notice point was reached."""
    if told is None:
        return True
    return ahead < told and any(ahead <= point < told for point in POSITION_NOTICES)


def decide(ticket: Ticket, facts: TicketFacts, command: Command) -> list[EventPayload]:
    match command:
        case IssueTicket():
            _check_issue(ticket, facts, command)
            walk_in = command.channel is Channel.WALK_IN
            screened_by = command.screening_confirmed_by if walk_in else None
            intake = command.intake
            if command.verified_phone is not None:  # the place is tied to the verified number
                intake = intake.model_copy(update={"contact_phone": command.verified_phone})
            return [
                TicketIssued(
                    ticket_id=command.ticket_id,
                    site_id=command.site_id,
                    queue=command.queue,
                    number=ticket_number(command.queue, command.sequence),
                    channel=command.channel,
                    customer_id=command.customer_id,
                    intake=intake,
                    issued_at=command.at,
                    service_day=command.service_day,
                    estimate=command.estimate,
                    appointment=command.appointment,
                    person_ref=command.person_ref,
                    screening_confirmed_by=screened_by,
                    screened_at=command.at if screened_by else None,
                    owner_agent_id=command.owner_agent_id,
                )
            ]
        case CallTicket():
            _require(ticket, {TicketStatus.WAITING}, "call")
            agent = facts.agent
            walk_in = ticket.channel not in REMOTE_CHANNELS
            if (
                walk_in
                and agent is not None
                and agent.known
                and agent.status is AgentStatus.OFFLINE
            ):
                raise RuleViolation(f"agent {command.agent_id} must sign in at a desk first")
            return [
                TicketCalled(
                    ticket_id=_id(ticket),
                    desk_id=command.desk_id,
                    agent_id=command.agent_id,
                    called_at=command.at,
                    match=command.match,
                    channel=ticket.channel,
                )
            ]
        case RecallTicket():
            _require(ticket, {TicketStatus.CALLED}, "recall")
            _require_own(ticket, command.agent_id, command.override, "recall")
            if ticket.recalls >= command.max_recalls:
                raise RuleViolation(
                    f"ticket {ticket.number} was already recalled {ticket.recalls} times "
                    f"(the limit is {command.max_recalls}): mark it a no-show"
                )
            return [
                TicketRecalled(
                    ticket_id=_id(ticket),
                    desk_id=ticket.desk_id or "",
                    agent_id=command.agent_id,
                    recall_number=ticket.recalls + 1,
                    recalled_at=command.at,
                )
            ]
        case StartServing():
            _require(ticket, {TicketStatus.CALLED}, "start serving")
            _require_own(ticket, command.agent_id, command.override, "start serving")
            return [
                TicketServingStarted(
                    ticket_id=_id(ticket),
                    desk_id=ticket.desk_id or "",
                    agent_id=ticket.agent_id or command.agent_id,
                    started_at=command.at,
                )
            ]
        case CompleteTicket():
            _require(ticket, {TicketStatus.SERVING}, "complete")
            _require_own(ticket, command.agent_id, command.override, "complete")
            assert ticket.serving_started_at is not None
            seconds = max(0, int((command.at - ticket.serving_started_at).total_seconds()))
            return [
                TicketCompleted(
                    ticket_id=_id(ticket),
                    agent_id=ticket.agent_id or command.agent_id,
                    resolution=command.resolution,
                    service_seconds=seconds,
                    completed_at=command.at,
                    account_ref=ticket.account_ref,  # whose key seals the resolution
                )
            ]
        case TransferTicket():
            _require(ticket, {TicketStatus.CALLED, TicketStatus.SERVING}, "transfer")
            _require_own(ticket, command.agent_id, command.override, "transfer")
            if command.to_queue is ticket.queue and command.required_skill in (
                None,
                ticket.required_skill,
            ):
                raise RuleViolation(
                    f"ticket {ticket.number} is already in {ticket.queue}: name another queue "
                    "or a specialist skill"
                )
            assert ticket.queue is not None
            assert ticket.arrival_at is not None
            return [
                TicketTransferred(
                    ticket_id=_id(ticket),
                    from_queue=ticket.queue,
                    to_queue=command.to_queue,
                    required_skill=command.required_skill,
                    agent_id=command.agent_id,
                    reason=command.reason,
                    arrival_at=ticket.arrival_at,
                    transferred_at=command.at,
                )
            ]
        case MarkNoShow():
            _require(ticket, {TicketStatus.CALLED}, "mark a no-show")
            if command.agent_id is not None:
                _require_own(ticket, command.agent_id, command.override, "mark a no-show")
            return [
                TicketNoShow(
                    ticket_id=_id(ticket),
                    reason=command.reason,
                    recalls=ticket.recalls,
                    agent_id=command.agent_id,
                    at=command.at,
                )
            ]
        case ParkTicket():
            _require(ticket, {TicketStatus.WAITING, TicketStatus.CALLED}, "park")
            return [
                TicketParked(ticket_id=_id(ticket), reason=command.reason, parked_at=command.at)
            ]
        case ReturnTicket():
            _require(ticket, {TicketStatus.PARKED}, "return")
            return [TicketReturned(ticket_id=_id(ticket), returned_at=command.at)]
        case LeaveQueue():
            _require(
                ticket,
                {TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.PARKED},
                "leave the queue with",
            )
            return [
                TicketLeft(
                    ticket_id=_id(ticket),
                    reason=command.reason,
                    left_at=command.at,
                    account_ref=ticket.account_ref,  # whose key seals the reason
                )
            ]
        case RaisePriority():
            _require_issued(ticket)
            if ticket.escalated or ticket.status not in {
                TicketStatus.WAITING,
                TicketStatus.PARKED,
            }:
                return []  # already raised, or no longer waiting: nothing to change
            return [
                TicketPriorityRaised(
                    ticket_id=_id(ticket),
                    reason="escalated_case",
                    case_id=command.case_id,
                    raised_at=command.at,
                )
            ]
        case RecordEstimate():
            _require_issued(ticket)
            if ticket.status is not TicketStatus.WAITING:
                return []
            if not estimate_shifted(ticket.estimate, command.estimate, command.margin_minutes):
                return []
            return [
                TicketWaitEstimated(
                    ticket_id=_id(ticket),
                    estimate=command.estimate,
                    previous_expected_minutes=(
                        ticket.estimate.expected_minutes if ticket.estimate else None
                    ),
                )
            ]
        case RecordPosition():
            _require_issued(ticket)
            if ticket.status is not TicketStatus.WAITING or ticket.channel is not (
                Channel.VIRTUAL_QUEUE
            ):
                return []
            if not position_notice_due(ticket.ahead_told, command.ahead):
                return []
            return [
                TicketPositionChanged(
                    ticket_id=_id(ticket),
                    ahead=command.ahead,
                    you_are_next=command.ahead == 0,
                    expected_minutes=command.expected_minutes,
                    at=command.at,
                )
            ]
        case AssignContact():
            _require(ticket, {TicketStatus.WAITING}, "assign")
            if ticket.channel not in REMOTE_CHANNELS:
                raise RuleViolation(f"ticket {ticket.number} is a {ticket.channel} ticket: call it")
            assert ticket.channel is not None
            return [
                ContactAssigned(
                    ticket_id=_id(ticket),
                    agent_id=command.agent_id,
                    channel=ticket.channel,
                    rule=command.rule,
                    previous_agent_id=ticket.last_agent_id,
                    answer_by=command.answer_by,
                    assigned_at=command.at,
                ),
                TicketCalled(
                    ticket_id=_id(ticket),
                    desk_id=command.desk_id,
                    agent_id=command.agent_id,
                    called_at=command.at,
                    match=command.match,
                    channel=ticket.channel,
                ),
            ]
        case ExpireAssignment():
            _require_issued(ticket)
            if ticket.status is not TicketStatus.CALLED or ticket.answer_by is None:
                return []  # answered, ended, or not an assigned contact
            if command.at < ticket.answer_by:
                return []
            return [
                ContactUnanswered(
                    ticket_id=_id(ticket), agent_id=ticket.agent_id or "", at=command.at
                )
            ]
        case ReleaseContact():
            _require_issued(ticket)
            offered = ticket.status is TicketStatus.CALLED and ticket.answer_by is not None
            if not offered or ticket.agent_id != command.agent_id:
                return []  # answered, ended, or offered to someone else meanwhile
            return [
                ContactUnanswered(
                    ticket_id=_id(ticket),
                    agent_id=command.agent_id,
                    at=command.at,
                    reason=command.reason,
                )
            ]
        case HandBackContact():
            _require_issued(ticket)
            answered = ticket.status is TicketStatus.SERVING
            if not answered or ticket.agent_id != command.agent_id:
                return []  # finished meanwhile, or not this agent's
            if ticket.channel not in REMOTE_CHANNELS:
                raise RuleViolation(f"{ticket.number} is served at a desk: finish it there")
            assert ticket.queue is not None
            assert ticket.arrival_at is not None
            return [
                TicketTransferred(
                    ticket_id=_id(ticket),
                    from_queue=ticket.queue,
                    to_queue=ticket.queue,
                    required_skill=ticket.required_skill,
                    agent_id=command.agent_id,
                    reason=command.reason.value,
                    arrival_at=ticket.arrival_at,
                    transferred_at=command.at,
                )
            ]
        case RequestCallback():
            _require(ticket, {TicketStatus.WAITING}, "request a callback for")
            if ticket.channel is not Channel.PHONE:
                raise RuleViolation("only a caller waiting on the phone can ask for a callback")
            if ticket.callback_requested:
                raise RuleViolation(f"a callback was already requested for {ticket.number}")
            return [TicketCallbackRequested(ticket_id=_id(ticket), requested_at=command.at)]
    raise TypeError(f"unknown command {command!r}")


def virtual_queue_phone(intake: Intake, verified_phone: str | None) -> str | None:
    """The phone number a virtual-queue place is tied to: the one the customer's sign-in
    verified (staff placing a caller give the number the caller is reached on)."""
    return verified_phone or intake.contact_phone


def _check_issue(ticket: Ticket, facts: TicketFacts, command: IssueTicket) -> None:
    """Every rule of issuing a ticket, in the order the person is told about them."""
    channel, site, queue, now = command.channel, facts.site, command.queue, command.at
    if channel is Channel.VIRTUAL_QUEUE:
        if command.customer_id is None:
            raise RuleViolation("the virtual queue is for signed-in customers (verified phone)")
        if command.verified_phone is None and command.intake.contact_phone is None:
            raise RuleViolation("the virtual queue needs the phone number the person is told on")
        if command.verified_phone is not None and command.intake.contact_phone not in (
            None,
            command.verified_phone,
        ):
            raise RuleViolation(
                "the virtual queue is tied to the phone number verified on your sign-in: leave "
                "contact_phone out, or give that number"
            )
    if command.screening_confirmed_by is not None and channel is not Channel.WALK_IN:
        raise RuleViolation("the security screening is confirmed for walk-ins only")
    if not site.serves(queue):
        raise RuleViolation(f"site {site.site_id} does not serve {queue}")
    tag = command.intake.language.tag
    if site.queue_closed_today(queue, now):
        reopening = site.next_opening(now, queue)
        when = f"; it opens again at {_local(site, reopening)}" if reopening else ""
        raise RuleViolation(
            f"{queue} is closed for today at {site.site_id}{when}",
            refusal_fields("queue_closed_today", tag, site.zone, queue, next_opening=reopening),
        )
    if not site.is_open(now):
        reopening = site.next_opening(now, queue)
        when = f"; it opens at {_local(site, reopening)}" if reopening else ""
        raise RuleViolation(
            f"site {site.site_id} is closed now{when}",
            refusal_fields("site_closed_now", tag, site.zone, queue, next_opening=reopening),
        )
    held = facts.active_ticket
    if channel is Channel.VIRTUAL_QUEUE and held is not None:
        raise RuleViolation(
            f"this person or account already holds ticket {held.number} ({held.status}): "
            "one active ticket at a time"
        )
    _check_served_before_closing(site, queue, command.estimate, now, tag)
    if ticket.status is not TicketStatus.NOT_ISSUED:
        raise RuleViolation("this ticket was already issued")
    screened = command.screening_confirmed_by
    if site.screening_required and channel is Channel.WALK_IN and not screened:
        raise RuleViolation(
            "reception must confirm the visitor's security screening before a walk-in "
            "ticket is issued at this site"
        )


def _check_served_before_closing(
    site: Site, queue: ServiceQueue, estimate: WaitEstimate | None, now: datetime, tag: str
) -> None:
    """Closing rule: a person who cannot be served before closing is told so, with the next
    opening and the alternatives (as text, and as fields a frontend acts on), instead of being
    given a number that will not be called. The test is the upper end of the estimated range
    plus one service. Every time is the site's local time."""
    closes = site.closes_at(now)
    if closes is None or estimate is None:
        return
    minutes = site.settings(queue).default_service_minutes
    done = now + timedelta(minutes=estimate.high_minutes) + timedelta(minutes=minutes)
    if done <= closes:
        return
    reopening = site.next_opening(closes, queue)
    when = f"; it opens again at {_local(site, reopening)}" if reopening else ""
    wait = f"up to {estimate.high_minutes} min of waiting and " if estimate.high_minutes else ""
    alternatives = (Alternative.APPOINTMENT, Alternative.CALLBACK)
    raise RuleViolation(
        f"{queue_label(queue, 'en')} cannot serve you before closing at {_local(site, closes)}"
        f" ({wait}{minutes:g} min of service would end at {_local(site, done)}){when}; "
        "alternatives: book an appointment, or ask for a callback",
        refusal_fields(
            "served_before_closing",
            tag,
            site.zone,
            queue,
            closes=closes,
            next_opening=reopening,
            alternatives=alternatives,
        ),
    )


def _local(site: Site, at: datetime) -> str:
    """A time in a refusal's text: the site's local time, with the zone named."""
    return f"{local_time(at.astimezone(site.zone))} ({site.timezone})"


def _id(ticket: Ticket) -> UUID:
    assert ticket.ticket_id is not None
    return ticket.ticket_id


def _require_issued(ticket: Ticket) -> None:
    if ticket.status is TicketStatus.NOT_ISSUED:
        raise NotFound("no such ticket")


def _require(ticket: Ticket, allowed: set[TicketStatus], action: str) -> None:
    _require_issued(ticket)
    if ticket.status not in allowed:
        raise RuleViolation(f"cannot {action} a ticket that is {ticket.status.value}")


def _require_own(ticket: Ticket, agent_id: str, override: bool, action: str) -> None:
    if not override and ticket.agent_id is not None and ticket.agent_id != agent_id:
        raise RuleViolation(
            f"cannot {action} ticket {ticket.number}: it was called by agent "
            f"{ticket.agent_id}, not by you"
        )


def evolve(ticket: Ticket, event: EventPayload) -> Ticket:
    match event:
        case TicketIssued():
            return Ticket(
                status=TicketStatus.WAITING,
                ticket_id=event.ticket_id,
                site_id=event.site_id,
                queue=event.queue,
                number=event.number,
                channel=event.channel,
                customer_id=event.customer_id,
                problem_category=event.intake.problem_category,
                issued_at=event.issued_at,
                account_ref=event.intake.account_ref,
                language=event.intake.language,
                accessibility_needs=tuple(event.intake.accessibility_needs),
                arrival_at=event.issued_at,
                service_day=event.service_day,
                person_ref=event.person_ref,
                appointment=event.appointment,
                first_estimate=event.estimate,
                estimate=event.estimate,
                owner_agent_id=event.owner_agent_id,
            )
        case TicketCalled():
            return replace(
                ticket,
                status=TicketStatus.CALLED,
                desk_id=event.desk_id,
                agent_id=event.agent_id,
                called_at=event.called_at,
                first_called_at=ticket.first_called_at or event.called_at,
            )
        case ContactAssigned():
            return replace(ticket, answer_by=event.answer_by)
        case ContactUnanswered():
            return replace(
                ticket,
                status=TicketStatus.WAITING,
                last_agent_id=ticket.agent_id,
                agent_id=None,
                desk_id=None,
                answer_by=None,
            )
        case TicketRecalled():
            return replace(ticket, recalls=event.recall_number)
        case TicketServingStarted():
            return replace(
                ticket,
                status=TicketStatus.SERVING,
                serving_started_at=event.started_at,
                answer_by=None,
            )
        case TicketCompleted():
            return replace(
                ticket,
                status=TicketStatus.COMPLETED,
                ended_at=event.completed_at,
                resolution=event.resolution,
            )
        case TicketTransferred():
            return replace(
                ticket,
                status=TicketStatus.WAITING,
                queue=event.to_queue,
                required_skill=event.required_skill,
                last_agent_id=ticket.agent_id,
                agent_id=None,
                desk_id=None,
                recalls=0,
                serving_started_at=None,
                answer_by=None,
                transfers=ticket.transfers + 1,
                ahead_told=None,
            )
        case TicketNoShow():
            return replace(
                ticket, status=TicketStatus.NO_SHOW, ended_at=event.at, no_show_reason=event.reason
            )
        case TicketParked():
            return replace(
                ticket,
                status=TicketStatus.PARKED,
                parked_at=event.parked_at,
                agent_id=None,
                desk_id=None,
                recalls=0,
            )
        case TicketReturned():
            return replace(ticket, status=TicketStatus.WAITING, parked_at=None)
        case TicketLeft():
            return replace(
                ticket, status=TicketStatus.LEFT, left_at=event.left_at, ended_at=event.left_at
            )
        case TicketPriorityRaised():
            return replace(ticket, escalated=True)
        case TicketWaitEstimated():
            return replace(ticket, estimate=event.estimate)
        case TicketPositionChanged():
            return replace(ticket, ahead_told=event.ahead)
        case TicketCallbackRequested():
            return replace(ticket, callback_requested=True)
    return ticket


def fold(events: Sequence[EventPayload]) -> Ticket:
    return TICKET.fold(events)


TICKET = AggregateType[Ticket]("ticket", Ticket, evolve)
