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

    ``version`` is the version of the fold: raise it whenever ``evolve`` or the state's shape
    changes, and every stored snapshot of the older version is ignored (and rewritten).
    The state is stored as JSON through pydantic, so it must be a dataclass or model whose
    fields pydantic can dump and read back exactly (a unit test round-trips every aggregate
    that declares snapshots)."""

    version: int
    every: int = 100


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

    def dump_state(self, state: S) -> Any:
        """The state as JSON-ready data, for a snapshot."""
        return self._state_adapter().dump_python(state, mode="json")

    def load_state(self, data: Any) -> S:
        """A state read back from a snapshot's data: its JSON text (as the repository reads
        it, parsed and validated in one pass) or that JSON decoded."""
        if isinstance(data, str | bytes):
            return self._state_adapter().validate_json(data)  # type: ignore[no-any-return]
        return self._state_adapter().validate_python(data)  # type: ignore[no-any-return]
