"""Server-sent event streams of live views (display board, a customer's ticket, an agent's
console, the supervisor's wall): the one SSE mechanism of every service.

A stream carries **state, not deltas**: each ``data`` is the whole current view (JSON) and its
``id`` is the view's version, a digest of the view itself. So:

- **Resumption** (``Last-Event-ID``, sent by the browser's ``EventSource`` on reconnect, or
  ``?last_event_id=`` for a client that reconnects by hand): the server reads the view once; if
  its version is the one the client last saw, it sends nothing until the view changes, else it
  sends the current view at once. What happened while the client was away is *in* the view
  (the board's view lists the recent calls with their times and recall counts), so nothing is
  lost, and any replica can resume any client: no replica keeps a history of what it sent.
- **Heartbeats**: a comment line (``: heartbeat``) after ``heartbeat_seconds`` of silence keeps
  proxies from closing an idle connection and lets the server notice a client that went away.
- **Waiting for changes**: one poller per distinct view and process (``Watches``) re-reads the
  view every ``poll_seconds`` and wakes every subscriber when its digest changed; a thousand
  phones watching one board cost one query per interval, not a thousand. Polling was chosen
  over PostgreSQL LISTEN/NOTIFY because the views also change with time alone (waits grow,
  service levels slip), because it needs nothing from the projections or the command path,
  and because a notification lost while a listener reconnects would need a poll anyway.
  ``Watches.poke(key)`` wakes a poller at once: the hook a NOTIFY listener would call.
- **Bounded connections**: a stream ends after ``max_age_seconds`` (the client reconnects with
  its ``Last-Event-ID``, possibly to another replica) and as soon as the server is asked to
  exit, so that a shutdown never waits on an open browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.responses import StreamingResponse

log = logging.getLogger(__name__)

Read = Callable[[], Awaitable[Any]]
MEDIA_TYPE = "text/event-stream"


@dataclass(frozen=True)
class StreamSettings:
    poll_seconds: float = 0.5
    heartbeat_seconds: float = 10.0
    max_age_seconds: float = 300.0
    retry_ms: int = 1000


@dataclass(frozen=True)
class Snapshot:
    version: str
    data: Any


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def version_of(data: Any) -> str:
    return hashlib.sha256(canonical(data).encode()).hexdigest()[:20]


def encode_event(data: Any, *, event: str, event_id: str) -> bytes:
    """One SSE message (the JSON has no newline, so it fits one ``data`` line)."""
    return f"id: {event_id}\nevent: {event}\ndata: {canonical(data)}\n\n".encode()


def encode_comment(text: str) -> bytes:
    return f": {text}\n\n".encode()


def last_event_id(request: Request) -> str | None:
    """The version the client saw last: the ``Last-Event-ID`` header, else the query's
    ``last_event_id`` (a page restoring its own state after a reload)."""
    value = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    return value[:100] if value else None


class StreamFailed(Exception):
    """The view could not be read (the stream ends; the client reconnects and resumes)."""


# -- shutdown: end the streams when the server is asked to exit -------------------------------

_exiting = False


def exiting() -> bool:
    return _exiting


def _watch_server_exit() -> None:
    """Uvicorn waits for every open response before it shuts down, and an event stream never
    ends by itself: learn of the exit signal the way sse-starlette does, by wrapping uvicorn's
    ``Server.handle_exit`` (once; a no-op outside uvicorn)."""
    try:
        from uvicorn.server import Server
    except ImportError:  # pragma: no cover - uvicorn is a dependency
        return
    original = Server.handle_exit
    if getattr(original, "frontdesk_streams", False):
        return

    def handle_exit(self: Server, sig: int, frame: Any) -> None:
        global _exiting
        _exiting = True
        original(self, sig, frame)

    handle_exit.frontdesk_streams = True  # type: ignore[attr-defined]
    Server.handle_exit = handle_exit  # type: ignore[method-assign]


_watch_server_exit()


# -- one poller per view ----------------------------------------------------------------------


@dataclass
class _Watch:
    key: str
    read: Read
    poll_seconds: float
    snapshot: Snapshot | None = None
    error: BaseException | None = None
    subscribers: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    poked: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            self.poked.clear()
            try:
                data = await self.read()
            except Exception as error:  # the subscribers end; their clients reconnect
                log.warning("live view %s could not be read: %r", self.key, error)
                async with self.changed:
                    self.error = error
                    self.changed.notify_all()
            else:
                snapshot = Snapshot(version_of(data), data)
                async with self.changed:
                    self.error = None
                    if self.snapshot is None or snapshot.version != self.snapshot.version:
                        self.snapshot = snapshot
                        self.changed.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.poked.wait(), self.poll_seconds)

    async def next(self, after: str | None, wait_seconds: float) -> Snapshot | None:
        """The view once its version differs from ``after``; None after ``wait_seconds``."""

        def ready() -> bool:
            if self.error is not None:
                return True
            return self.snapshot is not None and self.snapshot.version != after

        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(ready), wait_seconds)
            except TimeoutError:
                return None
            if self.error is not None:
                raise StreamFailed(str(self.error))
            return self.snapshot


class Watches:
    """The live views of one process, each read by one poller while someone watches it."""

    def __init__(self, settings: StreamSettings | None = None) -> None:
        self.settings = settings or StreamSettings()
        self._watches: dict[str, _Watch] = {}

    def watching(self) -> list[str]:
        return sorted(self._watches)

    def poke(self, key: str) -> None:
        """Read ``key``'s view now (e.g. on a PostgreSQL notification naming it)."""
        watch = self._watches.get(key)
        if watch is not None:
            watch.poked.set()

    def _subscribe(self, key: str, read: Read) -> _Watch:
        watch = self._watches.get(key)
        if watch is None:
            watch = _Watch(key, read, self.settings.poll_seconds)
            self._watches[key] = watch
            watch.task = asyncio.create_task(watch.run(), name=f"live-view:{key}")
        watch.subscribers += 1
        return watch

    def _unsubscribe(self, watch: _Watch) -> None:
        watch.subscribers -= 1
        if watch.subscribers == 0:
            self._watches.pop(watch.key, None)
            if watch.task is not None:
                watch.task.cancel()

    async def events(
        self,
        key: str,
        read: Read,
        *,
        event: str,
        last_seen: str | None = None,
    ) -> AsyncIterator[bytes]:
        """The SSE bytes of one client watching ``key``: ``retry``, then the view whenever
        its version differs from what the client saw last, heartbeats in between."""
        settings = self.settings
        watch = self._subscribe(key, read)
        started = written = time.monotonic()
        try:
            yield f"retry: {settings.retry_ms}\n\n".encode()
            seen = last_seen
            tick = min(settings.poll_seconds * 2, settings.heartbeat_seconds, 1.0)
            while not exiting() and time.monotonic() - started < settings.max_age_seconds:
                try:
                    snapshot = await watch.next(seen, tick)
                except StreamFailed:
                    yield encode_comment("the view could not be read; reconnect")
                    return
                now = time.monotonic()
                if snapshot is not None:
                    seen = snapshot.version
                    written = now
                    yield encode_event(snapshot.data, event=event, event_id=snapshot.version)
                elif now - written >= settings.heartbeat_seconds:
                    written = now
                    yield encode_comment("heartbeat")
        finally:
            self._unsubscribe(watch)


def watches_of(request: Request) -> Watches:
    """The process's live views (one ``Watches`` per application, made on first use)."""
    state = request.app.state
    watches: Watches | None = getattr(state, "live_views", None)
    if watches is None:
        watches = Watches(getattr(state, "stream_settings", None))
        state.live_views = watches
    return watches


class EventStream(StreamingResponse):
    """A ``text/event-stream`` response: never cached, never buffered by a proxy."""

    def __init__(self, content: AsyncIterator[bytes], status_code: int = 200) -> None:
        super().__init__(
            content,
            status_code=status_code,
            media_type=MEDIA_TYPE,
            headers={
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            },
        )


async def live(request: Request, key: str, read: Read, *, event: str) -> EventStream:
    """The route's answer: authorize *before* calling this (errors are still plain
    problem+json answers), then stream ``read``'s view under ``key``. The view is read once
    here, so a view that fails at once is an error answer, not an empty stream."""
    watches = watches_of(request)
    await read()
    return EventStream(watches.events(key, read, event=event, last_seen=last_event_id(request)))
