"""runtime.streams without I/O: the SSE wire format, resumption by version, heartbeats, one
poller per view shared by its subscribers, a view that cannot be read; and the frontends
server's development tokens (refused in production) and its proxy's token handling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx
import pytest

from runtime import streams
from runtime.auth import TokenVerifier
from runtime.settings import KafkaSettings, ServiceSettings
from runtime.streams import StreamSettings, Watches, encode_event, version_of

pytestmark = pytest.mark.unit

MEDIA = "text/event-stream"

FAST = StreamSettings(poll_seconds=0.01, heartbeat_seconds=0.05, max_age_seconds=30, retry_ms=500)


class View:
    """A view whose value the test changes; counts how often it was read."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.reads = 0
        self.fail = False

    async def read(self) -> Any:
        self.reads += 1
        if self.fail:
            raise RuntimeError("database gone")
        return self.value


def parse(chunk: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in chunk.decode().strip().split("\n"):
        name, _, value = line.partition(": ") if not line.startswith(":") else ("", "", line)
        fields[name or "comment"] = value or line
    return fields


async def take(events: AsyncIterator[bytes], predicate: Any, within: float = 5.0) -> list[bytes]:
    """Read chunks until one satisfies ``predicate``; every chunk read so far."""
    seen: list[bytes] = []

    async def loop() -> list[bytes]:
        async for chunk in events:
            seen.append(chunk)
            if predicate(chunk):
                return seen
        return seen

    return await asyncio.wait_for(loop(), within)


async def leave(events: AsyncIterator[bytes]) -> None:
    """The client goes away: ``Watches.events`` is an async generator, closed like one."""
    assert isinstance(events, AsyncGenerator)
    await events.aclose()


def test_an_event_is_one_id_event_and_data_line_with_the_views_version() -> None:
    chunk = encode_event(
        {"b": 1, "a": "号"}, event="board", event_id=version_of({"a": "号", "b": 1})
    )
    fields = parse(chunk)
    assert chunk.endswith(b"\n\n")
    assert fields["event"] == "board"
    assert json.loads(fields["data"]) == {"a": "号", "b": 1}
    assert fields["id"] == version_of({"b": 1, "a": "号"})  # key order does not matter
    assert version_of({"a": 1}) != version_of({"a": 2})


async def test_a_new_client_gets_the_view_then_each_change_once() -> None:
    view = View({"n": 1})
    watches = Watches(FAST)
    events = watches.events("k", view.read, event="v")
    first = await take(events, lambda c: b"event: v" in c)
    assert first[0].startswith(b"retry: 500")
    assert json.loads(parse(first[-1])["data"]) == {"n": 1}
    view.value = {"n": 2}
    changed = await take(events, lambda c: b"event: v" in c)
    assert json.loads(parse(changed[-1])["data"]) == {"n": 2}
    await leave(events)
    assert watches.watching() == []  # the last subscriber gone, the poller stops


async def test_a_client_resuming_at_the_current_version_gets_nothing_until_a_change() -> None:
    view = View({"calls": ["A001"]})
    watches = Watches(FAST)
    events = watches.events("k", view.read, event="v", last_seen=version_of(view.value))
    # only heartbeats while the view stays what the client saw last
    quiet = await take(events, lambda c: c.startswith(b": heartbeat"))
    assert not any(b"event:" in chunk for chunk in quiet)
    view.value = {"calls": ["A002", "A001"]}  # a call made while the client was away
    resumed = await take(events, lambda c: b"event: v" in c)
    assert json.loads(parse(resumed[-1])["data"]) == {"calls": ["A002", "A001"]}
    await leave(events)


async def test_a_client_resuming_at_an_old_version_gets_the_current_view_at_once() -> None:
    view = View({"calls": ["A002", "A001"]})
    events = Watches(FAST).events(
        "k", view.read, event="v", last_seen=version_of({"calls": ["A001"]})
    )
    chunks = await take(events, lambda c: b"event: v" in c)
    assert not any(c.startswith(b": heartbeat") for c in chunks)
    assert parse(chunks[-1])["id"] == version_of(view.value)
    await leave(events)


async def test_subscribers_of_one_view_share_one_poller() -> None:
    view = View({"n": 1})
    watches = Watches(StreamSettings(poll_seconds=0.05, heartbeat_seconds=5))
    streams_ = [watches.events("board:s1", view.read, event="v") for _ in range(20)]
    for events in streams_:
        await take(events, lambda c: b"event: v" in c)
    reads = view.reads
    await asyncio.sleep(0.2)
    assert view.reads - reads <= 6  # one poller (about 4 reads), not twenty
    assert watches.watching() == ["board:s1"]
    watches.poke("board:s1")
    for events in streams_:
        await leave(events)
    assert watches.watching() == []


async def test_a_view_that_cannot_be_read_ends_the_stream() -> None:
    view = View({"n": 1})
    events = Watches(FAST).events("k", view.read, event="v")
    await take(events, lambda c: b"event: v" in c)
    view.fail = True
    rest = await take(events, lambda c: b"reconnect" in c)
    assert rest[-1].startswith(b":")
    with pytest.raises(StopAsyncIteration):
        await anext(events)


async def test_streams_end_when_the_server_exits_or_at_their_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = View({"n": 1})
    aged = Watches(StreamSettings(poll_seconds=0.01, max_age_seconds=0.1)).events(
        "k", view.read, event="v"
    )
    chunks = [chunk async for chunk in aged]  # ends by itself
    assert any(b"event: v" in chunk for chunk in chunks)
    monkeypatch.setattr(streams, "_exiting", True)
    exiting = Watches(FAST).events("k2", view.read, event="v")
    assert [chunk async for chunk in exiting] == [b"retry: 500\n\n"]


# -- the frontends server ---------------------------------------------------------------------


def _app(env: str, upstream: httpx.MockTransport | None = None) -> Any:
    from frontends.server import create_app

    settings = ServiceSettings(
        env=env,  # type: ignore[arg-type]
        jwt_secret="a-production-secret-of-at-least-32-characters!",  # type: ignore[arg-type]
        keystore_master_key="A" * 43 + "=",  # type: ignore[arg-type]
        peers="checkin=http://checkin.test",
        PGPASSWORD="a-production-password",
        kafka=KafkaSettings(replication_factor=3, min_insync_replicas=2),
    )
    client = httpx.AsyncClient(transport=upstream) if upstream else None
    return create_app(settings, client), settings


async def test_development_tokens_are_minted_for_a_role_and_refused_in_production() -> None:
    app, settings = _app("development")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://fe") as fe:
        minted = await fe.post("/dev/token", json={"role": "agent", "sub": "agent-7"})
        assert minted.status_code == 200
        verifier = TokenVerifier(
            settings.jwt_secret.get_secret_value(), settings.jwt_issuer, settings.jwt_audience
        )
        principal = verifier.verify(minted.json()["token"])
        assert (principal.id, principal.roles) == ("agent-7", frozenset({"agent"}))
        bad = await fe.post("/dev/token", json={"role": "root", "sub": "x"})
        assert bad.status_code == 422
    app, _ = _app("production")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://fe") as fe:
        refused = await fe.post("/dev/token", json={"role": "agent", "sub": "agent-7"})
        assert refused.status_code == 404
        assert (await fe.get("/config.json")).json()["dev_tokens"] is False


async def test_the_proxy_moves_an_event_source_token_into_the_header() -> None:
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = httpx.ByteStream(b"data: {}\n\n")
        return httpx.Response(200, stream=body, headers={"content-type": MEDIA})

    app, _ = _app("development", httpx.MockTransport(upstream))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://fe") as fe:
        answer = await fe.get("/api/checkin/sites/s1/board/live?access_token=T&last_event_id=v1")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(MEDIA)
        assert (await fe.get("/api/nowhere/x")).status_code == 404
    request = seen[0]
    assert request.url.path == "/sites/s1/board/live"
    assert request.headers["authorization"] == "Bearer T"
    assert "access_token" not in str(request.url)
    assert request.url.params["last_event_id"] == "v1"
