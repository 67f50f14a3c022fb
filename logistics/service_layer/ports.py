"""The ports the service layer is handed by bootstrap.py: what it needs of a store, as typing.Protocols.

The service layer names what it asks; the adapters answer (`adapters/outbox.py` `OutboxStore`).
Nothing here imports an adapter, so the rules (who is told, who may look) can be read and tested
without SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Protocol


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
