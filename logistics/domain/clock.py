"""The time events are stamped with: the real clock, except where a simulation sets its own."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from typing import Callable, Iterator

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


class Tracked(Aggregate):
    """Base of the tracker's aggregates: their events are stamped by the clock above."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return now()

    class Created(Event, Aggregate.Created):
        pass
