"""The ports the service layer is handed by bootstrap.py: what it needs of a store, as typing.Protocols.

The service layer names what it asks; the adapters answer (`views.py` `Views` is the `ReadModel`,
`adapters/outbox.py` `OutboxStore` the `OutboxStore`; tests/test_import_rules.py checks that each
implements its port's methods with the same parameters).
Nothing here imports an adapter, so the rules (who is told, who may look) can be read and tested
without SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Protocol
from uuid import UUID


class ReadModel(Protocol):
    """The read model's queries the Session (and through it the API's DataLoaders, the labels, the
    feed, the pages and the CLI) asks. Rows are plain dicts with the thing's `proposal`; none is
    filtered: the Session applies who may see what (`Session.sees`)."""

    def row(self, kind: str, entity_id: UUID | str) -> dict[str, Any] | None:
        """One dewar, container, sample or shipment by id (None: not in the read model)."""

    def row_of(self, aggregate: Any) -> dict[str, Any]:
        """An aggregate (e.g. as it was at a past time) as the row the read model keeps for it."""

    def rows(self, kind: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        """Dewars, containers, samples or shipments by id, in one query."""

    def page(self, kind: str, *, proposals: frozenset[str] | None, first: int = 50, after: str | None = None,
             **filters: Any) -> tuple[list[dict[str, Any]], bool]:
        """One page of a list in a stable order (proposals None: every proposal's), and whether more follow."""

    def containers_in(self, dewar_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The containers directly in these dewars."""

    def children_of(self, container_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The containers held by these containers."""

    def samples_in(self, container_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The samples in these containers."""

    def dewars_of_shipments(self, shipment_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The dewars of these shipments."""

    def latest_samples(self, proposal: str, limit: int = 200) -> list[dict[str, Any]]:
        """A proposal's most recently changed samples, newest first."""

    def container_where(self, row: dict[str, Any], package: dict[str, Any] | None) -> dict[str, Any]:
        """Where a container is: loaded, at an instrument, or where its dewar (`package`) is."""

    def shipments_named(self, name: str) -> list[dict[str, Any]]:
        """Every proposal's shipments of this name (any case)."""

    def shipments_of(self, proposal: str | None, workflow: str | None = None) -> list[dict[str, Any]]:
        """A proposal's shipments (every proposal's with None), oldest first."""

    def proposals_of_person(self, person_id: str | None) -> frozenset[str]:
        """The proposals a person is a member of."""

    def arrived_since(self, since: Any, limit: int = 500) -> list[dict[str, Any]]:
        """The dewars whose last arrival was at or after `since`, newest first."""

    def dewars(self, workflow: str | None = None, proposal: str | None = None) -> list[dict[str, Any]]:
        """Every dewar, by barcode (of one workflow step or proposal if given)."""

    def unexpected_arrivals(self) -> list[dict[str, Any]]:
        """The dewars that arrived without a shipment announcing them."""

    def changer_map(self, instrument: str) -> list[dict[str, Any]]:
        """Each position of an instrument's sample changer, with the container in it, whose it is, its
        dewar and its load."""

    def locations(self) -> list[dict[str, Any]]:
        """The registered storage locations."""

    def where(self, barcode: str) -> dict[str, Any]:
        """Where a dewar or container is now, with a dewar's contents."""


class OutboxStore(Protocol):
    """The notifications' outbox and subscriptions, as the service layer uses them."""

    def settings_of(self, subjects: Iterable[str]) -> dict[str, dict[tuple[str, str], str]]:
        """Each person's choices: {person: {(kind, proposal or "*"): delivery}}."""

    def choose(self, subject: str, kind: str, proposal: str | None, delivery: str, now: datetime) -> None:
        """Record a person's choice for a kind of message, for one proposal (None: all)."""

    def rows(self, status: str | None = None, limit: int = 100, kind: str | None = None,
             recipient: str | None = None) -> list[dict[str, Any]]:
        """The outbox's rows, newest first."""

    def counts(self) -> dict[str, int]:
        """How many rows stand in each status."""

    def staff(self) -> dict[str, frozenset[str]]:
        """Person ids of the enabled personal staff accounts, by role (stores, beamline, admin)."""
