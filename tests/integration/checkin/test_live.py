"""The live streams of check-in (services/checkin/api/live.py over runtime.streams): who may watch
which view, what a view holds (the public board: numbers and desks only), and a stream read
over real HTTP that pushes a call and resumes with Last-Event-ID."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn

from tests.conftest import auth, eventually
from tests.integration.checkin.helpers import Desk
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def served(stack: dict[str, RunningService]) -> AsyncIterator[str]:
    """The in-process check-in app over a real socket (streams need a streaming transport)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        stack["checkin"].app, host="127.0.0.1", port=port, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, result=server.started), within=30)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)


async def _views(
    url: str, headers: dict[str, str], count: int = 1, within: float = 30.0
) -> list[tuple[str, Any]]:
    """The first ``count`` events of a stream: (id, data)."""
    found: list[tuple[str, Any]] = []

    async def read() -> None:
        async with (
            httpx.AsyncClient(timeout=60) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            event_id = None
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    found.append((event_id or "", json.loads(line[6:])))
                    if len(found) == count:
                        return

    with contextlib.suppress(TimeoutError):  # nothing new within the deadline
        await asyncio.wait_for(read(), within)
    return found


async def test_each_stream_is_authorized_like_its_json_endpoint(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"].client
    desk = Desk(checkin, token)
    await desk.configure()
    ticket = await desk.issue(customer="cust-live-1")
    agent_id, _ = await desk.agent(None)
    site = desk.site_id

    async def status(path: str, headers: dict[str, str] | None = None) -> int:
        return (await checkin.get(path, headers=headers or {})).status_code

    customer = auth(token("customer", sub="cust-live-1"))
    other = auth(token("customer", sub="cust-live-2"))
    assert await status(f"/sites/{site}/board/live") == 401
    assert await status(f"/sites/{site}/board/live", customer) == 403  # staff and screens only
    assert await status(f"/tickets/{ticket['ticket_id']}/live", other) == 404  # not theirs
    assert await status("/tickets/00000000-0000-4000-8000-000000000000/live", customer) == 404
    assert await status(f"/agents/{agent_id}/live", customer) == 403
    assert await status(f"/agents/{agent_id}/live", auth(token("agent", sub="someone"))) == 403
    assert await status(f"/sites/{site}/dashboard/live", auth(token("agent"))) == 403


async def test_the_board_and_my_ticket_are_pushed_and_resume_with_last_event_id(
    stack: dict[str, RunningService], served: str, token: Callable[..., str]
) -> None:
    checkin = stack["checkin"].client
    desk = Desk(checkin, token)
    await desk.configure()
    ticket = await desk.issue(customer="cust-live-3", phone="+8613900000001")
    agent_id, agent = await desk.agent("desk-2")
    board_url = f"{served}/sites/{desk.site_id}/board/live"
    screen = auth(token("service", sub="board-screen"))

    async def listed() -> tuple[str, Any] | None:
        ((event_id, view),) = await _views(board_url, screen)
        waiting = [q for q in view["queues"] if ticket["number"] in q["next_up"]]
        return (event_id, view) if waiting else None

    seen_id, board = await eventually(listed, within=60)
    text = json.dumps(board)
    assert "cust-live-3" not in text
    assert "+8613900000001" not in text  # numbers and desks only

    mine = f"{served}/tickets/{ticket['ticket_id']}/live"
    customer = auth(token("customer", sub="cust-live-3"))
    ((_, waiting),) = await _views(mine, customer)
    assert (waiting["status"], waiting["position"], waiting["next"]) == ("waiting", 1, True)
    assert "estimate" in waiting

    called = await checkin.post(f"/agents/{agent_id}/call-next", headers=agent)
    assert called.status_code == 200, called.text

    async def my_turn() -> dict[str, Any] | None:
        ((_, view),) = await _views(mine, customer)
        return view if view["status"] == "called" else None

    assert (await eventually(my_turn, within=60))["desk_id"] == "desk-2"

    # a board that saw the view before the call resumes with that id: the call comes at once
    async def resumed() -> dict[str, Any] | None:
        views = await _views(board_url, {**screen, "Last-Event-ID": seen_id}, within=5)
        if not views:
            return None  # the projection has not applied the call yet: nothing new to send
        ((event_id, view),) = views
        assert event_id != seen_id
        calls = [c for c in view["now_serving"] if c["number"] == ticket["number"]]
        return calls[0] if calls else None

    call = await eventually(resumed, within=60)
    assert call["desk_id"] == "desk-2"
    assert call["called_at"] is not None
