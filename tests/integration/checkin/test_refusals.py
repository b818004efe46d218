# ruff: noqa: RUF001  (full-width punctuation is correct in Chinese and Japanese text)
"""Refusals and answers a frontend can use, over HTTP: a refusal that offers a way forward
gives it as fields (the rule, the queue as code and label, the next opening and closing in the
site's zone, the alternatives as codes with labels, the sentence in the person's language),
and its ``detail`` names no internal queue code and mixes no time zones; a ticket gives its
place as data and as a sentence in the person's language, and a called phone or chat contact
is told that an agent is about to contact them (not to go to a window)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from runtime.scheduler import OffsetClock
from tests.conftest import auth
from tests.integration.checkin.helpers import Desk
from tests.integration.checkin.test_assignment import ContactCenter
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


def _zone_at(clock: OffsetClock, hour: int) -> str:
    """A fixed-offset zone where it is about ``hour`` o'clock now (never UTC's own offset)."""
    now = clock.now()
    offset = (hour - now.hour + 12) % 24 - 12
    if offset == 0:
        offset = 1 if hour < 23 else -1  # a zone other than UTC, the hour one off
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # Etc/GMT-N is UTC+N


def _offsets(text: str) -> set[str]:
    return set(re.findall(r"[+-]\d\d:\d\d\b|Z\b", text))


async def _issue(desk: Desk, category: str, tag: str) -> Any:
    return await desk.client.post(
        "/tickets",
        json={
            "site_id": desk.site_id,
            "intake": {
                "problem_category": category,
                "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
                "language": {"tag": tag},
            },
        },
        headers=desk.supervisor,
    )


async def test_the_closing_rule_gives_its_way_forward_as_fields_in_the_sites_zone(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    zone = _zone_at(clock, 12)
    local = clock.now().astimezone(ZoneInfo(zone))
    closes = (local + timedelta(minutes=40)).replace(second=0, microsecond=0)
    tomorrow = (local + timedelta(days=1)).weekday()
    desk = Desk(stack["checkin"].client, token)
    await desk.configure(
        timezone=zone,
        opening_hours=[
            {"weekday": local.weekday(), "opens": "00:00", "closes": f"{closes:%H:%M}"},
            {"weekday": tomorrow, "opens": "09:00", "closes": "17:00"},
        ],
        queues=[{"queue": "general", "default_service_minutes": 50}],
    )
    await desk.agent("desk-1", queues=["general"])
    # one service (50 min) runs past closing (40 min away) even with nobody ahead
    answer = await _issue(desk, "other", "zh-CN")
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    refused = answer.json()
    site_offset = local.strftime("%z")
    site_offset = f"{site_offset[:3]}:{site_offset[3:]}"
    # the detail: no internal queue code, no "0-0 min", one zone (the site's)
    assert "general" not in refused["detail"].replace("General enquiries", "")
    assert "0-0 min" not in refused["detail"]
    assert "cannot serve you before closing" in refused["detail"]
    assert "it opens again at" in refused["detail"]
    assert f"({zone})" in refused["detail"]
    assert _offsets(refused["detail"]) <= {site_offset}
    # the fields
    assert refused["rule"] == "served_before_closing"
    assert refused["queue"] == {"code": "general", "label": "综合服务"}
    assert refused["time_zone"] == zone
    closes_at = datetime.fromisoformat(refused["closes_at"])
    assert refused["closes_at"].endswith(site_offset)
    assert closes_at == closes
    opening = datetime.fromisoformat(refused["next_opening"])
    assert refused["next_opening"].endswith(site_offset)
    assert (opening.weekday(), opening.hour, opening.minute) == (tomorrow, 9, 0)
    assert refused["alternatives"] == [
        {"code": "appointment", "label": "预约到店"},
        {"code": "callback", "label": "申请回电"},
    ]
    assert refused["language"] == "zh-CN"
    assert refused["message"] == (
        f"综合服务今天在 {closes:%H:%M} 下班前无法为您办理。"
        f"下次开放时间：{opening:%Y-%m-%d} 09:00。您也可以：预约到店或申请回电。"
    )
    # the same refusal for an English speaker: labels and sentence in English
    english = (await _issue(desk, "other", "en-GB")).json()
    assert english["queue"] == {"code": "general", "label": "General enquiries"}
    assert english["alternatives"][0] == {"code": "appointment", "label": "Book an appointment"}
    assert english["message"] == (
        f"General enquiries cannot serve you before closing at {closes:%H:%M}. It opens again "
        f"at {opening:%Y-%m-%d} 09:00. You can also book an appointment or ask for a callback."
    )


async def test_closed_queue_and_closed_site_refusals_name_the_next_opening_as_a_field(
    stack: dict[str, RunningService], token: Callable[..., str], clock: OffsetClock
) -> None:
    zone = "Asia/Shanghai"
    local = clock.now().astimezone(ZoneInfo(zone))
    tomorrow = (local + timedelta(days=1)).weekday()
    desk = Desk(stack["checkin"].client, token)
    await desk.configure(
        timezone=zone,
        opening_hours=[
            {"weekday": local.weekday(), "opens": "00:00", "closes": "23:59"},
            {"weekday": tomorrow, "opens": "08:30", "closes": "17:00"},
        ],
    )
    if local.hour == 23 and local.minute >= 58:
        pytest.skip("the site's day is ending: this test needs it open")
    closed = await desk.client.post(
        f"/sites/{desk.site_id}/queues/general/close", json={}, headers=desk.supervisor
    )
    assert closed.status_code == 200, closed.text
    refused = (await _issue(desk, "other", "fr")).json()
    assert refused["status"] == 409
    assert refused["rule"] == "queue_closed_today"
    assert refused["queue"] == {"code": "general", "label": "Demandes générales"}
    assert refused["time_zone"] == zone
    assert refused["next_opening"].endswith("+08:00")
    opening = datetime.fromisoformat(refused["next_opening"])
    assert (opening.weekday(), opening.hour, opening.minute) == (tomorrow, 8, 30)
    assert refused["message"] == (
        f"Demandes générales est fermé pour aujourd'hui. Réouverture le {opening:%Y-%m-%d} 08:30."
    )
    assert refused["alternatives"] == []
    assert _offsets(refused["detail"]) <= {"+08:00"}

    # a site closed now (it opens tomorrow only), asked in Japanese
    later = Desk(stack["checkin"].client, token)
    await later.configure(
        timezone=zone, opening_hours=[{"weekday": tomorrow, "opens": "10:00", "closes": "17:00"}]
    )
    refused = (await _issue(later, "account_suspended", "ja")).json()
    assert refused["rule"] == "site_closed_now"
    assert refused["queue"] == {"code": "account_security", "label": "アカウントのセキュリティ"}
    opening = datetime.fromisoformat(refused["next_opening"])
    assert refused["next_opening"].endswith("+08:00")
    assert refused["message"] == (
        f"このサービスセンターは現在営業時間外です。次の受付開始は {opening:%Y-%m-%d} 10:00 です。"
    )
    assert "is closed now; it opens at" in refused["detail"]
    assert _offsets(refused["detail"]) <= {"+08:00"}


async def test_a_ticket_gives_its_place_as_data_and_as_a_sentence_in_its_language(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    desk = Desk(stack["checkin"].client, token)
    await desk.configure()
    first = await desk.issue(language={"tag": "de"})
    second = await desk.issue(language={"tag": "zh-CN"})
    assert first["place"] == {"ahead": 0, "you_are_next": True}
    assert first["language"] == "de"
    assert first["message"].startswith("Sie sind als Nächstes dran.")
    assert second["place"] == {"ahead": 1, "you_are_next": False}
    assert second["message"].startswith("您前面还有 1 位。")
    estimate = second["estimate"]
    if estimate["high_minutes"]:
        assert (
            f"预计等待 {estimate['low_minutes']}–{estimate['high_minutes']} 分钟。"
            in (second["message"])
        )
    # the same, read again by the app
    read = await desk.client.get(f"/tickets/{second['ticket_id']}", headers=desk.supervisor)
    assert read.json()["place"] == {"ahead": 1, "you_are_next": False}
    assert read.json()["message"].startswith("您前面还有 1 位。")
    # called to a desk: where to go
    _, agent = await desk.agent("desk-2")
    called = await desk.client.post(
        f"/tickets/{first['ticket_id']}/call", json={"desk_id": "desk-2"}, headers=agent
    )
    assert called.status_code == 200, called.text
    assert called.json()["place"] is None
    assert called.json()["message"] == "Sie sind dran: bitte kommen Sie zu Schalter desk-2."


async def test_a_called_chat_contact_is_told_an_agent_is_about_to_contact_them(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    center = ContactCenter(checkin.client, token)
    await center.configure()
    await center.remote_agent("li", "desk-1", limits={"chat": 2, "phone": 1})
    for channel in ("chat_web", "phone"):
        contact = await center.contact(channel)
        assert contact["status"] == "called", contact
        read = await checkin.client.get(
            f"/tickets/{contact['ticket_id']}", headers=auth(token("supervisor"))
        )
        assert read.status_code == 200, read.text
        told = read.json()["message"]
        assert told == "轮到您了，客服马上会与您联系，请保持电话或对话畅通。"
        assert "窗口" not in told
        assert "desk-1" not in told
