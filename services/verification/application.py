"""Verification use cases: load, decide, append — each inside the caller's transaction, with
the timers and the write-side rows (digests, sealed media) committed in that same transaction.

I/O with the outside world (the account platform's facts, the identity provider, the bank)
happens here, never in the domain; the domain gets the verdicts.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from contracts import Actor
from contracts.base import EventPayload
from contracts.events.verification import VerificationCompleted
from contracts.events.verification_media import MediaKind, MediaOwner, MediaStored
from contracts.events.verification_organizations import DepositsSent
from contracts.events.verification_sessions import (
    CodeChannel,
    LockedOut,
    OwnershipItem,
)
from runtime.errors import NotFound, RuleViolation
from runtime.eventstore import AggregateType, CommandContext, EventStore, execute
from runtime.scheduler import Timer, cancel, schedule
from services.verification.adapters.facts import AccountFacts
from services.verification.adapters.identity_provider import ProviderResult
from services.verification.digests import digest, matches, normalize_answer
from services.verification.domain.media import MEDIA, Media, decide_purge
from services.verification.domain.organizations import (
    ORGANIZATION,
    ConfirmDeposits,
    ExpireDeposits,
    Organization,
    OrganizationCommand,
    SendDeposits,
    decide_organization,
)
from services.verification.domain.plans import CHECK_NAMES, Check
from services.verification.domain.sessions import (
    SESSION,
    AssessOwnership,
    BeginCheck,
    CheckCode,
    Command,
    EndCooldown,
    Expire,
    IssueCode,
    RecordAttempt,
    RecordCodeDeliveryFailure,
    RecordCodeDeliveryProgress,
    RequestCode,
    Session,
    SessionStatus,
    StartSession,
    decide,
)
from services.verification.knowledge import Question, answer_context, build_challenge
from services.verification.wiring import Adapters

S = TypeVar("S")

EXPIRY_TIMER = "verification-expiry"
COOLDOWN_TIMER = "verification-cooldown"
DEPOSITS_TIMER = "deposits-expiry"
MEDIA_PURGE_TIMER = "media-purge"
SYSTEM = Actor(id="verification", role="system")


def session_stream(verification_id: UUID) -> str:
    return f"verification-{verification_id}"


def organization_stream(organization_id: UUID) -> str:
    return f"organization-{organization_id}"


def media_stream(media_id: UUID) -> str:
    return f"media-{media_id}"


async def _run(
    conn: asyncpg.Connection,
    store: EventStore,
    aggregate: AggregateType[S],
    stream_id: str,
    decide_fn: Callable[[S], Sequence[EventPayload]],
    context: CommandContext,
) -> tuple[S, list[EventPayload]]:
    captured: list[EventPayload] = []

    def capture(state: S) -> Sequence[EventPayload]:
        events = list(decide_fn(state))
        captured.extend(events)
        return events

    state, _ = await execute(conn, store, aggregate, stream_id, capture, context)
    return state, captured


# -- sessions ---------------------------------------------------------------------------------


async def load_session(
    conn: asyncpg.Connection, store: EventStore, verification_id: UUID
) -> Session:
    history = await store.load(conn, session_stream(verification_id))
    return SESSION.fold([event.payload for event in history])


async def account_cooldown_until(
    conn: asyncpg.Connection, account_ref: str, now: datetime
) -> datetime | None:
    """The end of the account's current cool-down after a lockout, from the event store."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        """SELECT max((e.envelope -> 'payload' ->> 'cooldown_until')::timestamptz)
           FROM events e
           WHERE e.event_type = 'verification.locked_out'
             AND e.envelope -> 'payload' ->> 'account_ref' = $1
             AND (e.envelope -> 'payload' ->> 'cooldown_until')::timestamptz > $2
             AND NOT EXISTS (SELECT 1 FROM events c WHERE c.stream_id = e.stream_id
                             AND c.event_type = 'verification.cooldown_ended')""",
        account_ref,
        now,
    )


async def change_session(
    conn: asyncpg.Connection,
    store: EventStore,
    verification_id: UUID,
    command: Command | Callable[[Session], Command],
    context: CommandContext,
) -> tuple[Session, list[EventPayload]]:
    """Decide one command on the session and append; schedule or cancel its timers."""

    def decide_fn(state: Session) -> list[EventPayload]:
        return decide(state, command(state) if callable(command) else command)

    state, events = await _run(
        conn, store, SESSION, session_stream(verification_id), decide_fn, context
    )
    await _session_effects(conn, verification_id, state, events, context)
    return state, events


async def start_session(
    conn: asyncpg.Connection, store: EventStore, command: StartSession, context: CommandContext
) -> tuple[Session, list[EventPayload]]:
    cooldown = await account_cooldown_until(conn, command.account_ref, command.at)
    command = StartSession(**{**command.__dict__, "account_cooldown_until": cooldown})
    return await change_session(conn, store, command.verification_id, command, context)


async def _session_effects(
    conn: asyncpg.Connection,
    verification_id: UUID,
    state: Session,
    events: list[EventPayload],
    context: CommandContext,
) -> None:
    payload = {
        "verification_id": str(verification_id),
        "correlation_id": str(context.correlation_id),
    }
    for event in events:
        if (
            event.event_type == "verification.session_started"
            and state.status is SessionStatus.OPEN
        ):
            assert state.expires_at is not None
            await schedule(
                conn, f"{EXPIRY_TIMER}:{verification_id}", EXPIRY_TIMER, state.expires_at, payload
            )
        elif isinstance(event, LockedOut):
            await schedule(
                conn,
                f"{COOLDOWN_TIMER}:{verification_id}",
                COOLDOWN_TIMER,
                event.cooldown_until,
                payload,
            )
        elif isinstance(event, VerificationCompleted):
            await cancel(conn, f"{EXPIRY_TIMER}:{verification_id}")
            await forget_session_secrets(conn, verification_id)


async def forget_session_secrets(conn: asyncpg.Connection, verification_id: UUID) -> None:
    """A finished session keeps no questions (they quote account facts) nor code digests."""
    await conn.execute(
        "DELETE FROM knowledge_questions WHERE verification_id = $1", verification_id
    )
    await conn.execute("DELETE FROM code_deliveries WHERE verification_id = $1", verification_id)


def _timer_context(timer: Timer) -> CommandContext:
    correlation = timer.payload.get("correlation_id")
    return CommandContext(
        actor=SYSTEM, correlation_id=UUID(correlation) if correlation else uuid.uuid4()
    )


async def on_expiry_timer(
    store: EventStore, conn: asyncpg.Connection, timer: Timer, now: datetime
) -> None:
    verification_id = UUID(timer.payload["verification_id"])
    await change_session(conn, store, verification_id, Expire(at=now), _timer_context(timer))


async def on_cooldown_timer(
    store: EventStore, conn: asyncpg.Connection, timer: Timer, now: datetime
) -> None:
    verification_id = UUID(timer.payload["verification_id"])
    await change_session(conn, store, verification_id, EndCooldown(at=now), _timer_context(timer))


# -- knowledge challenge ----------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerVerdict:
    correct: bool
    correct_answers: int
    required: int
    unanswered: int
    challenge_exhausted: bool
    session: Session


async def issue_knowledge_challenge(
    conn: asyncpg.Connection,
    store: EventStore,
    adapters: Adapters,
    verification_id: UUID,
    facts: AccountFacts,
    now: datetime,
    context: CommandContext,
) -> list[Question]:
    settings = adapters.settings
    latest = await conn.fetchrow(
        """SELECT challenge_no, count(*) FILTER (WHERE answered_at IS NULL) AS open,
                  count(*) FILTER (WHERE correct) AS right_answers, count(*) AS total
           FROM knowledge_questions WHERE verification_id = $1
           GROUP BY challenge_no ORDER BY challenge_no DESC LIMIT 1""",
        verification_id,
    )
    if latest is not None:
        reachable = latest["right_answers"] + latest["open"] >= settings.knowledge_required_correct
        if latest["open"] and reachable:
            raise RuleViolation("answer the questions already asked first")
    challenge_no = (latest["challenge_no"] + 1) if latest else 1
    questions = await build_challenge(
        facts, adapters.facts, adapters.digest_key, settings.knowledge_questions
    )
    if len(questions) < settings.knowledge_required_correct:
        raise RuleViolation(
            "the platform holds too few facts about this account for a knowledge challenge; "
            "ask a reviewer to decide"
        )
    detail = (
        f"challenge {challenge_no}: {len(questions)} questions ("
        + ", ".join(q.kind for q in questions)
        + f"), {settings.knowledge_required_correct} right answers needed"
    )
    await change_session(
        conn, store, verification_id, BeginCheck(Check.KNOWLEDGE_CHALLENGE, detail, now), context
    )
    for position, question in enumerate(questions):
        await conn.execute(
            """INSERT INTO knowledge_questions (question_id, verification_id, challenge_no,
                   position, kind, prompt, options, answer_digest)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            question.question_id,
            verification_id,
            challenge_no,
            position,
            question.kind,
            question.prompt,
            question.options,
            question.answer_digest,
        )
    return questions


async def answer_question(
    conn: asyncpg.Connection,
    store: EventStore,
    adapters: Adapters,
    verification_id: UUID,
    question_id: UUID,
    answer: str,
    now: datetime,
    context: CommandContext,
) -> AnswerVerdict:
    row = await conn.fetchrow(
        """SELECT q.kind, q.answer_digest, q.answered_at, q.challenge_no,
                  (SELECT max(challenge_no) FROM knowledge_questions
                   WHERE verification_id = q.verification_id) AS latest
           FROM knowledge_questions q WHERE q.question_id = $1 AND q.verification_id = $2
           FOR UPDATE""",
        question_id,
        verification_id,
    )
    if row is None:
        raise NotFound("no such question in this session")
    if row["answered_at"] is not None:
        raise RuleViolation("this question was already answered")
    if row["challenge_no"] != row["latest"]:
        raise RuleViolation("this question belongs to an earlier challenge")
    session = await load_session(conn, store, verification_id)
    account_ref = session.account_ref or ""
    if row["kind"] == "past_password":
        correct = await adapters.facts.verify_past_password(account_ref, answer)
    else:
        correct = matches(
            adapters.digest_key,
            answer_context(question_id),
            normalize_answer(answer),
            row["answer_digest"],
        )
    await conn.execute(
        "UPDATE knowledge_questions SET answered_at = $2, correct = $3 WHERE question_id = $1",
        question_id,
        now,
        correct,
    )
    counts = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE correct) AS right_answers,
                  count(*) FILTER (WHERE answered_at IS NULL) AS open, count(*) AS total
           FROM knowledge_questions WHERE verification_id = $1 AND challenge_no = $2""",
        verification_id,
        row["challenge_no"],
    )
    required = adapters.settings.knowledge_required_correct
    right, total = counts["right_answers"], counts["total"]
    if correct and right >= required:
        reason = f"{right} of {total} questions about the account answered correctly"
        session, _ = await change_session(
            conn,
            store,
            verification_id,
            RecordAttempt(Check.KNOWLEDGE_CHALLENGE, True, reason, now),
            context,
        )
    elif not correct:
        topic = {
            "phone_last4": "the registered phone",
            "friend": "the friend list",
            "login_city": "past log-ins",
            "past_password": "a past password",
        }[row["kind"]]
        reason = f"a wrong answer to a question about {topic}"
        session, _ = await change_session(
            conn,
            store,
            verification_id,
            RecordAttempt(Check.KNOWLEDGE_CHALLENGE, False, reason, now),
            context,
        )
    else:
        session = await load_session(conn, store, verification_id)
        if session.status is not SessionStatus.OPEN:
            raise RuleViolation(f"the verification session is {session.status.value}")
    return AnswerVerdict(
        correct=correct,
        correct_answers=right,
        required=required,
        unanswered=counts["open"],
        challenge_exhausted=right + counts["open"] < required,
        session=session,
    )


# -- ownership evidence (dead phone) ----------------------------------------------------------


@dataclass(frozen=True)
class OwnershipClaim:
    device: str | None
    login_cities: tuple[str, ...]
    card_last4: str | None
    amount_cents: int | None
    vouching_contacts: tuple[str, ...]
    evidence_refs: tuple[UUID, ...]


async def earlier_verified_session(
    conn: asyncpg.Connection, account_ref: str, verification_id: UUID, since: datetime
) -> bool:
    found = await conn.fetchval(
        """SELECT 1 FROM events
           WHERE event_type = 'verification.verification_completed'
             AND envelope -> 'payload' ->> 'account_ref' = $1
             AND envelope -> 'payload' ->> 'outcome' = 'verified'
             AND envelope -> 'payload' ->> 'person_role' = 'holder'
             AND stream_id <> $2 AND occurred_at >= $3
           LIMIT 1""",
        account_ref,
        session_stream(verification_id),
        since,
    )
    return bool(found)


def score_ownership(
    facts: AccountFacts, claim: OwnershipClaim, earlier_session: bool
) -> list[OwnershipItem]:
    """Each alternative proof, its points and why — without quoting the facts themselves."""
    items = []
    device_ok = claim.device is not None and claim.device.casefold() in {
        d.casefold() for d in facts.devices
    }
    items.append(
        OwnershipItem(
            kind="past_device",
            points=30 if device_ok else 0,
            explanation="the device named was used on the account before"
            if device_ok
            else (
                "the device named was not seen on the account"
                if claim.device
                else "no device named"
            ),
        )
    )
    known = {c.casefold() for c in facts.login_cities}
    cities = {c.casefold() for c in claim.login_cities} & known
    items.append(
        OwnershipItem(
            kind="past_login_cities",
            points=20 if len(cities) >= 2 else 10 if cities else 0,
            explanation=(
                f"{len(cities)} of {len(claim.login_cities)} cities named match past log-ins"
            ),
        )
    )
    payment_ok = any(
        p.card_last4 == claim.card_last4 and p.amount_cents == claim.amount_cents
        for p in facts.payments
    )
    items.append(
        OwnershipItem(
            kind="payment_record",
            points=30 if payment_ok else 0,
            explanation="a payment named (card and amount) matches the account's records"
            if payment_ok
            else ("no payment record matches" if claim.card_last4 else "no payment named"),
        )
    )
    vouchers = {v.casefold() for v in facts.vouching_contacts}
    vouched = len({c.casefold() for c in claim.vouching_contacts} & vouchers)
    items.append(
        OwnershipItem(
            kind="vouching_contacts",
            points=min(20, 10 * vouched),
            explanation=f"{vouched} contact(s) from the friend list vouched for the holder",
        )
    )
    items.append(
        OwnershipItem(
            kind="earlier_verified_session",
            points=25 if earlier_session else 0,
            explanation="the holder was verified in an earlier session within a year"
            if earlier_session
            else "no earlier verified session within a year",
        )
    )
    return items


async def assess_ownership(
    conn: asyncpg.Connection,
    store: EventStore,
    adapters: Adapters,
    verification_id: UUID,
    facts: AccountFacts,
    claim: OwnershipClaim,
    now: datetime,
    context: CommandContext,
) -> Session:
    session = await load_session(conn, store, verification_id)
    earlier = await earlier_verified_session(
        conn, facts.account_ref, verification_id, now - timedelta(days=365)
    )
    items = tuple(score_ownership(facts, claim, earlier))
    command = AssessOwnership(
        items, adapters.settings.ownership_threshold, claim.evidence_refs, now
    )
    session, _ = await change_session(conn, store, verification_id, command, context)
    return session


# -- possession code --------------------------------------------------------------------------


def channel_destination(facts: AccountFacts, channel: CodeChannel) -> str | None:
    if channel is CodeChannel.SMS:
        return facts.registered_phone if facts.phone_verified else None
    return facts.registered_email if facts.email_verified else None


async def request_code(
    conn: asyncpg.Connection,
    store: EventStore,
    adapters: Adapters,
    verification_id: UUID,
    facts: AccountFacts,
    channel: CodeChannel,
    language: str,
    now: datetime,
    context: CommandContext,
) -> tuple[Session, UUID]:
    if channel_destination(facts, channel) is None:
        raise RuleViolation(f"the account has no verified {channel.value} channel")
    delivery_id = uuid.uuid4()
    claim_before = now + timedelta(seconds=adapters.settings.code_claim_seconds)
    command = RequestCode(
        delivery_id=delivery_id,
        channel=channel,
        language=language,
        claim_path=f"/internal/code-deliveries/{delivery_id}/claim",
        claim_before=claim_before,
        at=now,
    )
    session, _ = await change_session(conn, store, verification_id, command, context)
    await conn.execute(
        """INSERT INTO code_deliveries (delivery_id, verification_id, account_ref, channel,
               language, requested_at, claim_before)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        delivery_id,
        verification_id,
        facts.account_ref,
        channel.value,
        language,
        now,
        claim_before,
    )
    return session, delivery_id


@dataclass(frozen=True)
class ClaimedCode:
    code: str
    channel: CodeChannel
    destination: str
    language: str
    expires_at: datetime


def code_context(delivery_id: UUID) -> str:
    return f"code|{delivery_id}"


async def claim_code(
    conn: asyncpg.Connection,
    store: EventStore,
    adapters: Adapters,
    delivery_id: UUID,
    claimant: str,
    now: datetime,
    context: CommandContext,
) -> ClaimedCode:
    row = await conn.fetchrow(
        "SELECT verification_id, account_ref, channel, language FROM code_deliveries "
        "WHERE delivery_id = $1 FOR UPDATE",
        delivery_id,
    )
    if row is None:
        raise NotFound("no such code delivery")
    valid_for = timedelta(seconds=adapters.settings.code_valid_seconds)
    command = IssueCode(delivery_id=delivery_id, claimed_by=claimant, valid_for=valid_for, at=now)
    await change_session(conn, store, row["verification_id"], command, context)
    facts = await adapters.facts.facts(row["account_ref"])
    channel = CodeChannel(row["channel"])
    destination = channel_destination(facts, channel) if facts else None
    if destination is None:
        raise RuleViolation(f"the account has no verified {channel.value} channel any more")
    code = f"{secrets.randbelow(10**6):06d}"
    await conn.execute(
        """UPDATE code_deliveries SET claimed_by = $2, claimed_at = $3, expires_at = $4,
               code_digest = $5 WHERE delivery_id = $1""",
        delivery_id,
        claimant,
        now,
        now + valid_for,
        digest(adapters.digest_key, code_context(delivery_id), code),
    )
    return ClaimedCode(code, channel, destination, row["language"], now + valid_for)


async def verify_code(
    conn: asyncpg.Connection,
    store: EventStore,
    adapters: Adapters,
    verification_id: UUID,
    code: str,
    now: datetime,
    context: CommandContext,
) -> Session:
    row = await conn.fetchrow(
        """SELECT delivery_id, code_digest FROM code_deliveries WHERE verification_id = $1
           ORDER BY requested_at DESC LIMIT 1 FOR UPDATE""",
        verification_id,
    )
    if row is None:
        raise RuleViolation("no code has been sent yet")
    delivery_id = row["delivery_id"]
    ok = matches(adapters.digest_key, code_context(delivery_id), code, row["code_digest"])
    session, _ = await change_session(
        conn,
        store,
        verification_id,
        CheckCode(delivery_id=delivery_id, matches=ok, at=now),
        context,
    )
    return session


# -- what became of a code's message (the notifications service's outcome) ---------------------


async def remember_code_message(
    conn: asyncpg.Connection,
    notification_id: UUID,
    verification_id: UUID,
    delivery_id: UUID,
    requested_at: datetime,
) -> None:
    """The notifications service's message ``notification_id`` carries this delivery's code
    (its ``notification_requested`` named the delivery): later reports name only the message."""
    await conn.execute(
        """INSERT INTO code_delivery_messages (notification_id, verification_id, delivery_id,
               requested_at) VALUES ($1, $2, $3, $4) ON CONFLICT (notification_id) DO NOTHING""",
        notification_id,
        verification_id,
        delivery_id,
        requested_at,
    )


async def report_code_message(
    conn: asyncpg.Connection,
    store: EventStore,
    notification_id: UUID,
    command: Callable[[UUID], RecordCodeDeliveryFailure | RecordCodeDeliveryProgress],
    context: CommandContext,
) -> list[EventPayload]:
    """Record on its session what became of a code's message (nothing for a message that
    carries no code of ours). ``command`` is given the delivery id."""
    row = await conn.fetchrow(
        "SELECT verification_id, delivery_id FROM code_delivery_messages "
        "WHERE notification_id = $1",
        notification_id,
    )
    if row is None:
        return []
    _, events = await change_session(
        conn, store, row["verification_id"], command(row["delivery_id"]), context
    )
    return events


# -- document and face liveness ---------------------------------------------------------------


async def begin_identity_check(
    conn: asyncpg.Connection,
    store: EventStore,
    verification_id: UUID,
    provider: str,
    provider_session_ref: str,
    now: datetime,
    context: CommandContext,
) -> Session:
    command = BeginCheck(
        Check.DOCUMENT_AND_LIVENESS,
        "identity-provider session opened: the person completes it at the provider",
        now,
        provider=provider,
        provider_session_ref=provider_session_ref,
    )
    session, _ = await change_session(conn, store, verification_id, command, context)
    return session


async def record_provider_result(
    conn: asyncpg.Connection,
    store: EventStore,
    provider: str,
    result: ProviderResult,
    now: datetime,
) -> str:
    """Apply an authentic webhook once. Returns applied | duplicate | ignored: <why>."""
    inserted = await conn.fetchval(
        """INSERT INTO provider_deliveries (delivery_id, provider, received_at, outcome)
           VALUES ($1, $2, $3, 'received') ON CONFLICT (delivery_id) DO NOTHING RETURNING 1""",
        result.delivery_id,
        provider,
        now,
    )
    if not inserted:
        return "duplicate"
    try:
        verification_id = UUID(result.reference)
    except ValueError:
        outcome = "ignored: the reference is not a verification session"
    else:
        context = CommandContext(
            actor=Actor(id=provider, role="service"), correlation_id=uuid.uuid4()
        )
        reason = f"{provider}: {result.explanation()}"
        command = RecordAttempt(
            Check.DOCUMENT_AND_LIVENESS, result.approved, reason, now, result.provider_session_ref
        )
        try:
            async with conn.transaction():  # a refused result leaves the delivery recorded
                await change_session(conn, store, verification_id, command, context)
            outcome = "applied"
        except (RuleViolation, NotFound) as refused:
            outcome = f"ignored: {refused.detail}"
    await conn.execute(
        "UPDATE provider_deliveries SET outcome = $2 WHERE delivery_id = $1",
        result.delivery_id,
        outcome[:300],
    )
    return outcome


# -- media ------------------------------------------------------------------------------------


async def store_media(
    conn: asyncpg.Connection,
    store: EventStore,
    adapters: Adapters,
    *,
    owner_type: MediaOwner,
    owner_id: UUID,
    kind: MediaKind,
    content_type: str,
    data: bytes,
    now: datetime,
    context: CommandContext,
) -> MediaStored:
    media_id = uuid.uuid4()
    retain_until = now + timedelta(days=adapters.settings.media_retention_days)
    stored = MediaStored(
        media_id=media_id,
        kind=kind,
        owner_type=owner_type,
        owner_id=owner_id,
        content_type=content_type,
        size_bytes=len(data),
        sha256=adapters.vault.sha256(data),
        retain_until=retain_until,
        stored_at=now,
    )

    def decide_store(media: Media) -> list[EventPayload]:
        return [stored]

    await _run(conn, store, MEDIA, media_stream(media_id), decide_store, context)
    await conn.execute(
        """INSERT INTO media_objects (media_id, owner_type, owner_id, kind, content_type, sealed,
               sha256, size_bytes, retain_until, stored_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        media_id,
        owner_type.value,
        owner_id,
        kind.value,
        content_type,
        adapters.vault.seal(media_id, data),
        stored.sha256,
        len(data),
        retain_until,
        now,
    )
    await schedule(
        conn,
        f"{MEDIA_PURGE_TIMER}:{media_id}",
        MEDIA_PURGE_TIMER,
        retain_until,
        {"media_id": str(media_id), "correlation_id": str(context.correlation_id)},
    )
    return stored


async def media_owned_by(
    conn: asyncpg.Connection, media_ids: Sequence[UUID], owner_id: UUID
) -> None:
    found = await conn.fetchval(
        "SELECT count(*) FROM media_objects WHERE media_id = ANY($1::uuid[]) AND owner_id = $2 "
        "AND purged_at IS NULL",
        list(media_ids),
        owner_id,
    )
    if found != len(set(media_ids)):
        raise RuleViolation("every evidence reference must be media uploaded for this case")


async def on_media_purge_timer(
    store: EventStore, conn: asyncpg.Connection, timer: Timer, now: datetime
) -> None:
    media_id = UUID(timer.payload["media_id"])
    _, events = await _run(
        conn,
        store,
        MEDIA,
        media_stream(media_id),
        lambda media: decide_purge(media, now),
        _timer_context(timer),
    )
    if events:
        await conn.execute(
            "UPDATE media_objects SET sealed = NULL, purged_at = $2 WHERE media_id = $1",
            media_id,
            now,
        )


# -- organizations ----------------------------------------------------------------------------


async def load_organization(
    conn: asyncpg.Connection, store: EventStore, organization_id: UUID
) -> Organization:
    history = await store.load(conn, organization_stream(organization_id))
    return ORGANIZATION.fold([event.payload for event in history])


async def change_organization(
    conn: asyncpg.Connection,
    store: EventStore,
    organization_id: UUID,
    command: OrganizationCommand,
    context: CommandContext,
) -> tuple[Organization, list[EventPayload]]:
    state, events = await _run(
        conn,
        store,
        ORGANIZATION,
        organization_stream(organization_id),
        lambda org: decide_organization(org, command),
        context,
    )
    for event in events:
        if isinstance(event, DepositsSent):
            await schedule(
                conn,
                f"{DEPOSITS_TIMER}:{organization_id}",
                DEPOSITS_TIMER,
                event.expires_at,
                {
                    "organization_id": str(organization_id),
                    "correlation_id": str(context.correlation_id),
                },
            )
        elif event.event_type in (
            "verification.deposits_confirmed",
            "verification.organization_rejected",
            "verification.organization_verified",
        ):
            await cancel(conn, f"{DEPOSITS_TIMER}:{organization_id}")
    return state, events


async def verified_domains_elsewhere(
    conn: asyncpg.Connection, organization_id: UUID
) -> tuple[str, ...]:
    rows = await conn.fetch(
        "SELECT domain FROM verified_domains WHERE organization_id <> $1 ORDER BY domain",
        organization_id,
    )
    return tuple(row["domain"] for row in rows)


def deposits_context(organization_id: UUID, round_no: int) -> str:
    return f"deposits|{organization_id}|{round_no}"


def amounts_secret(amounts: Sequence[int]) -> str:
    return ",".join(str(a) for a in sorted(amounts))


async def send_deposits(
    conn: asyncpg.Connection,
    store: EventStore,
    adapters: Adapters,
    organization_id: UUID,
    now: datetime,
    context: CommandContext,
) -> Organization:
    organization = await load_organization(conn, store, organization_id)
    # refuse before moving money when the state does not allow it
    expires_at = now + timedelta(days=adapters.settings.deposit_expiry_days)
    decide_organization(
        organization, SendDeposits((), adapters.settings.deposit_max_attempts, expires_at, now)
    )
    first = 1 + secrets.randbelow(99)
    second = 1 + secrets.randbelow(98)
    second = second + 1 if second >= first else second  # two different amounts, 0.01-0.99
    if organization.bank_account_number is None or organization.bank_name is None:
        raise RuleViolation("the registered bank account is no longer on record")
    refs = await adapters.bank.send_micro_deposits(
        account_number=organization.bank_account_number,
        bank_name=organization.bank_name,
        amounts_cents=(first, second),
        reference=f"Frontdesk verification {str(organization_id)[:8]}",
        at=now,
    )
    command = SendDeposits(tuple(refs), adapters.settings.deposit_max_attempts, expires_at, now)
    organization, _ = await change_organization(conn, store, organization_id, command, context)
    await conn.execute(
        "INSERT INTO deposit_secrets (organization_id, round, amounts_digest) VALUES ($1, $2, $3)",
        organization_id,
        organization.deposit_rounds,
        digest(
            adapters.digest_key,
            deposits_context(organization_id, organization.deposit_rounds),
            amounts_secret((first, second)),
        ),
    )
    return organization


async def confirm_deposits(
    conn: asyncpg.Connection,
    store: EventStore,
    adapters: Adapters,
    organization_id: UUID,
    amounts_cents: tuple[int, int],
    now: datetime,
    context: CommandContext,
) -> tuple[Organization, list[EventPayload]]:
    organization = await load_organization(conn, store, organization_id)
    stored = await conn.fetchval(
        "SELECT amounts_digest FROM deposit_secrets WHERE organization_id = $1 AND round = $2",
        organization_id,
        organization.deposit_rounds,
    )
    ok = matches(
        adapters.digest_key,
        deposits_context(organization_id, organization.deposit_rounds),
        amounts_secret(amounts_cents),
        stored,
    )
    return await change_organization(
        conn, store, organization_id, ConfirmDeposits(matches=ok, at=now), context
    )


async def on_deposits_timer(
    store: EventStore, conn: asyncpg.Connection, timer: Timer, now: datetime
) -> None:
    organization_id = UUID(timer.payload["organization_id"])
    await change_organization(
        conn, store, organization_id, ExpireDeposits(at=now), _timer_context(timer)
    )


def timer_handlers(store: EventStore) -> dict[str, Any]:
    async def expiry(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await on_expiry_timer(store, conn, timer, now)

    async def cooldown(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await on_cooldown_timer(store, conn, timer, now)

    async def deposits(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await on_deposits_timer(store, conn, timer, now)

    async def purge(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await on_media_purge_timer(store, conn, timer, now)

    return {
        EXPIRY_TIMER: expiry,
        COOLDOWN_TIMER: cooldown,
        DEPOSITS_TIMER: deposits,
        MEDIA_PURGE_TIMER: purge,
    }


def check_name(check: Check) -> str:
    return CHECK_NAMES[check]
