"""The case file is written by the command that changes the case (an inline projection,
runtime/inline.py): a case is on it when its events commit, with no wait for Kafka, and the
live consumer that later reads the same events changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runtime.settings import ServiceSettings
from runtime.trace import events_of_flow, mark_applied
from tests.conftest import auth
from tests.integration.cases.support import new_account
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import settled

pytestmark = pytest.mark.integration


async def test_a_case_and_its_note_are_on_the_case_file_when_the_commands_answer(
    stack: dict[str, RunningService], token: Callable[..., str], settings: ServiceSettings
) -> None:
    service = stack["cases"]
    agent = auth(token("agent", sub="agent-inline"))
    opened = await service.client.post(
        "/cases",
        json={
            "account_ref": new_account(),
            "case_type": "account_suspension_appeal",
            "channel": "phone",
            "language": {"tag": "zh-CN"},
            "words": "my account was suspended",
        },
        headers=agent,
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]

    # read at once, without Frontdesk-After: no wait for the relay, Kafka or a consumer
    case = await service.client.get(f"/cases/{case_id}", headers=agent)
    assert case.status_code == 200, case.text
    assert case.json()["status"] == "open"

    noted = await service.client.post(
        f"/cases/{case_id}/notes", json={"text": "asked for the appeal form"}, headers=agent
    )
    assert noted.status_code == 201, noted.text
    notes = await service.client.get(f"/cases/{case_id}/notes", headers=agent)
    assert [note["text"] for note in notes.json()] == ["asked for the appeal form"]

    async def applied() -> list[Any]:
        rows = await service.runtime.pool.fetch(
            """SELECT e.stream_version, i.outcome FROM consumer_inbox i
               JOIN events e USING (event_id)
               WHERE i.consumer_group = 'cases.projections' AND e.stream_id = $1
               ORDER BY e.stream_version""",
            f"case-{case_id}",
        )
        return [tuple(row) for row in rows]

    inline = await applied()
    # every event of the case, the opening and the note, applied by its own command
    assert [version for version, _ in inline] == list(range(1, len(inline) + 1))
    assert len(inline) >= 2
    assert {outcome for _, outcome in inline} == {"inline"}

    # the live consumer reaches the published events and finds them applied: once, not twice
    await settled(stack)
    assert await applied() == inline
    # and following the flow, the case's opening shows as applied by the case file
    opening = await events_of_flow(settings, opened.headers["X-Correlation-Id"])
    await mark_applied(settings, ["cases"], opening)
    assert any(
        event.event_type == "cases.case_opened" and "cases.projections" in event.applied_by
        for event in opening
    )
    again = await service.client.get(f"/cases/{case_id}/notes", headers=agent)
    assert [note["text"] for note in again.json()] == ["asked for the appeal form"]
