"""The connection a projection's handlers get inside a consumer batch: their writes are sent
together instead of one round trip each.

A projection handler mostly writes (``INSERT … ON CONFLICT``, ``UPDATE``) and sometimes reads
what it wrote before. Sent one by one, each write costs a round trip to PostgreSQL, which
bounded a rebuild at a few thousand events per second whatever the handler did. Here a write
(``execute`` with arguments) is queued; the queue is sent when the handler next reads
(``fetch``, ``fetchrow``, ``fetchval``, any other call), when it opens a savepoint, and before
the batch commits. The queue goes in groups of one statement each, the writes that commute
moved together (``runtime.write_order``); a group goes as one pipelined ``executemany``, or,
for a one-row ``INSERT … VALUES`` run at least ``SET_BASED_FROM`` times, as one set-based
statement where that changes nothing (``runtime.set_based``). Reads
therefore see every earlier write, in order, and the projection ends in the state it would
have reached statement by statement, inside the same transaction.

A rebuild also runs a batch's handlers ahead of their transaction, while the previous
batch's statements run (``collecting``): writes are only queued then, and anything that
needs the connection raises ``NotYet`` instead: that record and the ones after it run at
their turn, inside the transaction, as above.

What a handler gives up: ``execute`` answers ``None`` instead of PostgreSQL's status string
(no projection reads it), and a failing write surfaces at the next flush, not at its call:
the failure names the batch positions of the records whose writes failed, so the runner
still blames the right record (``WritesFailed``).

A read costs a round trip, and a handler that reads the row an earlier event of the batch
wrote (a case's file, read and written back by each event of the case) made one per record:
a rebuild of the case file ran at ~2,000 records/s against ~40,000 for a projection that
only writes. So the batch also keeps what its handlers ``remember`` of rows: a handler that
has read a row, or knows what it just wrote, remembers it under a key of its choosing, and
the next handler asks ``remembered`` before reading. What is remembered must be what a read
inside the transaction would answer at that point: a handler that remembers a row writes its
remembered columns only through code that remembers them too. It lives as long as the batch's
writes: a run retried after a failure starts with nothing remembered, what a handler that did
not finish while collecting had remembered is forgotten with its writes (``forget_after``),
and a savepoint rolled back forgets everything (its writes are undone).

A rebuild's batch may also look ``behind`` it: what the replay's earlier batches remembered,
their transactions committed (``runtime.consumer``'s ``_Remembered``). Without it, the first
event of each batch about a case opened in an earlier batch read its file back, and while
collecting ahead that read stopped the collection: nine records in ten of a rebuild of cases
ran inside their transaction instead of ahead of it, and each read sent the writes queued so
far, so that they went in small groups instead of one set-based statement each.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Hashable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, cast

import asyncpg

from runtime import set_based, write_order
from runtime.set_based import SET_BASED_FROM


class _Write(NamedTuple):  # a tuple: one per queued write (made by ``_queue``)
    sql: str
    args: tuple[Any, ...]
    position: int  # the batch position of the record whose handler queued it


# a named tuple's own constructor is a Python function; this one is tuple's, in C
_queue = functools.partial(tuple.__new__, _Write)


_NOTHING = object()  # nothing was remembered under a key before


class Mark(NamedTuple):
    """How many writes were queued and rows remembered (``BatchedWrites.mark``)."""

    writes: int
    remembered: int


_mark = functools.partial(tuple.__new__, Mark)  # as ``_queue``: taken once per record


def remembering(conn: asyncpg.Connection) -> BatchedWrites | None:
    """The batch a projection handler's connection is, to ask what it ``remembered``; None
    for a plain connection (a reaction, a test): the handler reads."""
    return conn if isinstance(conn, BatchedWrites) else None


async def _row_key(conn: asyncpg.Connection, sql: str) -> tuple[int, ...] | None:
    """The parameters naming the one row a copy of ``sql`` touches (its footprint's key)."""
    found = await write_order.footprint(conn, sql)
    return None if found is None else found.key


class WritesFailed(Exception):
    """Queued writes failed when they were sent; ``positions``: whose writes they were."""

    def __init__(self, positions: frozenset[int], error: BaseException) -> None:
        super().__init__(str(error))
        self.positions, self.error = positions, error


class NotYet(Exception):
    """A handler asked for the connection while its writes were being collected ahead of
    their transaction."""


class BatchedWrites:
    """Wraps the batch's connection (see the module's text). ``position`` is set by the runner
    before each record's handler runs. ``passthrough`` errors (the database is gone) are
    raised as they are; other failures of queued writes become ``WritesFailed``.
    ``collecting``: nothing is sent yet; ``behind``: what the rows remembered before this batch
    are, as its transaction will read them (see the module's text)."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        passthrough: tuple[type[BaseException], ...],
        *,
        collecting: bool = False,
        behind: MutableMapping[Hashable, Any] | None = None,
    ) -> None:
        self._conn = conn
        self._passthrough = passthrough
        self._queued: list[_Write] = []
        self.position = 0
        self.collecting = collecting
        self.refused = False  # NotYet was raised (even if a handler caught it)
        # a savepoint was rolled back: what was remembered before it may no longer hold
        self.rolled_back = False
        self._rows: dict[Hashable, Any] = {}  # what handlers remember (the module's text)
        self._behind: MutableMapping[Hashable, Any] = {} if behind is None else behind
        # while collecting, (key, what it replaced) per ``remember``: ``forget_after`` undoes
        self._remembered: list[tuple[Hashable, Any]] = []

    def mark(self) -> Mark:
        """Where the batch stands, for ``forget_after``: taken before each handler."""
        return _mark((len(self._queued), len(self._remembered)))

    def forget_after(self, mark: Mark) -> None:
        """Drop the writes queued since ``mark`` (a handler that did not finish while
        collecting runs again at its turn), and forget what was remembered since."""
        del self._queued[mark.writes :]
        remembered = self._remembered
        while len(remembered) > mark.remembered:
            key, before = remembered.pop()
            if before is _NOTHING:
                self._rows.pop(key, None)
            else:
                self._rows[key] = before

    def remembered(self, key: Hashable) -> Any:
        """What a handler of the batch remembered under ``key`` (None: nothing; read it).
        Shared, not copied: a handler makes new values instead of changing this one."""
        row = self._rows.get(key, _NOTHING)
        return self._behind.get(key) if row is _NOTHING else row

    @property
    def rows(self) -> MutableMapping[Hashable, Any]:
        """What this batch's handlers remembered (not what was ``behind`` it); not to be
        changed but through ``remember``."""
        return self._rows

    def remember(self, key: Hashable, row: Any) -> None:
        """Remember ``row`` under ``key`` for the handlers after this one (the module's text):
        as a read would give it now, the batch's queued writes included."""
        if self.collecting:  # what ``forget_after`` may have to undo
            self._remembered.append((key, self._rows.get(key, _NOTHING)))
        self._rows[key] = row

    @property
    def connection(self) -> asyncpg.Connection:
        """This object as the handlers' type says: they call only what is defined here."""
        return cast(asyncpg.Connection, self)

    async def execute(self, sql: str, *args: Any) -> None:
        if not args:  # a script (simple query protocol): sent at its turn
            await self.flush()
            await self._conn.execute(sql)
            return
        self._queued.append(_queue((sql, args, self.position)))

    async def flush(self) -> None:
        """Send every queued write, in order; consecutive copies of a statement together."""
        if self.collecting:
            self.refused = True
            raise NotYet
        queued, self._queued = self._queued, []
        if not queued:
            return
        for writes in await write_order.grouped(self._conn, queued):
            sql = writes[0].sql
            rows = [write.args for write in writes]
            try:
                if len(rows) >= SET_BASED_FROM and await set_based.sent(
                    self._conn, sql, rows, await _row_key(self._conn, sql)
                ):
                    continue
                if len(rows) == 1:
                    await self._conn.execute(sql, *rows[0])
                else:
                    await self._conn.executemany(sql, rows)
            except self._passthrough:
                raise
            except Exception as error:
                positions = frozenset(write.position for write in writes)
                raise WritesFailed(positions, error) from error

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        await self.flush()
        return await self._conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        await self.flush()
        return await self._conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any, column: int = 0) -> Any:
        await self.flush()
        return await self._conn.fetchval(sql, *args, column=column)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self.flush()
        await self._conn.executemany(sql, args)

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        await self.flush()
        try:
            async with self._conn.transaction():
                yield
                await self.flush()  # its writes belong inside it
        except BaseException:
            self._rows.clear()  # what was remembered inside may have been rolled back
            self._remembered.clear()
            self._behind = {}  # and what the rolled-back writes had changed of it
            self.rolled_back = True
            raise

    def transaction(self) -> Any:
        return self._savepoint()

    def __getattr__(self, name: str) -> Any:
        """Any other coroutine method of the connection flushes first."""
        method = getattr(self._conn, name)
        if not inspect.iscoroutinefunction(method):
            return method

        async def flushed_first(*args: Any, **kwargs: Any) -> Any:
            await self.flush()
            return await method(*args, **kwargs)

        return flushed_first
