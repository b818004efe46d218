# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)
"""One-time code messages: what their request may hold (a claim reference, never a code), no
fallback to another channel, the claim client's answers and refusals (never quoting the code),
and notification_requested v3 (subject, code delivery) read from v2."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest

from contracts.events.notifications import (
    CodeDelivery,
    MessageChannel,
    MessagePurpose,
    NotificationFailed,
    NotificationKind,
    NotificationRequested,
)
from contracts.registry import REGISTRY
from runtime.errors import RuleViolation
from services.notifications.adapters.code_claims import (
    ClaimedCode,
    ClaimRefused,
    VerificationCodeClaims,
)
from services.notifications.domain.messages import (
    NOTIFICATION,
    Notification,
    RequestNotification,
    code_minutes,
    decide_failed,
    decide_request,
    decide_send_failure,
)
from services.notifications.domain.templates import render

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DELIVERY = CodeDelivery(
    verification_id=UUID("11111111-2222-4333-8444-555555555555"),
    delivery_id=UUID("66666666-7777-4888-9999-000000000000"),
    claim_path="/internal/code-deliveries/66666666-7777-4888-9999-000000000000/claim",
    claim_before=T0 + timedelta(minutes=2),
)


def code_request(**overrides: object) -> RequestNotification:
    fields: dict[str, object] = {
        "kind": NotificationKind.ONE_TIME_CODE,
        "channels": (MessageChannel.SMS,),
        "recipient_ref": "account:acct-1",
        "language": "fr-FR",
        "triggered_by": UUID("9b0e7c52-1d3f-4a8e-b6c2-5f4d3e2a1b07"),
        "variables": {},
        "at": T0,
        "purpose": MessagePurpose.ONE_TIME_CODE,
        "account_ref": "acct-1",
        "code_delivery": DELIVERY,
    }
    fields.update(overrides)
    return RequestNotification(**fields)  # type: ignore[arg-type]


def test_a_code_message_names_its_claim_and_holds_no_code_and_no_address() -> None:
    [requested] = decide_request(Notification(), code_request())
    assert isinstance(requested, NotificationRequested)
    assert requested.code_delivery == DELIVERY
    assert requested.variables == {}
    assert requested.to_phone is None
    assert requested.subject_ref == "account:acct-1"
    state = NOTIFICATION.fold([requested])
    assert state.code_delivery == DELIVERY
    assert state.address is None  # the destination comes with the claimed code


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code_delivery": None}, "names its code delivery"),
        ({"kind": NotificationKind.CASE_DECISION}, "names its code delivery"),
        ({"purpose": MessagePurpose.SERVICE}, "one_time_code purpose"),
        ({"variables": {"code": "123456"}}, "no variables or address"),
        ({"addresses": {MessageChannel.SMS: "+8613800000001"}}, "no variables or address"),
    ],
)
def test_a_code_message_is_refused_when_malformed(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(RuleViolation, match=message):
        decide_request(Notification(), code_request(**overrides))


def test_a_code_is_never_sent_on_another_channel() -> None:
    state = NOTIFICATION.fold(
        decide_request(Notification(), code_request(channels=(MessageChannel.SMS,)))
    )
    [failed] = decide_send_failure(
        state, "HTTP 400", transient=False, at=T0, jitter=0.5, max_attempts=4
    )
    assert isinstance(failed, NotificationFailed)
    assert failed.fallback_channel is None


def test_a_code_message_fails_finally_with_its_reason() -> None:
    state = NOTIFICATION.fold(decide_request(Notification(), code_request()))
    [failed] = decide_failed(state, "code delivery is stale", T0)
    assert isinstance(failed, NotificationFailed)
    assert failed.fallback_channel is None
    assert failed.reason == "code delivery is stale"
    with pytest.raises(RuleViolation):
        decide_failed(NOTIFICATION.evolve(state, failed), "again", T0)


@pytest.mark.parametrize(
    ("valid_for", "minutes"),
    [(timedelta(minutes=5), 5), (timedelta(seconds=299), 4), (timedelta(seconds=20), 1)],
)
def test_the_message_never_overstates_how_long_the_code_is_valid(
    valid_for: timedelta, minutes: int
) -> None:
    assert code_minutes(T0 + valid_for, T0) == minutes


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", "您的验证码是 482913，5 分钟内有效。"),
        ("en", "Your code is 482913. It expires in 5 minutes."),
        ("fr-FR", "Votre code est 482913. Il expire dans 5 minutes."),
        ("de", "Ihr Code lautet 482913. Er läuft in 5 Minuten ab."),
        ("ja", "確認コードは 482913 です。有効期限は 5 分です。"),
    ],
)
def test_the_code_template_in_every_language(language: str, expected: str) -> None:
    rendered = render(NotificationKind.ONE_TIME_CODE, language, {"code": "482913", "minutes": "5"})
    assert rendered.body.startswith(expected)


# -- notification_requested v3 ---------------------------------------------------------------


def test_v2_messages_read_as_v3_with_their_account_as_subject() -> None:
    sample = json.loads(
        open("contracts/samples/notifications.notification_requested.v2.json").read()  # noqa: SIM115
    )
    decoded = REGISTRY.decode("notifications.notification_requested", 2, sample)
    assert isinstance(decoded, NotificationRequested)
    assert decoded.subject_ref == "account:acct-fake-0002"
    assert decoded.data_subject_id == "account:acct-fake-0002"
    assert decoded.code_delivery is None
    without_account = REGISTRY.decode(
        "notifications.notification_requested",
        2,
        {**sample, "account_ref": None, "to_phone": None, "to_wechat": None},
    )
    assert isinstance(without_account, NotificationRequested)
    assert without_account.subject_ref is None
    as_v3 = REGISTRY.definition("notifications.notification_requested").versions[3]
    upcast_to_v3 = as_v3.model_validate(without_account.model_dump(mode="json"))
    assert upcast_to_v3.data_subject_id is None
    # v5 seals the variables under the recipient's own key when no subject is named
    assert without_account.data_subject_id == without_account.recipient_ref


def test_the_data_subject_of_v3_is_its_subject_ref() -> None:
    organization = f"organization:{uuid4()}"
    payload = NotificationRequested.model_validate(
        {
            **json.loads(
                open("contracts/samples/notifications.notification_requested.v3.json").read()  # noqa: SIM115
            ),
            "subject_ref": organization,
        }
    )
    assert payload.data_subject_id == organization
    with pytest.raises(ValueError, match="subject_ref"):
        NotificationRequested.model_validate({**payload.model_dump(), "subject_ref": "ticket:1"})


def test_addresses_without_a_subject_are_refused() -> None:
    with pytest.raises(RuleViolation, match="data subject"):
        decide_request(
            Notification(),
            RequestNotification(
                kind=NotificationKind.TICKET_ISSUED,
                channels=(MessageChannel.SMS,),
                recipient_ref="ticket:1",
                language="en",
                triggered_by=uuid4(),
                variables={"number": "A1"},
                at=T0,
                addresses={MessageChannel.SMS: "+8613800000001"},
            ),
        )


# -- the claim client ------------------------------------------------------------------------


def claims(handler: httpx.MockTransport) -> VerificationCodeClaims:
    return VerificationCodeClaims("http://verification", lambda: "t0ken", transport=handler)


async def test_a_claim_returns_the_code_and_keeps_it_out_of_repr() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "code": "482913",
                "channel": "sms",
                "destination": "+8613800000001",
                "language": "fr",
                "expires_at": "2026-11-23T08:05:00+00:00",
            },
        )

    claimed = await claims(httpx.MockTransport(answer)).claim(DELIVERY)
    assert isinstance(claimed, ClaimedCode)
    assert claimed.code == "482913"
    assert claimed.destination == "+8613800000001"
    assert "482913" not in repr(claimed)
    assert "+8613800000001" not in repr(claimed)
    assert seen[0].url.path == DELIVERY.claim_path
    assert seen[0].headers["Authorization"] == "Bearer t0ken"


@pytest.mark.parametrize(
    ("status", "transient"), [(409, False), (404, False), (403, False), (503, True), (429, True)]
)
async def test_a_refused_claim_says_why_and_whether_to_try_again(
    status: int, transient: bool
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"detail": "this code was already claimed"})

    with pytest.raises(ClaimRefused) as refused:
        await claims(httpx.MockTransport(answer)).claim(DELIVERY)
    assert refused.value.transient is transient
    assert f"({status}: this code was already claimed)" in refused.value.reason


async def test_an_unreachable_verification_is_transient() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(ClaimRefused) as refused:
        await claims(httpx.MockTransport(answer)).claim(DELIVERY)
    assert refused.value.transient


async def test_a_malformed_answer_never_quotes_the_code() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": "482913", "channel": "sms"})

    with pytest.raises(ClaimRefused) as refused:
        await claims(httpx.MockTransport(answer)).claim(DELIVERY)
    assert "482913" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


async def test_only_verifications_claim_paths_are_called() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise AssertionError("not called")

    odd = DELIVERY.model_copy(update={"claim_path": "https://elsewhere.example/steal"})
    with pytest.raises(ClaimRefused, match="unexpected claim path"):
        await claims(httpx.MockTransport(answer)).claim(odd)
