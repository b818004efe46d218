"""The connection a projection's handlers get inside a consumer batch: their writes are sent
together instead of one round trip each.

A projection handler mostly writes (``INSERT … ON CONFLICT``, ``UPDATE``) and sometimes reads
what it wrote before. Sent one by one, each write costs a round trip to PostgreSQL, which
bounded a rebuild at a few thousand events per second whatever the handler did. Here a write
(``execute`` with arguments) is queued; the queue is sent when the handler next reads
(``fetch``, ``fetchrow``, ``fetchval``, any other call), when it opens a savepoint, and before
the batch commits. A run of the same statement goes as one pipelined ``executemany``, or, for
a one-row ``INSERT … VALUES`` run at least ``SET_BASED_FROM`` times, as one set-based
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
"""

from __future__ import annotations

import functools
import inspect
import itertools
import operator
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, cast

import asyncpg

from runtime import set_based
from runtime.set_based import SET_BASED_FROM


class _Write(NamedTuple):  # a tuple: one per queued write (made by ``_queue``)
    sql: str
    args: tuple[Any, ...]
    position: int  # the batch position of the record whose handler queued it


# a named tuple's own constructor is a Python function; this one is tuple's, in C
_queue = functools.partial(tuple.__new__, _Write)
_SQL = operator.itemgetter(0)  # a queued write's statement (a C call, not a lambda, per write)


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
    ``collecting``: nothing is sent yet (see the module's text)."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        passthrough: tuple[type[BaseException], ...],
        *,
        collecting: bool = False,
    ) -> None:
        self._conn = conn
        self._passthrough = passthrough
        self._queued: list[_Write] = []
        self.position = 0
        self.collecting = collecting
        self.refused = False  # NotYet was raised (even if a handler caught it)

    @property
    def queued(self) -> int:
        return len(self._queued)

    def forget_after(self, queued: int) -> None:
        """Drop the writes queued after the first ``queued`` (a handler that did not finish
        while collecting runs again at its turn)."""
        del self._queued[queued:]

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
        for sql, run in itertools.groupby(queued, key=_SQL):
            writes = list(run)
            rows = [write.args for write in writes]
            try:
                if len(rows) >= SET_BASED_FROM and await set_based.sent(self._conn, sql, rows):
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
        async with self._conn.transaction():
            yield
            await self.flush()  # its writes belong inside it

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
