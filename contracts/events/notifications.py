"""Events published by the notifications service.

Topics (one per aggregate type):

- ``frontdesk.notifications.messages`` (``notification-<id>``): one message to one person, from
  its request to its delivery or failure;
- ``frontdesk.notifications.callbacks`` (``callback-<id>``): a promised phone call back, from
  its request to completed, missed or cancelled;
- ``frontdesk.notifications.recipients`` (``recipient-<account_ref>``): a person's channels,
  language, timezone, quiet hours and marketing consent.

One-time codes never appear in any of these events: a message of kind ``one_time_code``
carries a reference to a code held outside the log (see docs/services/notifications.md).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload, PersonalData
from contracts.fields import FreeText200, Identifier, subject_or_fallback
from contracts.registry import REGISTRY
from contracts.topics import (
    NOTIFICATIONS_CALLBACKS,
    NOTIFICATIONS_MESSAGES,
    TopicSpec,
    register_topic,
)
from contracts.vocabulary import LanguagePreference, PersonRole, ServiceQueue

NOTIFICATIONS_RECIPIENTS = register_topic(
    TopicSpec(
        name="frontdesk.notifications.recipients",
        producer="notifications",
        stream_type="recipient",
        description="A person's message preferences and marketing consent.",
    )
)

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class MessageKind(StrEnum):
    """The kinds of notification_requested v1 (frozen: v2 uses NotificationKind)."""

    TICKET_ISSUED = "ticket_issued"


# The kinds of notification_requested v2, frozen (v3 uses NotificationKind). Named like the
# enum it was, so that v2's committed schema stays byte for byte what it was.
NotificationKindV2 = StrEnum(  # type: ignore[misc]
    "NotificationKind",
    {
        name: name.lower()
        for name in (
            "TICKET_ISSUED",
            "QUEUE_POSITION",
            "QUEUE_NEXT",
            "ONE_TIME_CODE",
            "CASE_DECISION",
            "CALLBACK_SCHEDULED",
            "CALLBACK_RESCHEDULED",
            "CALLBACK_REMINDER",
            "CALLBACK_UNREACHABLE",
            "CALLBACK_CANCELLED",
            "ORGANIZATION_VERIFICATION_STEP",
            "CAMPAIGN",
        )
    },
    module=__name__,
)
NotificationKindV2.__doc__ = "What a message is about; each kind has its own localized template."


# The kinds of notification_requested v3, frozen (v4 uses NotificationKind). Named like the
# enum it was, so that v3's committed schema stays byte for byte what it was.
NotificationKindV3 = StrEnum(  # type: ignore[misc]
    "NotificationKind",
    {
        name: name.lower()
        for name in (
            "TICKET_ISSUED",
            "QUEUE_POSITION",
            "QUEUE_NEXT",
            "ONE_TIME_CODE",
            "CASE_DECISION",
            "CALLBACK_SCHEDULED",
            "CALLBACK_RESCHEDULED",
            "CALLBACK_REMINDER",
            "CALLBACK_UNREACHABLE",
            "CALLBACK_CANCELLED",
            "ORGANIZATION_VERIFICATION_STEP",
            "CAMPAIGN",
            "ORGANIZATION_SUBMITTED",
            "ORGANIZATION_DEPOSITS_SENT",
            "ORGANIZATION_DEPOSIT_CONFIRMATION_FAILED",
            "ORGANIZATION_DEPOSITS_CONFIRMED",
            "ORGANIZATION_DEPOSITS_EXPIRED",
            "ORGANIZATION_DOCUMENTS_APPROVED",
            "ORGANIZATION_VERIFIED",
            "ORGANIZATION_REJECTED",
        )
    },
    module=__name__,
)
NotificationKindV3.__doc__ = "What a message is about; each kind has its own localized template."


# The kinds of notification_requested v4, frozen (v5 uses NotificationKind). Named like the
# enum it was, so that v4's committed schema stays byte for byte what it was.
NotificationKindV4 = StrEnum(  # type: ignore[misc]
    "NotificationKind",
    {
        name: name.lower()
        for name in (
            *NotificationKindV3.__members__,
            "QUEUE_CALLBACK_REQUESTED",
        )
    },
    module=__name__,
)
NotificationKindV4.__doc__ = "What a message is about; each kind has its own localized template."


class NotificationKind(StrEnum):
    """What a message is about; each kind has its own localized template."""

    TICKET_ISSUED = "ticket_issued"
    QUEUE_POSITION = "queue_position"
    QUEUE_NEXT = "queue_next"
    ONE_TIME_CODE = "one_time_code"
    CASE_DECISION = "case_decision"
    CALLBACK_SCHEDULED = "callback_scheduled"
    CALLBACK_RESCHEDULED = "callback_rescheduled"
    CALLBACK_REMINDER = "callback_reminder"
    CALLBACK_UNREACHABLE = "callback_unreachable"
    CALLBACK_CANCELLED = "callback_cancelled"
    ORGANIZATION_VERIFICATION_STEP = "organization_verification_step"
    CAMPAIGN = "campaign"
    # the steps of an organization's verification, told to its contact (v3)
    ORGANIZATION_SUBMITTED = "organization_submitted"
    ORGANIZATION_DEPOSITS_SENT = "organization_deposits_sent"
    ORGANIZATION_DEPOSIT_CONFIRMATION_FAILED = "organization_deposit_confirmation_failed"
    ORGANIZATION_DEPOSITS_CONFIRMED = "organization_deposits_confirmed"
    ORGANIZATION_DEPOSITS_EXPIRED = "organization_deposits_expired"
    ORGANIZATION_DOCUMENTS_APPROVED = "organization_documents_approved"
    ORGANIZATION_VERIFIED = "organization_verified"
    ORGANIZATION_REJECTED = "organization_rejected"
    # a phone caller asked to be called back instead of holding (v4)
    QUEUE_CALLBACK_REQUESTED = "queue_callback_requested"
    # a booked appointment starts soon (v5)
    APPOINTMENT_REMINDER = "appointment_reminder"


class MessagePurpose(StrEnum):
    """Why the person gets it: a marketing opt-out never blocks ``service`` (their own ticket,
    case or callback) or ``one_time_code`` messages."""

    SERVICE = "service"
    ONE_TIME_CODE = "one_time_code"
    MARKETING = "marketing"


class MessageChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"
    QQ = "qq"


class HoursWindow(BaseModel):
    """Local wall-clock hours, ``HH:MM``; ``end`` before ``start`` wraps past midnight."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    start: str = Field(pattern=_HHMM, examples=["09:00"])
    end: str = Field(pattern=_HHMM, examples=["20:00"])


# -- messages ---------------------------------------------------------------------------------


@REGISTRY.event("notifications.notification_requested", version=1, topic=NOTIFICATIONS_MESSAGES)
class NotificationRequestedV1(EventPayload):
    """Superseded by v2 (more kinds, a channel order, a purpose, the addresses). Still
    readable: the upcaster makes it a v2 service message on its one channel, without address
    (v1 messages were never sent)."""

    notification_id: UUID
    kind: MessageKind
    channel: MessageChannel
    recipient_ref: str = Field(description="Who receives it, e.g. ticket:<id>; no contact data.")
    language: str = Field(description="BCP 47 tag the message is rendered in.")
    triggered_by: UUID = Field(description="Event id of the triggering event.")
    variables: dict[str, str] = Field(default_factory=dict, description="Template variables.")
    requested_at: AwareDatetime


@REGISTRY.event("notifications.notification_requested", version=2, topic=NOTIFICATIONS_MESSAGES)
class NotificationRequestedV2(EventPayload):
    """A message to a person was decided on. Its id is derived from (triggering event,
    recipient, kind), so a redelivered trigger never requests a second message. It is sent
    on the first channel of ``channels`` and falls back to the next ones after repeated
    failures. The addresses are personal data (encrypted, unreadable once the person is
    erased). Template variables never hold a one-time code."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="NotificationRequested")
    data_subject = ("account", "account_ref")

    notification_id: UUID
    kind: NotificationKindV2
    purpose: MessagePurpose = MessagePurpose.SERVICE
    channels: list[MessageChannel] = Field(
        min_length=1, description="Channels in the order to try them."
    )
    recipient_ref: str = Field(
        description="Who receives it: account:<ref>, ticket:<id> or callback:<id>."
    )
    account_ref: Identifier | None = Field(
        default=None, description="Platform account whose person (or proxy) is addressed."
    )
    language: str = Field(description="BCP 47 tag the message is rendered in.")
    timezone: str | None = Field(default=None, description="IANA timezone for times shown.")
    triggered_by: UUID = Field(description="Event id of the triggering event.")
    variables: dict[str, str] = Field(default_factory=dict, description="Template variables.")
    campaign_id: UUID | None = None
    not_before: AwareDatetime | None = Field(
        default=None, description="Hold until then (quiet hours, rate limit)."
    )
    to_phone: str | None = PersonalData("Phone for SMS, E.164.", default=None)
    to_email: str | None = PersonalData("Email address.", default=None)
    to_wechat: str | None = PersonalData("WeChat open id.", default=None)
    to_qq: str | None = PersonalData("QQ open id.", default=None)
    requested_at: AwareDatetime


@REGISTRY.upcaster("notifications.notification_requested", from_version=1)
def _notification_requested_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    upcast = {key: value for key, value in payload.items() if key != "channel"}
    upcast["channels"] = [payload["channel"]]
    upcast["purpose"] = MessagePurpose.SERVICE.value
    return upcast


class CodeDelivery(BaseModel):
    """Where the one-time code of a ``one_time_code`` message is claimed, once, at send time
    (verification's ``code_delivery_requested``). A reference: the code itself is never here."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    verification_id: UUID
    delivery_id: UUID
    claim_path: str = Field(description="Path on the verification service to claim it at.")
    claim_before: AwareDatetime = Field(description="Not sent (failed) once this has passed.")


_SUBJECT_REF = r"^(account|organization):[^\s]{1,200}$"


@REGISTRY.event("notifications.notification_requested", version=3, topic=NOTIFICATIONS_MESSAGES)
class NotificationRequestedV3(EventPayload):
    """A message to a person was decided on. Its id is derived from (triggering event,
    recipient, kind), so a redelivered trigger never requests a second message. It is sent
    on the first channel of ``channels`` and falls back to the next ones after repeated
    failures. The addresses are personal data of ``subject_ref`` (a person's account, or an
    organization whose contact is addressed): encrypted with that subject's key, unreadable
    once it is erased. A ``one_time_code`` message names the ``code_delivery`` to claim its
    code from at send time; the code is in no event, and no template variable holds it.

    v3 over v2: ``subject_ref`` (whose personal data the addresses are, not only an account)
    and ``code_delivery``. v2 payloads upcast with ``subject_ref = account:<account_ref>``."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="NotificationRequested")
    data_subject = ("account", "account_ref")  # the default when subject_ref is absent

    notification_id: UUID
    kind: NotificationKindV3
    purpose: MessagePurpose = MessagePurpose.SERVICE
    channels: list[MessageChannel] = Field(
        min_length=1, description="Channels in the order to try them."
    )
    recipient_ref: str = Field(
        description="Who receives it: account:<ref>, ticket:<id>, callback:<id> or "
        "organization:<id>."
    )
    subject_ref: str | None = Field(
        default=None,
        pattern=_SUBJECT_REF,
        description="Data subject of the addresses: account:<ref> or organization:<id>.",
    )
    account_ref: Identifier | None = Field(
        default=None, description="Platform account whose person (or proxy) is addressed."
    )
    language: str = Field(description="BCP 47 tag the message is rendered in.")
    timezone: str | None = Field(default=None, description="IANA timezone for times shown.")
    triggered_by: UUID = Field(description="Event id of the triggering event.")
    variables: dict[str, str] = Field(default_factory=dict, description="Template variables.")
    campaign_id: UUID | None = None
    code_delivery: CodeDelivery | None = Field(
        default=None, description="one_time_code only: where its code is claimed."
    )
    not_before: AwareDatetime | None = Field(
        default=None, description="Hold until then (quiet hours, rate limit)."
    )
    to_phone: str | None = PersonalData("Phone for SMS, E.164.", default=None)
    to_email: str | None = PersonalData("Email address.", default=None)
    to_wechat: str | None = PersonalData("WeChat open id.", default=None)
    to_qq: str | None = PersonalData("QQ open id.", default=None)
    requested_at: AwareDatetime

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        subject = payload.get("subject_ref")
        if subject:
            return str(subject)
        return super().data_subject_of(payload)


@REGISTRY.event("notifications.notification_requested", version=4, topic=NOTIFICATIONS_MESSAGES)
class NotificationRequestedV4(EventPayload):
    """A message to a person was decided on. Its id is derived from (triggering event,
    recipient, kind), so a redelivered trigger never requests a second message. It is sent
    on the first channel of ``channels`` and falls back to the next ones after repeated
    failures. The addresses are personal data of ``subject_ref`` (a person's account, or an
    organization whose contact is addressed): encrypted with that subject's key, unreadable
    once it is erased. A ``one_time_code`` message names the ``code_delivery`` to claim its
    code from at send time; the code is in no event, and no template variable holds it.

    v3 over v2: ``subject_ref`` (whose personal data the addresses are, not only an account)
    and ``code_delivery``. v2 payloads upcast with ``subject_ref = account:<account_ref>``.
    v4 over v3: the kind ``queue_callback_requested`` (a phone caller's place is kept and they
    will be called back); v3 payloads are v4 payloads unchanged."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="NotificationRequested")
    data_subject = ("account", "account_ref")  # the default when subject_ref is absent

    notification_id: UUID
    kind: NotificationKindV4
    purpose: MessagePurpose = MessagePurpose.SERVICE
    channels: list[MessageChannel] = Field(
        min_length=1, description="Channels in the order to try them."
    )
    recipient_ref: str = Field(
        description="Who receives it: account:<ref>, ticket:<id>, callback:<id> or "
        "organization:<id>."
    )
    subject_ref: str | None = Field(
        default=None,
        pattern=_SUBJECT_REF,
        description="Data subject of the addresses: account:<ref> or organization:<id>.",
    )
    account_ref: Identifier | None = Field(
        default=None, description="Platform account whose person (or proxy) is addressed."
    )
    language: str = Field(description="BCP 47 tag the message is rendered in.")
    timezone: str | None = Field(default=None, description="IANA timezone for times shown.")
    triggered_by: UUID = Field(description="Event id of the triggering event.")
    variables: dict[str, str] = Field(default_factory=dict, description="Template variables.")
    campaign_id: UUID | None = None
    code_delivery: CodeDelivery | None = Field(
        default=None, description="one_time_code only: where its code is claimed."
    )
    not_before: AwareDatetime | None = Field(
        default=None, description="Hold until then (quiet hours, rate limit)."
    )
    to_phone: str | None = PersonalData("Phone for SMS, E.164.", default=None)
    to_email: str | None = PersonalData("Email address.", default=None)
    to_wechat: str | None = PersonalData("WeChat open id.", default=None)
    to_qq: str | None = PersonalData("QQ open id.", default=None)
    requested_at: AwareDatetime

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        subject = payload.get("subject_ref")
        if subject:
            return str(subject)
        return super().data_subject_of(payload)


@REGISTRY.event("notifications.notification_requested", version=5, topic=NOTIFICATIONS_MESSAGES)
class NotificationRequested(EventPayload):
    """A message to a person was decided on. Its id is derived from (triggering event,
    recipient, kind), so a redelivered trigger never requests a second message. It is sent
    on the first channel of ``channels`` and falls back to the next ones after repeated
    failures. The addresses and the template variables are personal data of the recipient
    (``subject_ref``: a person's account, or an organization whose contact is addressed; else
    the recipient itself, e.g. ``ticket:<id>``): encrypted with that subject's key,
    unreadable once it is erased. A ``one_time_code`` message names the ``code_delivery`` to
    claim its code from at send time; the code is in no event, and no template variable
    holds it.

    v3 over v2: ``subject_ref`` (whose personal data the addresses are, not only an account)
    and ``code_delivery``. v2 payloads upcast with ``subject_ref = account:<account_ref>``.
    v4 over v3: the kind ``queue_callback_requested``. v5 over v4: ``variables`` (which may
    hold a decision's explanation, a name, a campaign's text) is sealed as a whole under the
    recipient's key and reads as null once the recipient is erased (then the message is not
    sent); the kind ``appointment_reminder``. v4 payloads upcast unchanged: their variables
    stay as written."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="NotificationRequested")
    data_subject = ("account", "account_ref")  # declared; data_subject_of says whose it is

    notification_id: UUID
    kind: NotificationKind
    purpose: MessagePurpose = MessagePurpose.SERVICE
    channels: list[MessageChannel] = Field(
        min_length=1, description="Channels in the order to try them."
    )
    recipient_ref: str = Field(
        description="Who receives it: account:<ref>, ticket:<id>, callback:<id> or "
        "organization:<id>."
    )
    subject_ref: str | None = Field(
        default=None,
        pattern=_SUBJECT_REF,
        description="Data subject of the addresses and variables: account:<ref> or "
        "organization:<id> (absent: the recipient_ref's own key).",
    )
    account_ref: Identifier | None = Field(
        default=None, description="Platform account whose person (or proxy) is addressed."
    )
    language: str = Field(description="BCP 47 tag the message is rendered in.")
    timezone: str | None = Field(default=None, description="IANA timezone for times shown.")
    triggered_by: UUID = Field(description="Event id of the triggering event.")
    variables: dict[str, str] | None = PersonalData(
        "Template variables, sealed as a whole (null once the recipient is erased).",
        default=None,
    )
    campaign_id: UUID | None = None
    code_delivery: CodeDelivery | None = Field(
        default=None, description="one_time_code only: where its code is claimed."
    )
    not_before: AwareDatetime | None = Field(
        default=None, description="Hold until then (quiet hours, rate limit)."
    )
    to_phone: str | None = PersonalData("Phone for SMS, E.164.", default=None)
    to_email: str | None = PersonalData("Email address.", default=None)
    to_wechat: str | None = PersonalData("WeChat open id.", default=None)
    to_qq: str | None = PersonalData("QQ open id.", default=None)
    requested_at: AwareDatetime

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        """The subject named, else the recipient (``ticket:<id>``, ``callback:<id>``)."""
        subject = payload.get("subject_ref") or payload.get("recipient_ref")
        return str(subject) if subject else None


@REGISTRY.upcaster("notifications.notification_requested", from_version=2)
def _notification_requested_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    account = payload.get("account_ref")
    return {**payload, "subject_ref": f"account:{account}" if account else None}


@REGISTRY.upcaster("notifications.notification_requested", from_version=3)
def _notification_requested_v3_to_v4(payload: dict[str, Any]) -> dict[str, Any]:
    return dict(payload)  # v4 only adds a kind


@REGISTRY.upcaster("notifications.notification_requested", from_version=4)
def _notification_requested_v4_to_v5(payload: dict[str, Any]) -> dict[str, Any]:
    return dict(payload)  # same fields; the variables became personal (sealed) and erasable


@REGISTRY.event("notifications.notification_sent", version=1, topic=NOTIFICATIONS_MESSAGES)
class NotificationSent(EventPayload):
    """A provider accepted the message. ``idempotency_key`` is what the provider was given:
    asking again with it never sends a second message."""

    notification_id: UUID
    channel: MessageChannel
    provider: str
    provider_message_id: str
    idempotency_key: str
    attempt: int = Field(ge=1, description="Attempt on this channel that succeeded.")
    sent_at: AwareDatetime


@REGISTRY.event(
    "notifications.notification_attempt_failed", version=1, topic=NOTIFICATIONS_MESSAGES
)
class NotificationAttemptFailed(EventPayload):
    """A send attempt failed transiently; the next is due at ``retry_at`` (exponential
    backoff with jitter)."""

    notification_id: UUID
    channel: MessageChannel
    attempt: int = Field(ge=1)
    reason: str = Field(description="Error class and status, never the message or address.")
    retry_at: AwareDatetime
    failed_at: AwareDatetime


@REGISTRY.event("notifications.notification_failed", version=1, topic=NOTIFICATIONS_MESSAGES)
class NotificationFailed(EventPayload):
    """Sending on ``channel`` gave up (permanent error, or too many transient ones, or a
    failure receipt). With ``fallback_channel`` the message goes on there; without, it is
    finally failed."""

    notification_id: UUID
    channel: MessageChannel
    attempts: int = Field(ge=0)
    reason: str
    fallback_channel: MessageChannel | None = None
    failed_at: AwareDatetime


@REGISTRY.event("notifications.notification_delivered", version=1, topic=NOTIFICATIONS_MESSAGES)
class NotificationDelivered(EventPayload):
    """The provider's receipt says the message reached the person's device or mailbox."""

    notification_id: UUID
    channel: MessageChannel
    provider_message_id: str
    delivered_at: AwareDatetime


class WithdrawalReason(StrEnum):
    """Why a queued marketing message was withdrawn before it was sent."""

    CAMPAIGN_CANCELLED = "campaign_cancelled"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    COMPLAINT_OR_APPEAL = "complaint_or_appeal"
    NO_ALLOWED_HOURS = "no_allowed_hours"


@REGISTRY.event("notifications.notification_withdrawn", version=1, topic=NOTIFICATIONS_MESSAGES)
class NotificationWithdrawn(EventPayload):
    """A queued marketing message will never be sent: its campaign was cancelled, or, when
    its moment came, the person had withdrawn their consent on the channel, had an open
    complaint or appeal, or left no hour marketing may be sent in. Only a message not yet
    sent is withdrawn; a message already accepted by a provider stays sent."""

    notification_id: UUID
    campaign_id: UUID | None = None
    reason: WithdrawalReason
    withdrawn_at: AwareDatetime


# -- callbacks --------------------------------------------------------------------------------


class CallbackOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    ASKED_TO_CALL_LATER = "asked_to_call_later"


class CallbackActor(StrEnum):
    """Who changed a callback."""

    CUSTOMER = "customer"
    STAFF = "staff"
    RECIPIENT_ASKED = "recipient_asked"
    CASES = "cases"


@REGISTRY.event("notifications.callback_requested", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackAccepted(EventPayload):
    """Notifications took on a promised callback (from cases.callback_requested or from an
    agent), with the hours it may be made in."""

    data_subject = ("account", "account_ref")

    callback_id: UUID
    case_id: UUID | None = None
    account_ref: Identifier
    customer_id: str | None = Field(
        default=None, description="Signed-in customer who may see, reschedule or cancel it."
    )
    queue: ServiceQueue
    recipient_role: PersonRole
    recipient_ref: str = Field(description="account:<ref> for the holder, callback:<id> else.")
    phone: str | None = PersonalData("Number to call, E.164 (may be abroad).", default=None)
    timezone: str = Field(description="IANA timezone of the person called.")
    language: LanguagePreference
    window_start: AwareDatetime
    window_end: AwareDatetime = Field(description="Deadline: missed if not reached by then.")
    preferred_hours: HoursWindow
    quiet_hours: HoursWindow | None = None
    max_attempts: int = Field(ge=1, le=10)
    attempt_spacing_minutes: int = Field(ge=5, le=24 * 60)
    requested_by: CallbackActor
    requested_at: AwareDatetime
    ticket_id: UUID | None = Field(
        default=None,
        description="A phone caller's queue callback: the check-in ticket whose turn came "
        "(absent for the callbacks cases and agents promise).",
    )
    agent_id: str | None = Field(
        default=None,
        description="A queue callback: the agent the caller's contact was offered to.",
    )


@REGISTRY.event("notifications.queue_callback_requested", version=1, topic=NOTIFICATIONS_CALLBACKS)
class QueueCallbackRequested(EventPayload):
    """A phone caller waiting in a check-in queue asked to be called back instead of
    holding (checkin.ticket_callback_requested): their place is kept, they were told so, and
    the call is due when their contact is assigned to an agent (then ``callback_requested``
    and ``callback_scheduled`` follow on this stream). One per ticket: the callback id is
    derived from the ticket id."""

    data_subject = ("account", "account_ref")

    callback_id: UUID
    ticket_id: UUID
    ticket_number: str
    queue: ServiceQueue
    account_ref: Identifier
    customer_id: str | None = Field(
        default=None, description="Signed-in customer who owns the ticket, if any."
    )
    phone: str | None = PersonalData("Number to call back, E.164 (the intake's).", default=None)
    language: LanguagePreference
    expected_minutes: int | None = Field(
        default=None, ge=0, description="Check-in's latest estimate of the wait left, if any."
    )
    requested_at: AwareDatetime


@REGISTRY.event("notifications.callback_scheduled", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackScheduled(EventPayload):
    """The call is due at ``due_at``; the person was promised ``promised_start`` to
    ``promised_end`` (inside their preferred hours, never in their quiet hours)."""

    callback_id: UUID
    case_id: UUID | None = None
    queue: ServiceQueue
    due_at: AwareDatetime
    promised_start: AwareDatetime
    promised_end: AwareDatetime
    timezone: str
    within_window: bool = Field(
        description="False when no allowed moment was left inside the requested window."
    )
    scheduled_at: AwareDatetime


@REGISTRY.event("notifications.callback_rescheduled", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackRescheduled(EventPayload):
    """The call moved (the customer chose another time, or the person asked to be called
    later). ``window_end`` is the new deadline."""

    callback_id: UUID
    case_id: UUID | None = None
    queue: ServiceQueue
    due_at: AwareDatetime
    promised_start: AwareDatetime
    promised_end: AwareDatetime
    window_end: AwareDatetime
    by: CallbackActor
    rescheduled_at: AwareDatetime


@REGISTRY.event("notifications.callback_attempt_recorded", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackAttemptRecorded(EventPayload):
    """A specialist tried to call. ``next_attempt_at`` is when to try again, if at all."""

    callback_id: UUID
    case_id: UUID | None = None
    attempt: int = Field(ge=1)
    outcome: CallbackOutcome
    agent_id: str
    next_attempt_at: AwareDatetime | None = None
    recorded_at: AwareDatetime


@REGISTRY.event("notifications.callback_reminder_sent", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackReminderSent(EventPayload):
    """The queue was reminded that a call is due soon."""

    callback_id: UUID
    case_id: UUID | None = None
    queue: ServiceQueue
    due_at: AwareDatetime
    reminded_at: AwareDatetime


@REGISTRY.event(
    "notifications.callback_attempts_exhausted", version=1, topic=NOTIFICATIONS_CALLBACKS
)
class CallbackAttemptsExhausted(EventPayload):
    """No more automatic attempts (no answer every time, or a wrong number): the person is
    told on their next channel that we tried and how to reach us."""

    callback_id: UUID
    case_id: UUID | None = None
    attempts: int = Field(ge=1)
    last_outcome: CallbackOutcome
    exhausted_at: AwareDatetime


@REGISTRY.event("notifications.callback_completed", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackCompleted(EventPayload):
    """The promised callback reached the person."""

    callback_id: UUID
    case_id: UUID | None = None
    attempts: int = Field(ge=1)
    completed_at: AwareDatetime


@REGISTRY.event("notifications.callback_missed", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackMissed(EventPayload):
    """The callback window ended without reaching the person: cases escalates the case."""

    callback_id: UUID
    case_id: UUID | None = None
    attempts: int = Field(ge=0)
    missed_at: AwareDatetime


@REGISTRY.event("notifications.callback_cancelled", version=1, topic=NOTIFICATIONS_CALLBACKS)
class CallbackCancelled(EventPayload):
    """The callback will not be made (the customer or staff cancelled it)."""

    data_subject = ("account", "account_ref")

    callback_id: UUID
    case_id: UUID | None = None
    by: CallbackActor
    reason: FreeText200 | None = PersonalData(
        "Why the callback was cancelled (free text).", default=None
    )
    cancelled_at: AwareDatetime
    account_ref: Identifier | None = Field(
        default=None, description="The callback's account: whose key seals the reason."
    )

    @classmethod
    def data_subject_of(cls, payload: dict[str, Any]) -> str | None:
        return subject_or_fallback(payload, "account_ref", "callback", "callback_id")


# -- recipients -------------------------------------------------------------------------------


@REGISTRY.event(
    "notifications.recipient_preferences_set", version=1, topic=NOTIFICATIONS_RECIPIENTS
)
class RecipientPreferencesSet(EventPayload):
    """A person's message preferences, as a whole (each change restates all of them, so the
    history is an audit trail of consent). A marketing opt-out never blocks messages about
    their own case or a one-time code."""

    data_subject = ("account", "account_ref")

    account_ref: Identifier
    channels: list[MessageChannel] = Field(description="Preferred channels, in order.")
    language: str | None = Field(default=None, description="BCP 47 tag.")
    timezone: str | None = Field(default=None, description="IANA timezone.")
    preferred_hours: HoursWindow | None = None
    quiet_hours: HoursWindow | None = None
    marketing_consent: list[MessageChannel] = Field(
        default_factory=list, description="Channels the person agreed to receive marketing on."
    )
    phone: str | None = PersonalData("Phone, E.164.", default=None)
    email: str | None = PersonalData("Email address.", default=None)
    wechat: str | None = PersonalData("WeChat open id.", default=None)
    qq: str | None = PersonalData("QQ open id.", default=None)
    set_by: str = Field(
        description="Who set them: the customer, staff on their behalf, or inbound:<channel> "
        "(the person replied an opt-out keyword to a message)."
    )
    reason: str | None = Field(
        default=None,
        max_length=200,
        description="Why they changed, when the service changed them itself, e.g. "
        "'inbound opt-out reply on sms' (never the reply's text or the address).",
    )
    set_at: AwareDatetime
