"""Facility registries: claims on unique keys, serial counters, storage locations.

Uniqueness is the event store's job: a Claim's id is derived from the key it claims, so a
second claim of the same barcode conflicts on version 1 and exactly one save wins.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from logistics.domain.clock import Tracked


class Claim(Tracked):
    @staticmethod
    def create_id(namespace: str, key: str) -> UUID:
        return claim_id(namespace, key)

    @event("Claimed")
    def __init__(self, namespace: str, key: str, entity_type: str, entity_id: str, actor: str, station: str | None):
        self.namespace, self.key = namespace, key
        self.entity_type, self.entity_id = entity_type, entity_id


@lru_cache(maxsize=65536)  # every scan resolves its barcode: uuid5 is a SHA-1 and a UUID each time
def claim_id(namespace: str, key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"logistics:claim:{namespace}:{key}")


class Counter(Tracked):
    """A serial number source; concurrent takers conflict on its version and retry."""

    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"logistics:counter:{name}")

    @event("Started")
    def __init__(self, name: str):
        self.name, self.value = name, 0

    @event("Taken")
    def take(self, value: int) -> None:
        self.value = value


class Location(Tracked):
    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"logistics:location:{code}")

    @event("Registered")
    def __init__(self, code: str, name: str, kind: str, actor: str, station: str | None):
        self.code, self.name, self.kind = code, name, kind
