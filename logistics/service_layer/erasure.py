"""Erasing a person, completely: what the system wrote of them outside the events goes too.

The events hold a person's data only sealed with their own key (adapters/personal_data.py), so
destroying the key erases it there while every history stays whole and verifiable (the chain
covers the sealed bytes, which do not change). Elsewhere the system may have written their data
in clear: an SMTP server's refusal quoting their address in the outbox, a log line, an account
named after them. `Logistics.erase_person` first learns, with the key, what to look for (their
name, e-mail address, phone number and lab-contact addresses), has each `Purger` remove it, then
records who erased them (the `Erased` event: actor, station, time) and destroys the key last, so
an erasure interrupted half-way can be run again and finish.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping

ERASED_TEXT = "[erased]"
# A purger: (person id, what to look for) -> how many things it changed.
Purger = Callable[[str, "PersonalData"], int]


@dataclass(frozen=True)
class PersonalData:
    """What of a person might appear in clear: whole values, and the words of their name."""
    values: tuple[str, ...]
    name_words: tuple[str, ...] = ()

    @classmethod
    def of(cls, details: Mapping[str, Any], addresses: Iterable[Mapping[str, Any]] = ()) -> "PersonalData":
        values = [str(details.get(k) or "").strip() for k in ("name", "email", "phone")]
        for address in addresses:
            values += [str(line).strip() for line in address.get("lines", [])]
        name_words = [w for w in re.split(r"[\s,.]+", str(details.get("name") or "")) if len(w) >= 3]
        kept = tuple(sorted({v for v in values if len(v) >= 3}, key=len, reverse=True))
        return cls(kept, tuple(sorted(set(name_words), key=len, reverse=True)))

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        parts = [re.escape(v) for v in self.values] + [rf"\b{re.escape(w)}\b" for w in self.name_words]
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def searched(self) -> list[str]:
        """Substrings a database may be asked for (LIKE), before `redact` looks closer."""
        return list(self.values) + list(self.name_words)

    def redact(self, text: str | None) -> str | None:
        pattern = self.pattern
        if text is None or pattern is None:
            return text
        return pattern.sub(ERASED_TEXT, text)


@dataclass
class ErasureReport:
    person_id: str
    erased_by: str
    already_erased: bool
    purged: dict[str, int]

    def sentence(self) -> str:
        if self.already_erased:
            done = ", ".join(f"{what}: {n}" for what, n in self.purged.items())
            return f"person {self.person_id} was already erased; purged again ({done})"
        done = ", ".join(f"{what}: {n}" for what, n in self.purged.items())
        return f"erased person {self.person_id}: key destroyed; {done}; recorded as erased by {self.erased_by}"
