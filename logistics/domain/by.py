"""Who did something and from which station: recorded on every event."""

from __future__ import annotations

from dataclasses import dataclass

from logistics.domain.errors import InvalidValue


@dataclass(frozen=True)
class By:
    """The principal (a person id, a scanner station's account, or `system`) and station."""

    actor: str
    station: str | None = None

    def __post_init__(self) -> None:
        if not self.actor or not self.actor.strip():
            raise InvalidValue("every change needs an actor; got an empty actor")

    @property
    def fields(self) -> dict[str, str | None]:
        """The event fields every event carries."""
        return {"actor": self.actor, "station": self.station}


SYSTEM = By("system")
