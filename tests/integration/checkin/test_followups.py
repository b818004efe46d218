"""Check-in follow-ups over real Kafka and PostgreSQL:

- the virtual queue's "one active ticket per person and account" held by the database: two
  joins at the same moment give exactly one place (201) and one 409 saying why, and nothing of
  the loser is written — over HTTP, and deterministically with the second join held between
  its check and its insert until the first commits;
- an agent who goes on a break or signs out gives back the contacts offered to them and not
  answered at once (keeping their place in the pool), and they are offered to the others;
- per-kind answer windows (a call in seconds, an email in hours);
- the supervisor's dashboard per queue and remote channel: pool, offered-not-answered, share
  reassigned today — rebuilt from Kafka equal to the live one;
- no staff read of check-in shows the intake's phone or free text.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from contracts.envelope import Actor
from contracts.events.checkin import Intake
from contracts.vocabulary import Channel, LanguagePreference, ProblemCategory, ServiceQueue
from runtime.errors import RuleViolation
from runtime.eventstore import CommandContext
from runtime.scheduler import OffsetClock
from services.checkin.application import tickets as application
from tests.conftest import auth, eventually
from tests.integration.checkin.helpers import Desk, fake_phone
from tests.integration.checkin.test_assignment import ContactCenter, assignments, post
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import standing_still
from tests.integration.test_rebuild import cli

pytestmark = pytest.mark.integration


def virtual_join(site_id: str, account: str) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "channel": "virtual_queue",
        "intake": {
            "problem_category": "account_suspended",
            "account_ref": account,
            "language": {"tag": "zh-CN"},
        },
    }


async def site_writes(checkin: RunningService, site_id: str) -> tuple[int, int, int]:
    """(ticket_issued events, ticket_index rows, last number given) of a site's virtual joins."""
    events = await checkin.runtime.pool.fetchval(
        """SELECT count(*) FROM events WHERE event_type = 'checkin.ticket_issued'
             AND envelope -> 'payload' ->> 'site_id' = $1""",
        site_id,
    )
    rows = await checkin.runtime.pool.fetchval(
        "SELECT count(*) FROM ticket_index WHERE site_id = $1", site_id
    )
    number = await checkin.runtime.pool.fetchval(
        "SELECT coalesce(max(last_number), 0) FROM ticket_counters WHERE site_id = $1", site_id
    )
    return events, rows, number


async def test_two_joins_at_the_same_moment_give_one_place(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    desk = Desk(checkin.client, token)
    await desk.configure()

    # one person taps "join" twice: the same verified phone, customer and account
    phone = fake_phone()
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    account = f"acct-{uuid.uuid4().hex[:8]}"
    headers = auth(token("customer", sub=customer, phone=phone))
    body = virtual_join(desk.site_id, account)
    answers = await asyncio.gather(
        *(checkin.client.post("/tickets", json=body, headers=headers) for _ in range(2))
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409).json()
    assert "one active ticket at a time" in refused["detail"]
    assert await site_writes(checkin, desk.site_id) == (1, 1, 1)  # nothing of the loser

    # two customer ids with one phone number (a number cannot hold two places)
    other = Desk(checkin.client, token)
    await other.configure()
    phone = fake_phone()
    tokens = [
        auth(token("customer", sub=f"cust-{uuid.uuid4().hex[:8]}", phone=phone)) for _ in range(2)
    ]
    answers = await asyncio.gather(
        *(
            checkin.client.post(
                "/tickets",
                json=virtual_join(other.site_id, f"acct-{uuid.uuid4().hex[:8]}"),
                headers=headers,
            )
            for headers in tokens
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    detail = next(a for a in answers if a.status_code == 409).json()["detail"]
    assert "one active ticket at a time" in detail
    assert await site_writes(checkin, other.site_id) == (1, 1, 1)


def join_request(site_id: str, account: str, person: str, customer: str) -> Any:
    return application.IssueRequest(
        site_id=site_id,
        queue=ServiceQueue.ACCOUNT_SECURITY,
        channel=Channel.VIRTUAL_QUEUE,
        customer_id=customer,
        intake=Intake(
            problem_category=ProblemCategory.ACCOUNT_SUSPENDED,
            account_ref=account,
            contact_phone=fake_phone(),
            language=LanguagePreference(tag="zh-CN"),
        ),
        person_ref=person,
    )


async def waiting_on_a_lock(checkin: RunningService, pid: int) -> bool:
    kind = await checkin.runtime.pool.fetchval(
        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
    )
    return kind == "Lock"


@pytest.mark.parametrize(
    ("same", "holder"),
    [("person", "this phone number"), ("account", "this account")],
)
async def test_the_database_refuses_a_second_join_that_passed_the_check(
    stack: dict[str, RunningService], token: Callable[..., str], same: str, holder: str
) -> None:
    """The race made certain: the second join runs its check while the first is not committed
    (so the check passes), then waits (for the queue's ticket counter); the first commits; the
    second's insert into the ticket index hits the unique index: a 409 reason, and its
    transaction leaves nothing."""
    checkin = stack["checkin"]
    store = checkin.runtime.store
    desk = Desk(checkin.client, token)
    await desk.configure()
    account = f"acct-{uuid.uuid4().hex[:8]}"
    person = f"hmac:test-{uuid.uuid4().hex}"
    first = join_request(desk.site_id, account, person, f"cust-{uuid.uuid4().hex[:8]}")
    second = join_request(
        desk.site_id,
        account if same == "account" else f"acct-{uuid.uuid4().hex[:8]}",
        person if same == "person" else f"hmac:test-{uuid.uuid4().hex}",
        f"cust-{uuid.uuid4().hex[:8]}",
    )
    context = CommandContext.new(Actor(id="reception-test", role="agent"))
    now = checkin.runtime.clock.now()
    async with checkin.runtime.pool.acquire() as one, checkin.runtime.pool.acquire() as two:
        tx_one = one.transaction()
        await tx_one.start()
        held = await application.issue_ticket(one, store, first, context, now)
        tx_two = two.transaction()
        await tx_two.start()
        racing = asyncio.create_task(application.issue_ticket(two, store, second, context, now))
        pid = two.get_server_pid()
        await eventually(lambda: waiting_on_a_lock(checkin, pid), within=60)
        await tx_one.commit()
        with pytest.raises(RuleViolation) as refused:
            await racing
        await tx_two.rollback()
    assert f"{holder} already holds an active place in the virtual queue" in str(refused.value)
    assert "one active ticket at a time" in str(refused.value)
    rows = await checkin.runtime.pool.fetch(
        "SELECT ticket_id FROM ticket_index WHERE site_id = $1", desk.site_id
    )
    assert [row["ticket_id"] for row in rows] == [held.ticket_id]
    assert await site_writes(checkin, desk.site_id) == (1, 1, 1)


async def dashboard_line(
    center: ContactCenter,
    ready: Callable[[dict[str, Any]], bool],
    queue: str,
    channel: str = "chat_wechat",
) -> dict[str, Any]:
    """The dashboard's line of a queue and channel once the projection shows ``ready``."""

    async def probe() -> dict[str, Any] | None:
        answer = await center.client.get(
            f"/sites/{center.site_id}/dashboard", headers=center.supervisor
        )
        assert answer.status_code == 200, answer.text
        lines = [
            line
            for line in answer.json()["queues"]
            if (line["queue"], line["channel"]) == (queue, channel) and ready(line)
        ]
        return lines[0] if lines else None

    return await eventually(probe, within=90)


async def test_a_break_or_sign_out_gives_the_offered_contacts_back_at_once(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    env_for_processes: dict[str, str],
) -> None:
    checkin = stack["checkin"]
    center = ContactCenter(checkin.client, token)
    await center.configure(
        queues=[
            {
                "queue": "account_security",
                "assignment_rules": ["fewest_active", "round_robin"],
                "answer_within_seconds": 600,  # nothing here waits for a timer
            },
            {"queue": "general"},
        ]
    )
    li, li_h = await center.remote_agent("li", "desk-1", limits={"chat": 2})
    wang, wang_h = await center.remote_agent("wang", "desk-2", limits={"chat": 2})
    c1 = await center.contact("chat_wechat")
    c2 = await center.contact("chat_wechat")
    c3 = await center.contact("chat_wechat")
    c4 = await center.contact("chat_wechat")
    assert [c["agent_id"] for c in (c1, c2, c3, c4)] == [li, wang, li, wang]
    c5 = await center.contact("chat_wechat")
    assert c5["in_pool"]  # everyone is full

    # li answers c1, then goes on a break: c3 (offered, not answered) goes back at once
    await post(checkin, f"/tickets/{c1['ticket_id']}/start", li_h)
    on_break = await checkin.client.post(
        f"/agents/{li}/break", json={"reason": "lunch"}, headers=li_h
    )
    assert on_break.status_code == 200, on_break.text
    assert on_break.json()["status"] == "on_break"
    back = await center.ticket(c3["ticket_id"])
    assert (back["status"], back["agent_id"]) == ("waiting", None)
    history = await assignments(checkin, c3["ticket_id"])
    assert [(h["type"], h["agent_id"]) for h in history] == [
        ("checkin.contact_assigned", li),
        ("checkin.contact_unanswered", li),
    ]
    assert history[1]["reason"] == "agent_on_break"
    # at once, long before the answer window would have ended
    assert datetime.fromisoformat(history[1]["at"]) < datetime.fromisoformat(c3["answer_by"])
    timer = await checkin.runtime.pool.fetchval(
        "SELECT 1 FROM timers WHERE timer_id = $1", f"contact-answer:{c3['ticket_id']}"
    )
    assert timer is None  # its answer timer went with the offer
    # the answered chat stays with li
    assert (await center.ticket(c1["ticket_id"]))["status"] == "serving"

    # a place frees up (wang finishes c2): c3 kept its place ahead of c5
    await post(checkin, f"/tickets/{c2['ticket_id']}/start", wang_h)
    await post(checkin, f"/tickets/{c2['ticket_id']}/complete", wang_h)
    await center.assigned_to(c3["ticket_id"], wang)
    assert (await center.ticket(c5["ticket_id"]))["status"] == "waiting"
    again = await assignments(checkin, c3["ticket_id"])
    assert (again[-1]["agent_id"], again[-1]["previous_agent_id"]) == (wang, li)

    # li resumes and is offered c5; li signs out before answering: back to the pool at once
    await post(checkin, f"/agents/{li}/resume", li_h)
    await center.assigned_to(c5["ticket_id"], li)
    signed_out = await checkin.client.post(f"/agents/{li}/sign-out", json={}, headers=li_h)
    assert signed_out.status_code == 200, signed_out.text
    assert (await center.ticket(c5["ticket_id"]))["status"] == "waiting"
    released = await assignments(checkin, c5["ticket_id"])
    assert (released[-1]["type"], released[-1]["reason"]) == (
        "checkin.contact_unanswered",
        "agent_signed_out",
    )
    # c1, answered and not finished (a break kept it with li): a sign-out hands it back to
    # its queue at once, keeping its arrival time, and the event says why
    handed = await center.ticket(c1["ticket_id"])
    assert (handed["status"], handed["agent_id"]) == ("waiting", None)
    transfer = await checkin.runtime.pool.fetchval(
        """SELECT envelope -> 'payload' ->> 'reason' FROM events
           WHERE stream_id = $1 AND event_type = 'checkin.ticket_transferred'""",
        f"ticket-{c1['ticket_id']}",
    )
    assert transfer == "agent_signed_out"

    # a supervisor sends wang on a break: both his offered chats go back, and to nobody
    supervisor_break = await checkin.client.post(
        f"/agents/{wang}/break", json={}, headers=center.supervisor
    )
    assert supervisor_break.status_code == 200, supervisor_break.text
    for contact in (c3, c4):
        assert (await center.ticket(contact["ticket_id"]))["status"] == "waiting"

    # the dashboard, per queue and channel (from the projection); c1's hand-back is another
    # ticket's stream (another partition) than the releases: wait for the pool's count too
    line = await dashboard_line(
        center,
        lambda line: line["returned_today"]["released"] == 4 and line["in_pool"] == 4,
        "account_security",
    )
    assert line["in_pool"] == line["waiting"] == 4  # c1 (handed back), c3, c4, c5
    assert line["offered_not_answered"] == 0
    assert line["offered_today"] == 5
    assert line["reassigned_today"] == 1  # c3: li, then wang
    assert line["reassigned_share_today"] == 0.2
    assert line["returned_today"] == {"unanswered": 0, "released": 4}

    # offered-not-answered: wang resumes and is offered two of them
    await post(checkin, f"/agents/{wang}/resume", wang_h)
    line = await dashboard_line(
        center, lambda line: line["offered_not_answered"] == 2, "account_security"
    )
    # c1 and c3 came first: c1 is offered to wang (its previous agent li), c3 a third time
    assert line["in_pool"] == 2  # c4, c5
    for contact, previous in ((c1, li), (c3, wang)):
        offer = (await assignments(checkin, contact["ticket_id"]))[-1]
        assert (offer["type"], offer["agent_id"], offer["previous_agent_id"]) == (
            "checkin.contact_assigned",
            wang,
            previous,
        )
    assert line["reassigned_today"] == 2  # c3 and c1
    assert line["reassigned_share_today"] == 0.4

    # the read models rebuilt from Kafka equal the live ones
    async with standing_still(stack):  # nothing in flight, no timer fires meanwhile
        live = await cli(env_for_processes, "digest", "checkin")
        await cli(env_for_processes, "rebuild", "checkin")
        assert await cli(env_for_processes, "digest", "checkin") == live


async def test_answer_windows_per_kind(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    checkin = stack["checkin"]
    center = ContactCenter(checkin.client, token)
    await center.configure(
        queues=[
            {
                "queue": "account_security",
                "answer_within_seconds": 90,
                "answer_windows": {"phone": 20, "email": 4 * 3600},
            },
            {"queue": "general"},
        ]
    )
    caller_agent, _ = await center.remote_agent(
        "a", "desk-1", limits={"phone": 1, "chat": 0, "email": 0}
    )
    chat_agent, _ = await center.remote_agent(
        "b", "desk-2", limits={"phone": 0, "chat": 1, "email": 0}
    )
    mail_agent, _ = await center.remote_agent(
        "c", "desk-3", limits={"phone": 0, "chat": 0, "email": 1}
    )
    call = await center.contact("phone", ivr_selection="1")
    chat = await center.contact("chat_qq")
    email = await center.contact("email")
    assert [c["agent_id"] for c in (call, chat, email)] == [caller_agent, chat_agent, mail_agent]

    def window(contact: dict[str, Any]) -> timedelta:
        offered = datetime.fromisoformat(contact["assigned_at"])
        return datetime.fromisoformat(contact["answer_by"]) - offered

    assert window(call) == timedelta(seconds=20)
    assert window(chat) == timedelta(seconds=90)  # chats: the queue's one window
    assert window(email) == timedelta(hours=4)
    due = await checkin.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE timer_id = $1", f"contact-answer:{email['ticket_id']}"
    )
    assert due == datetime.fromisoformat(email["answer_by"])

    # 21 s later only the call's window has ended
    clock.advance(timedelta(seconds=21))
    assert checkin.runtime.timers is not None
    await checkin.runtime.timers.fire_due()
    history = await assignments(checkin, call["ticket_id"])
    assert (history[-1]["type"], history[-1]["reason"]) == (
        "checkin.contact_unanswered",
        "answer_window_ended",
    )
    for contact, agent_id in ((chat, chat_agent), (email, mail_agent)):
        still = await center.ticket(contact["ticket_id"])
        assert (still["status"], still["agent_id"]) == ("called", agent_id)


async def test_staff_reads_show_no_personal_data(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    """No check-in endpoint returns the intake's phone or free text (they exist in check-in
    only encrypted in its events), so no staff read of check-in is a read of personal data to
    audit. Pinned here: every staff answer about tickets and contacts, searched for both."""
    checkin = stack["checkin"]
    center = ContactCenter(checkin.client, token)
    await center.configure(
        queues=[
            {"queue": "account_security", "appointment_slot_minutes": 30},
            {"queue": "general"},
        ]
    )
    agent_id, agent = await center.remote_agent("li", "desk-1", limits={"chat": 2})
    phone = fake_phone()
    words = f"my words {uuid.uuid4().hex}"
    walk_in = await checkin.client.post(
        "/tickets",
        json={
            "site_id": center.site_id,
            "intake": {
                "problem_category": "account_suspended",
                "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
                "contact_phone": phone,
                "language": {"tag": "zh-CN"},
                "description": words,
            },
        },
        headers=center.supervisor,
    )
    assert walk_in.status_code == 201, walk_in.text
    chat = await checkin.client.post(
        "/contacts",
        json={
            "site_id": center.site_id,
            "channel": "chat_web",
            "intake": {
                "problem_category": "account_suspended",
                "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
                "contact_phone": phone,
                "language": {"tag": "zh-CN"},
                "description": words,
            },
        },
        headers=auth(token("service", sub="chat-gateway")),
    )
    assert chat.status_code == 201, chat.text
    assert chat.json()["agent_id"] == agent_id
    ticket_id, chat_id = walk_in.json()["ticket_id"], chat.json()["ticket_id"]
    site = center.site_id

    async def projected() -> bool:
        board = await checkin.client.get(f"/sites/{site}/board", headers=center.supervisor)
        return len(board.json()["now_serving"]) == 1

    await eventually(projected, within=90)
    answers = [walk_in, chat]
    for path in (
        f"/tickets/{ticket_id}",
        f"/tickets/{chat_id}",
        f"/sites/{site}/board",
        f"/sites/{site}/dashboard",
        f"/sites/{site}/queues",
        f"/sites/{site}/estimate-accuracy",
        f"/sites/{site}/appointments",
        f"/agents/{agent_id}",
    ):
        answers.append(await checkin.client.get(path, headers=center.supervisor))
    answers.append(await checkin.client.get("/agents/me/contacts", headers=agent))
    answers.append(await checkin.client.post(f"/tickets/{chat_id}/start", json={}, headers=agent))
    for answer in answers:
        assert answer.status_code in (200, 201), (answer.request.url, answer.text)
        assert phone not in answer.text, answer.request.url
        assert words not in answer.text, answer.request.url
    # the intake is in the event, and only there (encrypted for the data subject)
    stored = await checkin.runtime.pool.fetchval(
        "SELECT envelope::text FROM events WHERE stream_id = $1", f"ticket-{ticket_id}"
    )
    assert phone not in stored
    assert words not in stored
