"""A history that proves itself: every recorded event is linked by hash to what came before it.

Two chains, both SHA-256, written by the event store's recorders in the same transaction as the
events (sqlite_writes.py, postgres_writes.py), into the table `event_chain`, one row per event.
The SQLite recorder links with `link_events` below; the PostgreSQL one has the server do it, in a
PL/pgSQL function that hashes the same bytes (`verify`, here, recomputes every link: a difference
between the two would show as a break at the first event linked):

* the event's **link in its aggregate's chain**: the hash of the previous version's link and of
  the event as stored (aggregate id, version, topic, state); an aggregate's version 1 follows
  32 zero bytes. A changed byte in any event changes its link, and every later link of that
  aggregate no longer follows.
* the **facility chain** over notification order: the hash of the previous position's facility
  link, of the position and of the event's aggregate link. Removing, reordering or inserting an
  event anywhere breaks the next facility link.

`event_chain_head` holds the last position and its facility link (so a history cut short is
noticed: the head names a position that is no longer there), the position from which links were
made as events were recorded (`trusted_from`), and for a database that had events before the
chain existed, the last position whose links were made afterwards by `backfill`.

Notification order is the commit order: on PostgreSQL every transaction that records events holds
the library's EXCLUSIVE lock of the events table until it commits (group commit included), and on
SQLite one transaction writes at a time, so the head a transaction reads is the head it extends.

Anyone who can rewrite the database can recompute every hash after an edit; what proves the
history against that is an **anchor**, the head's position and hash kept outside the database:
`verify` recomputes the chain from the events and checks that the link at the anchor's position
is still the kept hash.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence
from uuid import UUID

GENESIS = bytes(32)
CHAIN_TABLE, HEAD_TABLE = "event_chain", "event_chain_head"
EVENT_TAG, CHAIN_TAG = b"logistics.event.v1\x00", b"logistics.chain.v1\x00"
_Q = struct.Struct(">Q")
PAGE = 2000  # positions read per query while verifying
BACKFILL_PAGE = 5000


class ChainExists(Exception):
    """Backfilling a database whose events are already linked."""

    def __init__(self) -> None:
        super().__init__("this database's events are already linked: there is nothing to backfill")


@dataclass(frozen=True)
class ChainEvent:
    """An event as a backfill reads it (the fields of the library's Notification it needs)."""
    id: int
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes


def _field(data: bytes) -> bytes:
    return _Q.pack(len(data)) + data


def aggregate_id_text(originator_id: UUID | str) -> str:
    """An aggregate id as the chain spells it: the canonical UUID form (SQLite stores it as hex)."""
    if isinstance(originator_id, UUID):
        return str(originator_id)
    try:
        return str(UUID(str(originator_id)))
    except ValueError:
        return str(originator_id)


def _bytes(value: Any) -> bytes:
    """A stored field as bytes, whatever an editor of the database left in it (text, NULL)."""
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else bytes(value)


def event_link(previous: bytes, originator_id: UUID | str, version: int, topic: str, state: bytes) -> bytes:
    """An event's link in its aggregate's chain (each field length-prefixed: no two events hash alike)."""
    return _event_link(previous, aggregate_id_text(originator_id), version, topic, state)


def _event_link(previous: bytes, aggregate: str, version: int, topic: str, state: bytes) -> bytes:
    """`event_link` of an aggregate id already as the chain spells it."""
    return hashlib.sha256(b"".join((EVENT_TAG, previous, _field(aggregate.encode()), _Q.pack(version),
                                    _field(_bytes(topic)), _field(_bytes(state))))).digest()


def chain_link(previous: bytes, position: int, link: bytes) -> bytes:
    """The facility chain's link at a position."""
    return hashlib.sha256(CHAIN_TAG + previous + _Q.pack(position) + link).digest()


@dataclass(frozen=True)
class Head:
    position: int
    chain_hash: bytes


@dataclass(frozen=True)
class ChainRow:
    position: int
    originator_id: str
    originator_version: int
    event_hash: bytes
    chain_hash: bytes


def link_events(head: Head, events: Sequence[Any], positions: Sequence[int],
                previous: dict[tuple[str, int], bytes]) -> tuple[list[ChainRow], Head]:
    """The chain rows of events just inserted at `positions` (ascending), after `head`.
    `previous`: the stored link of each aggregate's version before the first of these events."""
    rows: list[ChainRow] = []
    last: dict[str, bytes] = {}
    chain = head.chain_hash
    for event, position in zip(events, positions):
        aggregate = aggregate_id_text(event.originator_id)
        prior = last.get(aggregate)
        if prior is None:
            prior = previous.get((aggregate, event.originator_version - 1), GENESIS)
        link = _event_link(prior, aggregate, event.originator_version, event.topic, event.state)
        chain = chain_link(chain, position, link)
        last[aggregate] = link
        rows.append(ChainRow(position, aggregate, event.originator_version, link, chain))
    return rows, (Head(rows[-1].position, chain) if rows else head)


def wanted_previous(events: Sequence[Any]) -> list[tuple[str, int]]:
    """(aggregate, version) of the stored links `link_events` needs: each aggregate's version
    before its first event here."""
    seen: set[str] = set()
    wanted = []
    for event in events:
        aggregate = aggregate_id_text(event.originator_id)
        if aggregate not in seen:
            seen.add(aggregate)
            if event.originator_version > 1:
                wanted.append((aggregate, event.originator_version - 1))
    return wanted


@dataclass
class HeadRecord:
    """The head row: where the chain is, and since when it was made as events were recorded."""
    position: int
    chain_hash: bytes
    trusted_from: int
    backfilled_through: int | None
    started_at: str


class ChainStore(Protocol):
    """What verifying needs from a recorder (both recorders implement it)."""

    def chain_head(self) -> HeadRecord | None: ...

    def chain_rows(self, after: int, limit: int) -> list[ChainRow]: ...

    def chain_row_before(self, position: int) -> ChainRow | None: ...

    def chain_row_at(self, position: int) -> ChainRow | None: ...

    def aggregate_link(self, originator_id: str, version: int) -> bytes | None: ...

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *, inclusive_of_start: bool = True) -> Sequence[Any]: ...

    def max_notification_id(self) -> int | None: ...


# --- verifying ------------------------------------------------------------------------------------
@dataclass
class Break:
    """The first link that does not hold: where, which event, and what it means."""
    position: int
    aggregate: str | None
    version: int | None
    problem: str

    def sentence(self) -> str:
        which = f"aggregate {self.aggregate} version {self.version}" if self.aggregate else "no event"
        return f"position {self.position} ({which}): {self.problem}"


@dataclass
class Anchor:
    position: int
    hash: str
    time: str

    def line(self) -> str:
        return f"anchor: position {self.position} hash {self.hash} at {self.time}"

    @classmethod
    def parse(cls, text: str) -> "Anchor":
        """The JSON `verify --anchor --json` prints, or the line `verify --anchor` prints."""
        text = text.strip()
        try:
            data = json.loads(text)
            data = data.get("anchor", data)
            return cls(int(data["position"]), str(data["hash"]).lower(), str(data.get("time", "")))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        words = text.replace(":", " ").split()
        try:
            position = int(words[words.index("position") + 1])
            digest = words[words.index("hash") + 1].lower()
            bytes.fromhex(digest)
        except (ValueError, IndexError):
            raise ValueError("an anchor is the line 'anchor: position N hash HEX at TIME' that "
                             "'logistics verify --anchor' prints, or its --json output") from None
        at = text.split(" at ", 1)[1].strip() if " at " in text else ""
        return cls(position, digest, at)


@dataclass
class Report:
    ok: bool
    checked: int
    first: int | None
    last: int | None
    trusted_from: int | None
    backfilled_through: int | None
    head: Anchor | None
    broken: Break | None = None
    anchor_checked: Anchor | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sentences(self) -> list[str]:
        lines = []
        if self.broken is not None:
            lines.append(f"BROKEN at {self.broken.sentence()}")
        else:
            lines.append(f"the history holds: {self.checked} events checked"
                         + (f", positions {self.first} to {self.last}" if self.first is not None else ""))
        if self.anchor_checked is not None and self.broken is None:
            lines.append(f"the anchor of position {self.anchor_checked.position} ({self.anchor_checked.time or 'no time'}) "
                         "matches: nothing up to it changed")
        if self.backfilled_through:
            lines.append(f"positions up to {self.backfilled_through} were linked afterwards (backfill); "
                         f"links are made as events are recorded from position {self.trusted_from}")
        lines.extend(self.notes)
        return lines


class _Verifier:
    def __init__(self, store: ChainStore, head: HeadRecord, progress: Callable[[int], None] | None):
        self.store, self.head, self.progress = store, head, progress
        self.aggregates: dict[str, tuple[int, bytes]] = {}  # aggregate -> (last version seen, its link)
        self.checked = 0

    def _previous_link(self, aggregate: str, version: int) -> bytes | Break:
        known = self.aggregates.get(aggregate)
        if known is not None:
            seen, link = known
            if seen == version - 1:
                return link
            return Break(0, aggregate, version, f"follows version {seen} of its aggregate: "
                                                f"version {version - 1} was removed or moved")
        if version == 1:
            return GENESIS
        stored = self.store.aggregate_link(aggregate, version - 1)  # before --since: the stored link is given
        if stored is None:
            return Break(0, aggregate, version, f"version {version - 1} of its aggregate is missing")
        return stored

    def run(self, since: int | None) -> tuple[Break | None, Head, int | None, int | None]:
        before = self.store.chain_row_before(since) if since else None
        chain = Head(before.position, before.chain_hash) if before else Head(0, GENESIS)
        cursor = chain.position
        first = last = None
        while True:
            rows = self.store.chain_rows(cursor, PAGE)
            events = self.store.select_notifications(cursor, PAGE, inclusive_of_start=False)
            # a full page may end before the other's: look only up to where both are complete
            stop = min(rows[-1].position if len(rows) == PAGE else float("inf"),
                       events[-1].id if len(events) == PAGE else float("inf"))
            merged = _merge([r for r in rows if r.position <= stop], [e for e in events if e.id <= stop])
            if not merged:
                break
            for position, row, event in merged:
                found = self._check(position, row, event, chain)
                if isinstance(found, Break):
                    return found, chain, first, last
                chain = found
                first = position if first is None else first
                last = position
                self.checked += 1
                cursor = position
            if self.progress:
                self.progress(len(merged))
        return None, chain, first, last

    def _check(self, position: int, row: ChainRow | None, event: Any, chain: Head) -> Head | Break:
        if row is None:
            aggregate = aggregate_id_text(event.originator_id)
            if self.head.backfilled_through is not None and self.head.backfilled_through < position < \
                    self.head.trusted_from:
                return chain  # never happens after a backfill; kept for clarity
            return Break(position, aggregate, event.originator_version,
                         "this event has no link: it was written around the recorder, or its link was removed")
        if event is None:
            return Break(position, row.originator_id, row.originator_version,
                         "the event the chain recorded here is missing: it was deleted")
        aggregate = aggregate_id_text(event.originator_id)
        if (aggregate, event.originator_version) != (row.originator_id, row.originator_version):
            return Break(position, row.originator_id, row.originator_version,
                         f"holds aggregate {aggregate} version {event.originator_version} instead: "
                         "events were reordered or replaced")
        previous = self._previous_link(aggregate, event.originator_version)
        if isinstance(previous, Break):
            previous.position = position
            return previous
        link = _event_link(previous, aggregate, event.originator_version, event.topic, event.state)
        if link != row.event_hash:
            return Break(position, aggregate, event.originator_version,
                         "the event was altered: its content no longer matches its hash")
        expected = chain_link(chain.chain_hash, position, link)
        if expected != row.chain_hash:
            return Break(position, aggregate, event.originator_version,
                         f"the facility chain does not follow from position {chain.position}: "
                         "events between them were removed, or links were rewritten")
        self.aggregates[aggregate] = (event.originator_version, link)
        return Head(position, row.chain_hash)


def _merge(rows: list[ChainRow], events: Sequence[Any]) -> list[tuple[int, ChainRow | None, Any]]:
    by_position: dict[int, list[Any]] = {}
    for row in rows:
        by_position.setdefault(row.position, [None, None])[0] = row
    for event in events:
        by_position.setdefault(event.id, [None, None])[1] = event
    return [(p, pair[0], pair[1]) for p, pair in sorted(by_position.items())]


def verify(store: ChainStore, since: int | None = None, anchor: Anchor | None = None,
           progress: Callable[[int], None] | None = None) -> Report:
    """Recompute both chains from the events (from `since`, taking the link before it as given) and
    compare them with the stored links, the head, and a kept anchor; stops at the first break."""
    head = store.chain_head()
    if head is None:
        missing = Break(1, None, None, "this database has no chain yet: run 'logistics verify --backfill' once")
        return Report(False, 0, None, None, None, None, None, missing)
    verifier = _Verifier(store, head, progress)
    broken, chain, first, last = verifier.run(since)
    report = Report(broken is None, verifier.checked, first, last, head.trusted_from, head.backfilled_through,
                    Anchor(head.position, head.chain_hash.hex(), now_text()), broken)
    if broken is None and chain.position != head.position:
        if chain.position < head.position:
            report.broken = Break(head.position, None, None,
                                  f"the head names this position but the history ends at position {chain.position}: "
                                  "its tail was removed")
        else:
            report.broken = Break(chain.position, None, None,
                                  f"links run past the head (position {head.position}): the head was rewritten")
    elif broken is None and chain.chain_hash != head.chain_hash:
        report.broken = Break(head.position, None, None, "the head's hash is not the last link's: the head was rewritten")
    if report.broken is None and anchor is not None:
        report.broken = check_anchor(store, anchor, since)
        report.anchor_checked = anchor
    report.ok = report.broken is None
    return report


def check_anchor(store: ChainStore, anchor: Anchor, since: int | None) -> Break | None:
    """After a full verification: the recomputed link at the anchor's position must be the kept one."""
    if since and since > anchor.position:
        return Break(anchor.position, None, None, f"--since {since} starts after the anchor: nothing before it was checked")
    row = store.chain_row_at(anchor.position)
    if row is None:
        return Break(anchor.position, None, None, "the anchor's position is no longer in the history: events were removed")
    if row.chain_hash.hex() != anchor.hash:
        return Break(anchor.position, row.originator_id, row.originator_version,
                     f"the facility link here is {row.chain_hash.hex()}, not the anchor's {anchor.hash}: "
                     "the history up to the anchor was rewritten")
    return None


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- linking events recorded before the chain existed ---------------------------------------------
def backfill_links(events: Iterable[Any], head: Head, aggregates: dict[str, bytes]) -> Iterator[ChainRow]:
    """Chain rows for events in notification order, continuing `head` and each aggregate's last link."""
    chain = head.chain_hash
    for event in events:
        aggregate = aggregate_id_text(event.originator_id)
        link = _event_link(aggregates.get(aggregate, GENESIS), aggregate, event.originator_version, event.topic,
                           event.state)
        chain = chain_link(chain, event.id, link)
        aggregates[aggregate] = link
        yield ChainRow(event.id, aggregate, event.originator_version, link, chain)
