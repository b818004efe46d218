"""BRIEF flow 5 over real Kafka and PostgreSQL, the sandbox SMS provider process and the
durable timers driven by the shared clock: a minor's refund case promises the guardian a
callback "within a day"; it is scheduled in the guardian's own hours, the guardian is told the
window in their language, the queue is reminded, attempts are recorded and retried, and the
callback is either kept (callback_completed) or missed (callback_missed, which cases turns
into an escalation)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts import Envelope
from contracts.events.cases import CallbackRequested
from contracts.events.notifications import NOTIFICATIONS_CALLBACKS
from contracts.vocabulary import LanguagePreference, PersonRole, ServiceQueue
from runtime.limits import Rate, RateLimiter
from runtime.scheduler import OffsetClock
from runtime.settings import ServiceSettings
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import read_topic
from tests.integration.notifications.conftest import Sandboxes, publish

pytestmark = pytest.mark.integration

Stack = dict[str, RunningService]


async def promise_callback(
    stack: Stack,
    settings: ServiceSettings,
    clock: OffsetClock,
    *,
    timezone: str = "Asia/Shanghai",
    phone: str = "+8613800000009",
    hours: int = 24,
    language: str = "zh-CN",
) -> CallbackRequested:
    """What cases publishes when it promises the guardian a call back within ``hours``."""
    now = clock.now()
    requested = CallbackRequested(
        case_id=uuid.uuid4(),
        callback_id=uuid.uuid4(),
        account_ref=f"acct-minor-{uuid.uuid4().hex[:8]}",
        queue=ServiceQueue.MINORS_FAMILY,
        recipient_role=PersonRole.PROXY,
        phone=phone,
        timezone=timezone,
        window_start=now,
        window_end=now + timedelta(hours=hours),
        language=LanguagePreference(tag=language),
        requested_at=now,
    )
    await publish(
        settings,
        requested,
        f"case-{requested.case_id}",
        producer="cases",
        privacy=stack["cases"].runtime.privacy,
    )
    return requested


async def callback_view(stack: Stack, token: Callable[..., str], callback_id: Any) -> Any:
    async def probe() -> Any:
        answer = await stack["notifications"].client.get(
            f"/callbacks/{callback_id}", headers=auth(token("specialist"))
        )
        return answer.json() if answer.status_code == 200 else None

    return await eventually(probe)


async def messages_to(stack: Stack, token: Callable[..., str], recipient_ref: str) -> list[Any]:
    answer = await stack["notifications"].client.get(
        "/notifications", params={"recipient_ref": recipient_ref}, headers=auth(token("agent"))
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def sent_message(
    stack: Stack, token: Callable[..., str], recipient_ref: str, kind: str
) -> dict[str, Any]:
    async def probe() -> Any:
        found = [
            m
            for m in await messages_to(stack, token, recipient_ref)
            if m["kind"] == kind and m["status"] == "sent"
        ]
        return found[0] if found else None

    return await eventually(probe)  # type: ignore[no-any-return]


async def callback_answers(settings: ServiceSettings, callback_id: Any) -> list[Envelope]:
    records = await read_topic(
        settings.kafka.bootstrap_servers, settings.kafka.topic(NOTIFICATIONS_CALLBACKS.name)
    )
    return [
        envelope
        for envelope in (Envelope.from_bytes(r.value) for r in records if r.value)
        if envelope.stream_id == f"callback-{callback_id}"
    ]


async def answers_once(
    settings: ServiceSettings, callback_id: Any, event_type: str
) -> list[Envelope]:
    """The callback's events on Kafka, once ``event_type`` is among them (the relay publishes
    after the command answers: an earlier read may hold only the first events)."""

    async def published() -> list[Envelope]:
        answers = await callback_answers(settings, callback_id)
        return answers if event_type in [e.event_type for e in answers] else []

    return await eventually(published)


async def record(
    stack: Stack, token: Callable[..., str], callback_id: Any, outcome: str, **extra: Any
) -> Any:
    answer = await stack["notifications"].client.post(
        f"/callbacks/{callback_id}/attempts",
        json={"outcome": outcome, **extra},
        headers=auth(token("specialist", sub="spec-minors-1")),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def fire_timers(stack: Stack) -> None:
    timers = stack["notifications"].runtime.timers
    assert timers is not None
    await timers.fire_due()


async def test_flow_5_the_promised_callback_is_scheduled_told_reminded_and_kept(
    stack: Stack,
    settings: ServiceSettings,
    clock: OffsetClock,
    token: Callable[..., str],
    sandboxes: Sandboxes,
) -> None:
    requested = await promise_callback(stack, settings, clock)
    view = await callback_view(stack, token, requested.callback_id)

    # scheduled in the guardian's own hours: 09:00-20:00 Shanghai time, never 21:00-08:00
    due = datetime.fromisoformat(view["due_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert view["status"] == "scheduled"
    assert 9 <= due.hour < 20
    assert view["timezone"] == "Asia/Shanghai"
    assert view["promised_local"].endswith("(CST)")

    # the guardian is told the promised window, in Chinese, by SMS (the sandbox process got it)
    recipient = f"callback:{requested.callback_id}"
    told = await sent_message(stack, token, recipient, "callback_scheduled")
    [sms] = await eventually(
        lambda: sandboxes.providers[told["channel"]].amessages(told["notification_id"])
    )
    assert sms["to"] == "+8613800000009"
    assert "我们的专员将在" in sms["body"]
    assert f"{due.month}月{due.day}日 {due:%H:%M}" in sms["body"]

    # the specialist queue sees it, ordered by due time (the queue is projected from the
    # callbacks topic, the message above from the messages topic: wait for the callback)
    async def queued() -> list[Any] | None:
        answer = await stack["notifications"].client.get(
            "/queues/minors_family/callbacks", headers=auth(token("specialist"))
        )
        listed: list[Any] = answer.json()
        found = [c for c in listed if c["callback_id"] == str(requested.callback_id)]
        return listed if found else None

    queue = await eventually(queued)
    assert [c["due_at"] for c in queue] == sorted(c["due_at"] for c in queue)
    [mine] = [c for c in queue if c["callback_id"] == str(requested.callback_id)]
    assert mine["phone"] == "+8613800000009"
    assert mine["recipient_role"] == "proxy"

    # a reminder goes to the queue (and the guardian) before the call is due
    lead = datetime.fromisoformat(view["due_at"]) - timedelta(minutes=15) - clock.now()
    clock.advance(max(lead, timedelta()) + timedelta(seconds=1))
    await fire_timers(stack)

    async def reminded() -> Any:
        answer = await stack["notifications"].client.get(
            "/queues/minors_family/callbacks", headers=auth(token("specialist"))
        )
        found = [c for c in answer.json() if c["callback_id"] == str(requested.callback_id)]
        return found and found[0]["reminded_at"]

    await eventually(reminded)
    await sent_message(stack, token, recipient, "callback_reminder")

    # no answer: the next attempt is due after the spacing (2 h), still in allowed hours
    after_first = await record(stack, token, requested.callback_id, "no_answer")
    next_due = datetime.fromisoformat(after_first["due_at"])
    assert next_due >= clock.now() + timedelta(hours=2) - timedelta(seconds=5)
    assert 8 <= next_due.astimezone(ZoneInfo("Asia/Shanghai")).hour < 21

    # reached on the second try: kept, and cases hears it
    kept = await record(stack, token, requested.callback_id, "reached")
    assert kept["status"] == "completed"
    answers = await answers_once(
        settings, requested.callback_id, "notifications.callback_completed"
    )
    types = [e.event_type for e in answers]
    assert "notifications.callback_completed" in types
    assert "notifications.callback_missed" not in types
    [completed] = [e for e in answers if e.event_type == "notifications.callback_completed"]
    assert completed.payload["case_id"] == str(requested.case_id)
    assert completed.payload["attempts"] == 2

    # the deadline no longer fires: nothing is missed when the window ends
    clock.advance(timedelta(hours=25))
    await fire_timers(stack)
    answers = await callback_answers(settings, requested.callback_id)
    assert "notifications.callback_missed" not in [e.event_type for e in answers]


async def test_flow_5_unanswered_callback_retries_tells_the_guardian_and_is_missed(
    stack: Stack,
    settings: ServiceSettings,
    clock: OffsetClock,
    token: Callable[..., str],
    sandboxes: Sandboxes,
) -> None:
    # the guardian lives abroad: called in Paris hours, told in French
    requested = await promise_callback(
        stack, settings, clock, timezone="Europe/Paris", phone="+33612345678", language="fr"
    )
    view = await callback_view(stack, token, requested.callback_id)
    due = datetime.fromisoformat(view["due_at"]).astimezone(ZoneInfo("Europe/Paris"))
    assert 9 <= due.hour < 20

    recipient = f"callback:{requested.callback_id}"
    told = await sent_message(stack, token, recipient, "callback_scheduled")
    [sms] = await sandboxes.providers[told["channel"]].amessages(told["notification_id"])
    assert sms["to"] == "+33612345678"
    assert sms["body"].startswith("Un spécialiste vous appellera entre")

    # three unanswered attempts, each when due (never in quiet hours), after the spacing
    for _ in range(3):
        wait = datetime.fromisoformat(view["due_at"]) - clock.now()
        if wait > timedelta():
            clock.advance(wait)
        view = await record(stack, token, requested.callback_id, "no_answer")
    assert view["attempts"] == 3

    # then the guardian is told we tried and how to reach us, once
    tried = await sent_message(stack, token, recipient, "callback_unreachable")
    [note] = await sandboxes.providers[tried["channel"]].amessages(tried["notification_id"])
    assert "Nous n'avons pas pu vous joindre" in note["body"]
    assert "400-000-0000" in note["body"]

    # the window ends without reaching them: missed, on the callbacks topic, for cases
    clock.advance(datetime.fromisoformat(view["window_end"]) - clock.now() + timedelta(seconds=1))
    await fire_timers(stack)

    async def missed() -> Any:
        answers = await callback_answers(settings, requested.callback_id)
        return [e for e in answers if e.event_type == "notifications.callback_missed"]

    [event] = await eventually(missed)
    assert event.payload["case_id"] == str(requested.case_id)
    assert event.payload["attempts"] == 3
    view = await callback_view(stack, token, requested.callback_id)
    assert view["status"] == "missed"

    # nothing more can happen to it, and firing the timers again changes nothing
    await fire_timers(stack)
    answers = await callback_answers(settings, requested.callback_id)
    assert [e.event_type for e in answers].count("notifications.callback_missed") == 1
    refused = await stack["notifications"].client.post(
        f"/callbacks/{requested.callback_id}/attempts",
        json={"outcome": "reached"},
        headers=auth(token("specialist")),
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == "the callback is missed"


async def test_a_repeated_callback_request_is_taken_on_once(
    stack: Stack,
    settings: ServiceSettings,
    clock: OffsetClock,
    token: Callable[..., str],
    sandboxes: Sandboxes,
) -> None:
    requested = await promise_callback(stack, settings, clock)
    # cases publishes the very same promise again, as a new event
    again = await publish(
        settings,
        requested,
        f"case-{requested.case_id}",
        producer="cases",
        privacy=stack["cases"].runtime.privacy,
        stream_version=2,
    )
    pool = stack["notifications"].runtime.pool

    async def seen() -> bool:
        return bool(
            await pool.fetchval(
                """SELECT 1 FROM consumer_inbox
                   WHERE consumer_group = 'notifications.callback_requests' AND event_id = $1""",
                again.event_id,
            )
        )

    await eventually(seen)
    outcome = await pool.fetchval(
        """SELECT outcome FROM consumer_inbox
           WHERE consumer_group = 'notifications.callback_requests' AND event_id = $1""",
        again.event_id,
    )
    assert outcome == "applied"  # taken, found to be known, changed nothing (no dead letter)
    recipient = f"callback:{requested.callback_id}"
    await sent_message(stack, token, recipient, "callback_scheduled")
    accepted = await pool.fetchval(
        """SELECT count(*) FROM events WHERE stream_id = $1
             AND event_type = 'notifications.callback_requested'""",
        f"callback-{requested.callback_id}",
    )
    assert accepted == 1
    told = await messages_to(stack, token, recipient)
    assert [m["kind"] for m in told].count("callback_scheduled") == 1


def winter_day_in_berlin(clock: OffsetClock) -> date:
    """The first day at least two days from now on which Berlin keeps CET (UTC+1): an agent's
    promise within the horizon whose local times the test can spell out."""
    day = (clock.now() + timedelta(days=2)).date()
    berlin = ZoneInfo("Europe/Berlin")
    while datetime.combine(day, time(12), berlin).utcoffset() != timedelta(hours=1):
        day += timedelta(days=1)
    return day


def agent_request(customer: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "case_id": str(uuid.uuid4()),
        "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
        "customer_id": customer,
        "queue": "wallet_payments",
        "recipient_role": "holder",
        "phone": "+4915112345678",
        "timezone": "Europe/Berlin",
        "language": {"tag": "de"},
        "window_start": "2030-01-07T07:00:00Z",
        "window_end": "2030-01-08T19:00:00Z",
    }
    body.update(overrides)
    return body


async def test_an_agent_promises_a_callback_and_the_customer_moves_or_cancels_only_their_own(
    stack: Stack,
    settings: ServiceSettings,
    clock: OffsetClock,
    token: Callable[..., str],
    sandboxes: Sandboxes,
) -> None:
    client = stack["notifications"].client
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    day = winter_day_in_berlin(clock)
    body = agent_request(
        customer,
        window_start=f"{day}T07:00:00Z",
        window_end=f"{day + timedelta(days=1)}T19:00:00Z",
    )
    created = await client.post(
        "/callbacks",
        json=body,
        headers={**auth(token("agent")), "Idempotency-Key": f"cb-{customer}"},
    )
    assert created.status_code == 201, created.text
    callback = created.json()
    # 08:00 in Berlin (CET) is before preferred hours: 09:00 local (08:00 UTC)
    assert callback["due_at"] == f"{day}T08:00:00Z"
    assert callback["reschedules_left"] == 2
    callback_id = callback["callback_id"]
    mine, theirs = auth(token("customer", sub=customer)), auth(token("customer", sub="cust-other"))

    # the customer sees their own callback; someone else gets 404
    assert (await client.get(f"/callbacks/{callback_id}", headers=mine)).status_code == 200
    assert (await client.get(f"/callbacks/{callback_id}", headers=theirs)).status_code == 404
    moved = await client.post(
        f"/callbacks/{callback_id}/reschedule",
        json={"start": f"{day}T13:00:00Z"},
        headers=theirs,
    )
    assert moved.status_code == 404

    # into their quiet hours: refused with the reason
    quiet = await client.post(
        f"/callbacks/{callback_id}/reschedule",
        json={"start": f"{day}T21:30:00Z"},
        headers=mine,
    )
    assert quiet.status_code == 409
    assert "quiet hours" in quiet.json()["detail"]

    # twice, then no more
    for hour in (13, 14):
        moved = await client.post(
            f"/callbacks/{callback_id}/reschedule",
            json={"start": f"{day}T{hour}:00:00Z"},
            headers=mine,
        )
        assert moved.status_code == 200, moved.text
    assert moved.json()["promised_local"] == f"{day} 15:00 to {day} 16:00 (CET)"
    third = await client.post(
        f"/callbacks/{callback_id}/reschedule",
        json={"start": f"{day}T15:00:00Z"},
        headers=mine,
    )
    assert third.status_code == 409
    assert third.json()["detail"] == "a callback can be rescheduled at most 2 times"

    # told about the new time in German, by SMS
    recipient = f"account:{body['account_ref']}"
    rescheduled = await sent_message(stack, token, recipient, "callback_rescheduled")
    assert rescheduled["language"] == "de"

    cancelled = await client.post(
        f"/callbacks/{callback_id}/cancel", json={"reason": "solved"}, headers=mine
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = await client.post(f"/callbacks/{callback_id}/cancel", json={}, headers=mine)
    assert again.status_code == 409

    answers = await answers_once(settings, callback_id, "notifications.callback_cancelled")
    assert "notifications.callback_cancelled" in [e.event_type for e in answers]


async def test_callback_requests_are_validated(stack: Stack, token: Callable[..., str]) -> None:
    client = stack["notifications"].client
    bad = await client.post(
        "/callbacks",
        json=agent_request("c", timezone="Mars/Base", phone="12345", extra=1),
        headers=auth(token("agent")),
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"timezone", "phone", "extra"}
    customer = await client.post(
        "/callbacks", json=agent_request("c"), headers=auth(token("customer"))
    )
    assert customer.status_code == 403
    past = await client.post(
        "/callbacks",
        json=agent_request(
            "c", window_start="2020-01-01T00:00:00Z", window_end="2020-01-02T00:00:00Z"
        ),
        headers=auth(token("agent")),
    )
    assert past.status_code == 409
    unknown = await client.get(f"/callbacks/{uuid.uuid4()}", headers=auth(token("agent")))
    assert unknown.status_code == 404


async def test_an_attempt_in_quiet_hours_or_beyond_max_attempts_is_refused_naming_the_rule(
    stack: Stack, clock: OffsetClock, token: Callable[..., str], sandboxes: Sandboxes
) -> None:
    client = stack["notifications"].client
    staff = auth(token("specialist", sub="spec-wallet-1"))
    now = clock.now()
    # the person's quiet hours (UTC) run from an hour ago to three hours from now
    quiet = {
        "start": f"{now - timedelta(hours=1):%H:%M}",
        "end": f"{now + timedelta(hours=3):%H:%M}",
    }
    body = agent_request(
        f"cust-{uuid.uuid4().hex[:8]}",
        timezone="UTC",
        window_start=now.isoformat(),
        window_end=(now + timedelta(hours=20)).isoformat(),
        quiet_hours=quiet,
        preferred_hours={"start": quiet["end"], "end": quiet["start"]},
        max_attempts=1,
    )
    created = await client.post("/callbacks", json=body, headers=auth(token("agent")))
    assert created.status_code == 201, created.text
    callback_id = created.json()["callback_id"]

    async def attempt(outcome: str) -> Any:
        return await client.post(
            f"/callbacks/{callback_id}/attempts", json={"outcome": outcome}, headers=staff
        )

    # calling now would wake them: 409, the rule named, nothing recorded
    quiet_call = await attempt("no_answer")
    assert quiet_call.status_code == 409, quiet_call.text
    assert quiet_call.headers["content-type"] == "application/problem+json"
    assert quiet_call.json()["rule"] == "quiet_hours"
    assert "quiet hours" in quiet_call.json()["detail"]
    shown = await client.get(f"/callbacks/{callback_id}", headers=staff)
    assert shown.json()["attempts"] == 0

    # when due, the one attempt allowed is taken; a second is refused
    clock.advance(
        datetime.fromisoformat(created.json()["due_at"]) - clock.now() + timedelta(minutes=1)
    )
    first = await attempt("no_answer")
    assert first.status_code == 200, first.text
    assert first.json()["attempts"] == 1
    beyond = await attempt("reached")
    assert beyond.status_code == 409, beyond.text
    assert beyond.json()["rule"] == "max_attempts"
    shown = await client.get(f"/callbacks/{callback_id}", headers=staff)
    assert (shown.json()["attempts"], shown.json()["status"]) == (1, "scheduled")

    # moved to a new time, the callback gets its attempts again
    start = clock.now() + timedelta(hours=2)
    moved = await client.post(
        f"/callbacks/{callback_id}/reschedule", json={"start": start.isoformat()}, headers=staff
    )
    assert moved.status_code == 200, moved.text
    clock.advance(start - clock.now())
    reached = await attempt("reached")
    assert reached.status_code == 200, reached.text
    assert (reached.json()["attempts"], reached.json()["status"]) == (2, "completed")


async def test_a_promise_beyond_the_horizon_is_refused_naming_the_field(
    stack: Stack, token: Callable[..., str]
) -> None:
    client = stack["notifications"].client
    for window_end in ("9999-12-31T23:00:00Z", "2199-01-01T00:00:00Z"):
        body = agent_request(f"cust-{uuid.uuid4().hex[:8]}", window_end=window_end)
        refused = await client.post("/callbacks", json=body, headers=auth(token("agent")))
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in refused.json()["errors"]] == ["window_end"]
        written = await stack["notifications"].runtime.pool.fetchval(
            """SELECT count(*) FROM events WHERE event_type = 'notifications.callback_requested'
                 AND envelope->'payload'->>'case_id' = $1""",
            body["case_id"],
        )
        assert written == 0


async def test_a_callback_request_is_bounded_like_every_contract(
    stack: Stack, token: Callable[..., str]
) -> None:
    client = stack["notifications"].client
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    for overrides, field in (
        ({"language": {"tag": "zh" + "-CN" * 30_000}}, "language.tag"),  # the pattern repeats
        ({"account_ref": "acct with spaces"}, "account_ref"),  # one identifier pattern
        ({"customer_id": "c" * 129}, "customer_id"),
    ):
        refused = await client.post(
            "/callbacks", json=agent_request(customer, **overrides), headers=auth(token("agent"))
        )
        assert refused.status_code == 422, (field, refused.text)
        assert field in {e["field"] for e in refused.json()["errors"]}, refused.text


async def test_a_customer_moving_or_cancelling_callbacks_is_rate_limited(
    stack: Stack, clock: OffsetClock, token: Callable[..., str]
) -> None:
    app = stack["notifications"].app
    kept = getattr(app.state, "rate_limiter", None)
    app.state.rate_limiter = RateLimiter({"customer": Rate(2, 3600)})
    try:
        customer = f"cust-{uuid.uuid4().hex[:8]}"
        mine = auth(token("customer", sub=customer))
        client = stack["notifications"].client
        answers = []
        for path in ("reschedule", "cancel", "cancel"):
            answer = await client.post(
                f"/callbacks/{uuid.uuid4()}/{path}",
                json={"start": (clock.now() + timedelta(days=1)).isoformat()}
                if path == "reschedule"
                else {},
                headers=mine,
            )
            answers.append(answer)
        assert [a.status_code for a in answers] == [404, 404, 429]
        assert answers[-1].headers["content-type"] == "application/problem+json"
        assert int(answers[-1].headers["Retry-After"]) >= 1
    finally:
        app.state.rate_limiter = kept
