"""The time events are stamped with: the real clock, except where a simulation sets its own."""

from __future__ import annotations

import contextlib
from copy import deepcopy
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterator
from uuid import UUID

from eventsourcing.domain import Aggregate


def _real() -> datetime:
    return datetime.now(timezone.utc)


_clock: Callable[[], datetime] = _real


def now() -> datetime:
    return _clock()


@contextlib.contextmanager
def simulated(clock: Callable[[], datetime]) -> Iterator[None]:
    """Stamp events with `clock()` inside this block (for `logistics simulate`)."""
    global _clock
    _clock, previous = clock, _clock
    try:
        yield
    finally:
        _clock = previous


_SHARED = frozenset({str, int, float, bool, type(None), UUID, datetime, date, Decimal, frozenset})


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind in _SHARED:
        return value
    if kind is dict:
        return {k: _copied(v) for k, v in value.items()}
    if kind is list:
        return [_copied(v) for v in value]
    if kind is set:
        return {_copied(v) for v in value}
    return deepcopy(value)


class Tracked(Aggregate):
    """Base of the tracker's aggregates: their events are stamped by the clock above."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "Tracked":
        """The copy the application's aggregate cache hands each command: an aggregate's state is
        immutable values in dicts, lists and sets, so only those are copied (copy.deepcopy's
        generic walk took 17 us for a dewar; anything else still goes through it)."""
        clone = object.__new__(type(self))
        clone.__dict__.update({name: _copied(value) for name, value in self.__dict__.items()})
        return clone

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return now()

    class Created(Event, Aggregate.Created):
        pass
