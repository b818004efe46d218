"""What an aggregate is, without any I/O: an initial state and a fold of its events.

Domain modules import this module, never the event store: ``decide`` and ``evolve`` stay pure
functions (no asyncpg, no OpenTelemetry, no clock). The event store folds an aggregate's
stream with its ``AggregateType``; a long-lived aggregate may also declare a ``Snapshots``
policy, and the repository (``runtime/repository.py``) then keeps a snapshot of its state in
the service's own database so that a command costs the same on the ten-thousandth event as
on the first. A snapshot is never the source of truth: it carries the fold's version, and a
snapshot of another version (the fold changed) is ignored and rewritten from the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from contracts import EventPayload

S = TypeVar("S")


@dataclass(frozen=True)
class Snapshots:
    """Keep a snapshot of the state every ``every`` events.

    The interval trades the snapshot's write (one more statement in the command's
    transaction: W ≈ 0.13 ms measured on the development box) against the events a load
    folds after the snapshot (every/2 on average; d ≈ 6 µs each to read, decode and fold
    alone, up to 12 µs inside a busy command): a command pays about W/every + d·every/2,
    least near every = sqrt(2W/d) ≈ 5 to 7, where it costs 0.04 to 0.06 ms. At 20 (the
    default) it costs 0.07 to 0.13 ms, for a quarter of the snapshot writes (each rewrites
    the whole state: kilobytes of WAL for a site or a person's preferences). See
    docs/performance-history.md, "Flat in history".

    ``version`` is the version of the fold: raise it whenever ``evolve`` or the state's shape
    changes, and every stored snapshot of the older version is ignored (and rewritten).
    The state is stored as JSON text through pydantic (``dump_state``/``load_state``), so it
    must be a dataclass or model whose fields pydantic can dump and read back exactly (a unit
    test round-trips every aggregate that declares snapshots)."""

    version: int
    every: int = 20


@dataclass(frozen=True)
class AggregateType(Generic[S]):
    """How an aggregate folds its events: ``evolve(state, event) -> state`` from ``initial``."""

    name: str
    initial: Callable[[], S]
    evolve: Callable[[S, EventPayload], S]
    snapshots: Snapshots | None = None
    _adapter: list[TypeAdapter[Any]] = field(default_factory=list, compare=False, repr=False)

    def fold(self, events: Iterable[EventPayload], state: S | None = None) -> S:
        """The state after ``events``, from ``state`` (the initial state by default)."""
        current = self.initial() if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current

    # -- snapshots (pure: encoding and decoding only) ---------------------------------------

    def _state_adapter(self) -> TypeAdapter[Any]:
        if not self._adapter:
            self._adapter.append(TypeAdapter(type(self.initial())))
        return self._adapter[0]

    def dump_state(self, state: S) -> str:
        """The state as a snapshot stores it: JSON text."""
        return self._state_adapter().dump_json(state).decode()

    def load_state(self, text: str | bytes) -> S:
        """A state read back from a snapshot's JSON text (parsed and validated in one pass)."""
        return self._state_adapter().validate_json(text)  # type: ignore[no-any-return]
