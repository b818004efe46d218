"""A busy day at a service center, simulated minute by minute.

**How it runs, and why.** The check-in domain, its use cases (``services.checkin.application``:
the same code the HTTP API calls, with the command-side indexes) and its projections
(``services.checkin.projections.apply_event``) run in-process against a real PostgreSQL
database of their own, with a ``ManualClock``. Kafka is left out on purpose: a day of 500+
tickets is ~5 000 events, and the minute-by-minute simulation must see its own effects at
once (an agent calls next the moment the previous visitor leaves). Going through the relay,
the broker and the consumers, each simulated minute would have to wait for the projections
to catch up, which would take minutes of wall time instead of seconds. The Kafka path of
the same handlers is covered by the other integration tests of this folder (and the rebuild
test); here the reaction ``checkin.waiting`` is played by calling ``application.waiting.reestimate``
for every queue that moved during a minute, exactly what the consumer does per event.

**The day.** Site ``sim-shenzhen`` (Asia/Shanghai, 09:00-19:00), 3 queues (account &
security, wallet & payments, general), 6 agents with different queues, languages (Mandarin,
Cantonese, English) and specialist skills, each taking a 15-minute break. 520 visitors
arrive from 09:00 over about 8 hours (75% Mandarin, 17% Cantonese, 8% English): walk-ins,
8% with an appointment (booked the day before in 30-minute slots of 3 places; a full slot
makes them walk-ins) checking in within its window, 10% with accessibility needs. 4% do not
come when called (recalled twice, then a no-show), 10% give up after 20-60 minutes (left), 2% step
away for 10 minutes (parked, returned), 5% of those served are transferred (a third of
them to a specialist).

**The bounds, derived from the routing policy** (``services.checkin.domain.routing``):

1. Ordering: with a head start capped at H = 45 min and relaxation penalties of at most
   P = 20 min, an agent prefers ticket U over an eligible T only if U's effective wait is
   larger, i.e. ``arrival(U) < arrival(T) + H + P``. So among tickets with the same needs
   (queue, language/dialect, specialist skill), *no ticket is called after one that arrived
   more than B = H + P = 65 min later* (``starvation_bound()``).
2. Absolute, per ticket T: while T waits, each of its k_T exactly-matching agents calls only
   tickets that arrived before ``arrival(T) + B`` — at most the L_T tickets active when T
   arrived plus the N_T arriving in the next B minutes, each called at most twice (one
   transfer). Each such call occupies an agent for at most S = 15 min of service plus 3 min of
   recalls. One agent may be on a 15-minute break. Hence
   ``wait(T) <= 2 (L_T + N_T) (S + 3) / max(1, k_T - 1) + 15 + 1`` (the last minute: the
   simulation's step). Every ticket called is checked against its own bound.

It also checks that every ticket ends completed, no-show or left; that every call respected
the agent's queues, and language and specialist skill unless relaxed after the wait limit
(and then said so); it reports the error of the estimates given at check-in and checks that
the calibrated ranges hold the actual wait about as often as they claim (80 %); and it proves
that the read models rebuilt from the event stream equal the live ones, and that the
command-side index equals the fold of every ticket's stream.
"""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import pytest
import pytest_asyncio

from contracts import REGISTRY, Envelope
from contracts.events.checkin import Intake, MatchLevel, NoShowReason
from contracts.events.checkin_agents import ChannelLimits
from contracts.events.checkin_sites import DeskKind, OpeningHours, QueueSettings
from contracts.vocabulary import Channel, LanguagePreference, ProblemCategory, ServiceQueue
from runtime.cli import read_model_digest
from runtime.consumer import ReceivedEvent
from runtime.db import create_pool, drop_database, migrate
from runtime.errors import RuleViolation
from runtime.eventstore import CommandContext, EventStore
from runtime.keystore import KEYSTORE_MIGRATIONS, MasterKey, PostgresKeyStore
from runtime.privacy import Privacy
from runtime.scheduler import ManualClock
from runtime.settings import ServiceSettings
from services.checkin.application import agents, appointments, sites, tickets, waiting
from services.checkin.application import board as queries
from services.checkin.bootstrap import DEFINITION
from services.checkin.domain.agents import EndBreak, SetProfile, SignIn, SignOut, TakeBreak
from services.checkin.domain.routing import DEFAULT_POLICY, language_match, starvation_bound
from services.checkin.domain.sites import AddDesk, ConfigureSite, Site
from services.checkin.domain.tickets import (
    FINAL_STATUSES,
    TICKET,
    CompleteTicket,
    LeaveQueue,
    MarkNoShow,
    ParkTicket,
    RecallTicket,
    ReturnTicket,
    StartServing,
    TicketStatus,
    TransferTicket,
)
from services.checkin.projections import READ_MODELS, apply_event, projection_group
from tests.conftest import admin_dsn

pytestmark = pytest.mark.integration

T = TypeVar("T")
SITE = "sim-shenzhen"
A, W, G = ServiceQueue.ACCOUNT_SECURITY, ServiceQueue.WALLET_PAYMENTS, ServiceQueue.GENERAL
MANDARIN = LanguagePreference(tag="zh-CN", dialect="cmn")
CANTONESE = LanguagePreference(tag="zh-HK", dialect="yue")
ENGLISH = LanguagePreference(tag="en")
OPENS = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
VISITORS = 540
STEP = timedelta(minutes=1)
SERVICE_CAP = 15.0  # minutes: the longest service the simulation draws
RECALL_OVERHEAD = 3.0  # minutes an agent spends calling and recalling a no-show
BREAK = timedelta(minutes=15)
SLOT_MINUTES = 30  # appointment slots, booked the day before through the slot aggregate
SLOT_CAPACITY = 3
RELAX_AFTER = 20
AGENTS: dict[
    str, tuple[tuple[ServiceQueue, ...], tuple[LanguagePreference, ...], tuple[str, ...]]
] = {
    "sim-a1": ((A, G), (MANDARIN, ENGLISH), ()),
    "sim-a2": ((A, W), (MANDARIN,), ()),
    "sim-a3": ((W, G), (CANTONESE, MANDARIN), ()),
    "sim-a4": ((A, W, G), (CANTONESE, ENGLISH), ()),
    "sim-a5": ((A, G), (MANDARIN,), ("account_security_forensics",)),
    "sim-a6": ((W, G), (MANDARIN, ENGLISH), ("wallet_fraud",)),
}
CATEGORIES = {
    A: [ProblemCategory.ACCOUNT_SUSPENDED, ProblemCategory.ACCOUNT_RECOVERY_LOST_PHONE],
    W: [ProblemCategory.WALLET_REACTIVATION],
    G: [ProblemCategory.OTHER],
}
MEAN_SERVICE = {A: 6.0, W: 5.0, G: 3.5}
SPECIALIST = {A: "account_security_forensics", W: "wallet_fraud"}


@dataclass
class Visitor:
    arrival: datetime
    queue: ServiceQueue
    category: ProblemCategory
    language: LanguagePreference
    accessible: bool
    appointment: bool
    no_show: bool
    patience: float | None
    parks: bool
    transfer: bool
    ticket_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class Desk:
    agent_id: str
    desk_id: str
    state: str = "idle"  # idle | calling | serving | break
    ticket: uuid.UUID | None = None
    since: datetime | None = None
    recalls: int = 0
    until: datetime | None = None
    break_due: datetime | None = None
    took_break: bool = False


def visitors(rng: random.Random) -> list[Visitor]:
    at = OPENS
    people = []
    for _ in range(VISITORS):
        at += timedelta(minutes=rng.expovariate(1 / 0.98))
        queue = rng.choices([A, W, G], weights=[40, 30, 30])[0]
        people.append(
            Visitor(
                arrival=at,
                queue=queue,
                category=rng.choice(CATEGORIES[queue]),
                language=rng.choices(
                    [LanguagePreference(tag="zh-CN"), CANTONESE, ENGLISH], weights=[75, 17, 8]
                )[0],
                accessible=rng.random() < 0.10,
                appointment=rng.random() < 0.08,
                no_show=rng.random() < 0.04,
                patience=rng.uniform(20, 60) if rng.random() < 0.10 else None,
                parks=rng.random() < 0.02,
                transfer=rng.random() < 0.05,
            )
        )
    return people


def service_minutes(rng: random.Random, queue: ServiceQueue) -> float:
    mean = MEAN_SERVICE[queue]
    return min(SERVICE_CAP, max(0.5, rng.gammavariate(4, mean / 4)))


@pytest_asyncio.fixture(loop_scope="session")
async def pool(databases: list[str], settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    """A database of its own for the simulated day, dropped afterwards."""
    name = f"{settings.database_prefix}checkin_sim_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(admin_dsn(settings))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = settings.dsn("checkin").rsplit("/", 1)[0] + f"/{name}"
    pool = await create_pool(dsn, min_size=1, max_size=2)
    await migrate(pool, [DEFINITION.migrations])
    # the day's events carry personal data (a leaver's words): sealed, as in the service
    await migrate(pool, [KEYSTORE_MIGRATIONS], with_event_store=False)
    yield pool
    await pool.close()
    admin = await asyncpg.connect(admin_dsn(settings))
    await drop_database(admin, name)
    await admin.close()


class Day:
    """Runs commands in their own transaction and projects what they appended, in order."""

    def __init__(self, pool: asyncpg.Pool, clock: ManualClock) -> None:
        self.pool = pool
        self.clock = clock
        keys = PostgresKeyStore(pool, MasterKey(ServiceSettings().master_key_bytes()))
        self.store = EventStore("checkin", Privacy(keys), clock)
        self.position = 0
        self.moved: set[ServiceQueue] = set()
        self.turned_away: list[uuid.UUID] = []
        self.context = CommandContext.new(None)

    async def run(self, act: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        async with self.pool.acquire() as conn, conn.transaction():
            return await act(conn)

    async def project(self) -> None:
        """Apply what was appended since the last call, in commit order (one writer)."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT position, envelope FROM events WHERE position > $1 ORDER BY position",
                self.position,
            )
            for row in rows:
                await apply_event(conn, received(row["envelope"]))
                self.position = row["position"]

    async def ticket(self, command: Any, ticket_id: uuid.UUID) -> Any:
        return await self.run(
            lambda conn: tickets.change_ticket(conn, self.store, ticket_id, command, self.context)
        )

    async def agent(self, command: Any, agent_id: str) -> Any:
        return await self.run(
            lambda conn: (agents.sign_in if isinstance(command, SignIn) else agents.change_agent)(
                conn, self.store, agent_id, command, self.context
            )
        )


def decode(envelope: dict[str, Any]) -> Any:
    parsed = Envelope.model_validate(envelope)
    return REGISTRY.decode(parsed.event_type, parsed.schema_version, parsed.payload)


def received(envelope: dict[str, Any]) -> ReceivedEvent[Any]:
    """The event as the projection's handlers receive it."""
    parsed = Envelope.model_validate(envelope)
    return ReceivedEvent(parsed, decode(envelope), topic="", partition=0, offset=0)


async def open_site(day: Day) -> None:
    hours = tuple(OpeningHours(weekday=d, opens="09:00", closes="19:00") for d in range(7))  # type: ignore[arg-type]
    settings = tuple(
        QueueSettings(
            queue=q,
            default_service_minutes=MEAN_SERVICE[q],
            relax_after_minutes=RELAX_AFTER,
            max_recalls=2,
            service_level_minutes=30,
            appointment_slot_minutes=SLOT_MINUTES,
            appointment_capacity=SLOT_CAPACITY,
        )
        for q in (A, W, G)
    )
    configure = ConfigureSite(
        site_id=SITE,
        name="Simulated Shenzhen center",
        timezone="Asia/Shanghai",
        opening_hours=hours,
        queues=settings,
        at=OPENS - timedelta(hours=1),
    )
    await day.run(lambda conn: sites.change_site(conn, day.store, SITE, configure, day.context))
    for n, (agent_id, (queues, languages, skills)) in enumerate(AGENTS.items(), start=1):
        desk = AddDesk(desk_id=f"desk-{n}", kind=DeskKind.COUNTER, at=OPENS - timedelta(hours=1))

        async def add_desk(conn: asyncpg.Connection, d: AddDesk = desk) -> Site:
            return await sites.change_site(conn, day.store, SITE, d, day.context)

        await day.run(add_desk)
        await day.agent(
            SetProfile(
                agent_id, queues, skills, languages, ChannelLimits(), OPENS - timedelta(hours=1)
            ),
            agent_id,
        )
        await day.agent(SignIn(SITE, f"desk-{n}", OPENS - timedelta(minutes=5)), agent_id)
    await day.project()


async def simulate(day: Day, rng: random.Random, people: list[Visitor]) -> dict[uuid.UUID, Visitor]:
    clock = day.clock
    desks = [
        Desk(agent_id, f"desk-{n}", break_due=OPENS + timedelta(hours=2, minutes=25 * n))
        for n, agent_id in enumerate(AGENTS, start=1)
    ]
    by_id = {person.ticket_id: person for person in people}
    pending = sorted(people, key=lambda p: p.arrival)
    parked_until: dict[uuid.UUID, datetime] = {}
    served_once: set[uuid.UUID] = set()
    now = OPENS
    while True:
        tick_end = now + STEP
        while pending and pending[0].arrival < tick_end:
            person = pending.pop(0)
            clock.set(person.arrival)
            await issue(day, person)
        now = tick_end
        clock.set(now)
        await leave_or_park(day, by_id, parked_until, now)
        for desk in desks:
            await work(day, rng, desk, by_id, served_once, parked_until, now)
        for queue in sorted(day.moved):

            async def reestimate(
                conn: asyncpg.Connection, q: ServiceQueue = queue, at: datetime = now
            ) -> int:
                return await waiting.reestimate(conn, day.store, SITE, q, at, day.context)

            await day.run(reestimate)
        day.moved.clear()
        await day.project()
        active = await day.pool.fetchval(
            "SELECT count(*) FROM ticket_index WHERE status <> ALL($1::text[])",
            [s.value for s in FINAL_STATUSES],
        )
        if not pending and active == 0:
            break
        assert now < OPENS + timedelta(hours=14), "the day never ended"
    for desk in desks:
        await day.agent(SignOut(at=now), desk.agent_id)
    await day.project()
    return by_id


def customer_of(person: Visitor) -> str:
    return f"cust-sim-{person.ticket_id.hex[:10]}"


async def book_appointments(day: Day, people: list[Visitor]) -> int:
    """The day before: every visitor who will come with an appointment books the slot their
    arrival falls in (``appointments.book``, the code of ``POST /appointments``); when it is
    full they come as walk-ins. Returns how many were booked."""
    booked = 0
    for person in people:
        if not person.appointment:
            continue
        slot = OPENS + timedelta(
            minutes=SLOT_MINUTES * ((person.arrival - OPENS) // timedelta(minutes=SLOT_MINUTES))
        )

        async def book(
            conn: asyncpg.Connection, p: Visitor = person, start: datetime = slot
        ) -> asyncpg.Record:
            return await appointments.book(
                conn,
                day.store,
                appointment_id=p.ticket_id,  # the sim's id for both: one person, one ticket
                site_id=SITE,
                queue=p.queue,
                start=start,
                customer_id=customer_of(p),
                now=OPENS - timedelta(days=1),
                context=day.context,
            )

        try:
            await day.run(book)
            booked += 1
        except RuleViolation as refused:
            if "full" not in refused.detail:
                raise
            person.appointment = False
    await day.project()
    return booked


async def issue(day: Day, person: Visitor) -> None:
    request = tickets.IssueRequest(
        site_id=SITE,
        queue=person.queue,
        channel=Channel.WALK_IN,
        customer_id=customer_of(person),
        intake=Intake(
            problem_category=person.category,
            account_ref=f"acct-sim-{person.ticket_id.hex[:10]}",
            language=person.language,
            accessibility_needs=["elderly"] if person.accessible else [],  # type: ignore[list-item]
        ),
        ticket_id=person.ticket_id,
    )

    async def check_in(conn: asyncpg.Connection) -> Any:
        issuing = request
        if person.appointment:  # as POST /tickets with appointment_id: in one transaction
            ref = await appointments.check_in(
                conn,
                day.store,
                person.ticket_id,
                ticket_id=person.ticket_id,
                customer_id=customer_of(person),
                site_id=SITE,
                queue=person.queue,
                now=person.arrival,
                context=day.context,
            )
            issuing = dataclasses.replace(request, appointment=ref)
        return await tickets.issue_ticket(conn, day.store, issuing, day.context, person.arrival)

    try:
        await day.run(check_in)
    except RuleViolation as refused:  # the closing rule: told, not given a number
        if "cannot serve you before closing" not in refused.detail:
            raise
        day.turned_away.append(person.ticket_id)
        return
    day.moved.add(person.queue)


async def leave_or_park(
    day: Day,
    by_id: dict[uuid.UUID, Visitor],
    parked_until: dict[uuid.UUID, datetime],
    now: datetime,
) -> None:
    rows = await day.pool.fetch(
        "SELECT ticket_id, status, queue, arrival_at FROM ticket_index "
        "WHERE status IN ('waiting', 'parked')"
    )
    for row in rows:
        person = by_id[row["ticket_id"]]
        queue = ServiceQueue(row["queue"])
        if row["status"] == "parked" and now >= parked_until[row["ticket_id"]]:
            await day.ticket(ReturnTicket(at=now), row["ticket_id"])
            day.moved.add(queue)
        elif (
            row["status"] == "waiting"
            and person.patience is not None
            and (now - row["arrival_at"] > timedelta(minutes=person.patience))
        ):
            await day.ticket(LeaveQueue(reason="waited too long", at=now), row["ticket_id"])
            day.moved.add(queue)
        elif (
            row["status"] == "waiting"
            and person.parks
            and row["ticket_id"] not in parked_until
            and now - row["arrival_at"] > timedelta(minutes=3)
        ):
            await day.ticket(ParkTicket(at=now, reason="fetching a document"), row["ticket_id"])
            parked_until[row["ticket_id"]] = now + timedelta(minutes=10)
            day.moved.add(queue)


async def work(
    day: Day,
    rng: random.Random,
    desk: Desk,
    by_id: dict[uuid.UUID, Visitor],
    served_once: set[uuid.UUID],
    parked_until: dict[uuid.UUID, datetime],
    now: datetime,
) -> None:
    agent = desk.agent_id
    if desk.state == "serving" and desk.ticket and desk.until and now >= desk.until:
        person = by_id[desk.ticket]
        if person.transfer and desk.ticket not in served_once:
            served_once.add(desk.ticket)
            to_queue = rng.choice([q for q in (A, W, G) if q is not person.queue] + [A])
            skill = SPECIALIST.get(to_queue) if rng.random() < 1 / 3 else None
            if to_queue is person.queue and skill is None:
                skill = SPECIALIST.get(to_queue)
            command: Any = TransferTicket(
                agent_id=agent, to_queue=to_queue, at=now, required_skill=skill, reason="sim"
            )
            day.moved.add(to_queue)
        else:
            command = CompleteTicket(agent_id=agent, at=now, resolution="sim")
        ticket = await day.ticket(command, desk.ticket)
        day.moved.add(ticket.queue)
        desk.state, desk.ticket = "idle", None
    if desk.state == "calling" and desk.ticket and desk.since:
        person = by_id[desk.ticket]
        ticket_id = desk.ticket
        if person.no_show:
            if now - desk.since >= timedelta(minutes=desk.recalls + 1):
                if desk.recalls < 2:
                    await day.ticket(RecallTicket(agent_id=agent, at=now, max_recalls=2), ticket_id)
                    desk.recalls += 1
                else:
                    await day.ticket(
                        MarkNoShow(at=now, reason=NoShowReason.RECALLS_EXHAUSTED, agent_id=agent),
                        ticket_id,
                    )
                    desk.state, desk.ticket = "idle", None
        else:
            await day.ticket(StartServing(agent_id=agent, at=now), ticket_id)
            ticket = await day.pool.fetchrow(
                "SELECT queue FROM ticket_index WHERE ticket_id = $1", ticket_id
            )
            minutes = service_minutes(rng, ServiceQueue(ticket["queue"]))
            desk.state, desk.until = "serving", now + timedelta(minutes=minutes)
    if desk.state == "break" and desk.until and now >= desk.until:
        await day.agent(EndBreak(at=now), agent)
        desk.state = "idle"
        day.moved.update((A, W, G))
    if desk.state == "idle":
        if not desk.took_break and desk.break_due and now >= desk.break_due:
            await day.agent(TakeBreak(at=now, reason="break"), agent)
            desk.state, desk.until, desk.took_break = "break", now + BREAK, True
            day.moved.update((A, W, G))
            return
        called = await day.run(
            lambda conn: tickets.call_next(conn, day.store, agent, now, day.context)
        )
        if called is not None:
            ticket, _ = called
            desk.state, desk.ticket, desk.since, desk.recalls = "calling", ticket.ticket_id, now, 0
            assert ticket.queue is not None  # a called ticket was issued to a queue
            day.moved.add(ticket.queue)


async def test_a_busy_day(pool: asyncpg.Pool) -> None:
    started = time.monotonic()
    rng = random.Random(20261123)
    clock = ManualClock(OPENS - timedelta(hours=1))
    day = Day(pool, clock)
    await open_site(day)
    people = visitors(rng)
    booked = await book_appointments(day, people)
    await simulate(day, rng, people)
    elapsed = time.monotonic() - started

    # -- every ticket ended ---------------------------------------------------------------------
    statuses = {
        row["ticket_id"]: row["status"]
        for row in await pool.fetch("SELECT ticket_id, status FROM ticket_index")
    }
    assert len(statuses) + len(day.turned_away) == VISITORS
    assert len(statuses) >= 500
    assert set(statuses.values()) <= {s.value for s in FINAL_STATUSES}
    outcomes: defaultdict[str, int] = defaultdict(int)
    for status in statuses.values():
        outcomes[status] += 1
    assert outcomes["completed"] > 400
    assert outcomes["no_show"] > 0
    assert outcomes["left"] > 0

    # -- every call, replayed from the stream --------------------------------------------------
    calls = await replay_calls(pool)
    transfers = await pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'checkin.ticket_transferred'"
    )
    with_appointment = sum(1 for p in people if p.appointment)
    checked_in = await pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'checkin.appointment_checked_in'"
    )
    assert transfers > 0
    assert with_appointment > 0
    assert booked == with_appointment  # every booking of the day before was kept
    assert (
        checked_in + sum(1 for p in people if p.appointment and p.ticket_id in day.turned_away)
        == booked
    )
    relaxed = check_skills_and_languages(calls)
    ordering_violations = check_ordering_bound(calls)
    assert ordering_violations == [], ordering_violations[:5]
    waits, bounds = check_absolute_bound(calls, people)
    over = [(k, waits[k], bounds[k]) for k in waits if waits[k] > bounds[k]]
    assert over == [], over[:5]

    # -- the estimates ---------------------------------------------------------------------------
    accuracy = await queries.estimate_accuracy(pool, SITE)
    overall = accuracy["overall"]
    naive = naive_error(calls)
    report = (
        f"busy day: {len(statuses)} tickets {dict(outcomes)}, "
        f"{len(day.turned_away)} turned away by the closing rule, {transfers} transfers, "
        f"{checked_in} of {booked} booked appointments checked in, {relaxed} relaxed calls; "
        f"max wait {max(waits.values()):.1f} min (p95 {percentile(list(waits.values()), 95):.1f}), "
        f"tightest bound {min(bounds.values()):.0f} min; "
        f"ETA error at check-in: mean {overall['mean_error_minutes']} min, "
        f"MAE {overall['mean_absolute_error_minutes']} min, within range "
        f"{overall['within_range']:.0%} of {overall['tickets']} "
        f"(a constant guess: MAE {naive:.1f}); ranges by basis "
        + ", ".join(
            f"{basis}: {r['within_range']:.0%} of {r['tickets']}, "
            f"{r['mean_range_minutes']:.0f} min wide"
            for basis, r in accuracy["ranges"].items()
        )
        + "; "
        f"simulated in {elapsed:.1f} s"
    )
    counts = await pool.fetch("SELECT event_type, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC")
    print(report, dict((r[0], r[1]) for r in counts))
    assert overall["tickets"] > 400
    assert overall["mean_absolute_error_minutes"] < naive  # better than one constant for all
    # the calibrated ranges are honest: "80 %" holds about 80 % (the day is seeded, so this is
    # a property of the estimator on this day, not of the machine's speed)
    calibrated = accuracy["ranges"]["measured_errors"]
    assert calibrated["tickets"] > 300
    assert 0.7 <= calibrated["within_range"] <= 0.95, calibrated

    # -- the state rebuilt from the stream equals the live state -------------------------------
    live = await read_model_digest(pool, [projection_group()])
    async with pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {', '.join(READ_MODELS)}")
        async with conn.transaction():
            for row in await conn.fetch("SELECT envelope FROM events ORDER BY position"):
                await apply_event(conn, received(row["envelope"]))
    assert await read_model_digest(pool, [projection_group()]) == live
    await check_index_is_the_fold(pool, day.store)
    # how long the day took is printed in the report, never asserted: a test holds on a busy
    # machine; the speed of the command path is measured by `make bench`


@dataclass(frozen=True)
class Call:
    ticket_id: uuid.UUID
    number: str
    agent_id: str
    at: datetime
    arrival: datetime
    queue: ServiceQueue
    language: LanguagePreference
    required_skill: str | None
    match: Any
    first: bool


async def replay_calls(pool: asyncpg.Pool) -> list[Call]:
    calls = []
    state: dict[str, dict[str, Any]] = {}
    for row in await pool.fetch(
        "SELECT stream_id, envelope FROM events WHERE stream_type = 'ticket' ORDER BY position"
    ):
        payload = decode(row["envelope"])
        ticket = state.setdefault(row["stream_id"], {"called": False})
        if payload.event_type == "checkin.ticket_issued":
            ticket.update(
                arrival=payload.issued_at,
                queue=payload.queue,
                language=payload.intake.language,
                skill=None,
                number=payload.number,
            )
        elif payload.event_type == "checkin.ticket_transferred":
            ticket.update(queue=payload.to_queue, skill=payload.required_skill)
        elif payload.event_type == "checkin.ticket_called":
            calls.append(
                Call(
                    payload.ticket_id,
                    ticket["number"],
                    payload.agent_id,
                    payload.called_at,
                    ticket["arrival"],
                    ticket["queue"],
                    ticket["language"],
                    ticket["skill"],
                    payload.match,
                    not ticket["called"],
                )
            )
            ticket["called"] = True
    return calls


def check_skills_and_languages(calls: list[Call]) -> int:
    """Every call within the agent's queues; language and specialist skill exact, or relaxed
    only after the wait limit, and then said so in the event. Returns the relaxed calls."""
    relaxed = 0
    for call in calls:
        queues, languages, skills = AGENTS[call.agent_id]
        waited = call.at - call.arrival
        assert call.queue in queues, call
        assert call.match is not None
        level = language_match(call.language, languages)
        assert call.match.language is level, call
        if level is not MatchLevel.EXACT:
            assert call.match.relaxed, call
            assert waited >= timedelta(minutes=RELAX_AFTER), call
        if call.required_skill is not None and call.required_skill not in skills:
            assert call.match.skill is MatchLevel.SKILL_RELAXED, call
            assert waited >= timedelta(minutes=RELAX_AFTER), call
        relaxed += call.match.relaxed
    return relaxed


def check_ordering_bound(calls: list[Call]) -> list[tuple[str, str]]:
    """Among tickets with the same needs, none is called after one that arrived more than
    B = starvation_bound() later (each ticket's first call)."""
    bound = starvation_bound(DEFAULT_POLICY)
    first = [c for c in calls if c.first]
    classes: dict[tuple[Any, ...], list[Call]] = defaultdict(list)
    for call in first:
        classes[(call.queue, call.language.tag, call.language.dialect, call.required_skill)].append(
            call
        )
    violations = []
    for members in classes.values():
        members.sort(key=lambda c: c.at)
        latest_arrival_called = None
        for call in members:
            if latest_arrival_called and latest_arrival_called.arrival - call.arrival > bound:
                violations.append((call.number, latest_arrival_called.number))
            if latest_arrival_called is None or call.arrival > latest_arrival_called.arrival:
                latest_arrival_called = call
    return violations


def check_absolute_bound(
    calls: list[Call], people: list[Visitor]
) -> tuple[dict[str, float], dict[str, float]]:
    """wait(T) <= 2 (L_T + N_T) (S + 3) / max(1, k_T - 1) + 15 + 1 (see the module doc)."""
    bound_b = starvation_bound(DEFAULT_POLICY)
    first = {c.ticket_id: c for c in calls if c.first}
    ends = {c.ticket_id: c.at for c in calls}  # upper estimate of activity: last call
    arrivals = sorted(p.arrival for p in people)
    waits, bounds = {}, {}
    for person in people:
        call = first.get(person.ticket_id)
        if call is None:
            continue
        exact = [
            agent
            for agent, (queues, languages, _) in AGENTS.items()
            if person.queue in queues
            and language_match(person.language, languages) is MatchLevel.EXACT
        ]
        assert exact, f"no agent ever serves {person.queue}/{person.language}"
        active_at_arrival = sum(
            1
            for other in people
            if other.arrival < person.arrival
            and ends.get(other.ticket_id, datetime.max.replace(tzinfo=UTC)) >= person.arrival
        )
        arriving = sum(1 for a in arrivals if person.arrival < a <= person.arrival + bound_b)
        minutes = (
            2
            * (active_at_arrival + arriving)
            * (SERVICE_CAP + RECALL_OVERHEAD)
            / max(1, len(exact) - 1)
        )
        waits[call.number + str(call.ticket_id)[:4]] = (call.at - call.arrival).total_seconds() / 60
        bounds[call.number + str(call.ticket_id)[:4]] = minutes + BREAK.total_seconds() / 60 + 1
    return waits, bounds


def naive_error(calls: list[Call]) -> float:
    waits = [(c.at - c.arrival).total_seconds() / 60 for c in calls if c.first]
    mean = sum(waits) / len(waits)
    return sum(abs(w - mean) for w in waits) / len(waits)


def percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def check_index_is_the_fold(pool: asyncpg.Pool, store: EventStore) -> None:
    """The command-side index is a function of each ticket's stream."""
    async with pool.acquire() as conn:
        for row in await conn.fetch("SELECT * FROM ticket_index"):
            history = await store.load(conn, tickets.ticket_stream(row["ticket_id"]))
            ticket = TICKET.fold([event.payload for event in history])
            assert ticket.queue is not None
            assert (
                ticket.status.value,
                ticket.queue.value,
                ticket.agent_id,
                ticket.arrival_at,
            ) == (
                row["status"],
                row["queue"],
                row["agent_id"],
                row["arrival_at"],
            )
            assert ticket.status in FINAL_STATUSES or ticket.status is TicketStatus.WAITING
        # the counts of who waits (what a new ticket's estimate reads) are those of the index
        counted = {
            tuple(row[:4]): row["waiting"]
            for row in await conn.fetch(
                "SELECT site_id, queue, channel, problem_category, waiting FROM queue_waiting"
                " WHERE waiting > 0"
            )
        }
        indexed = {
            tuple(row[:4]): row["n"]
            for row in await conn.fetch(
                "SELECT site_id, queue, channel, problem_category, count(*) AS n"
                " FROM ticket_index WHERE status = 'waiting'"
                " GROUP BY site_id, queue, channel, problem_category"
            )
        }
        assert counted == indexed
