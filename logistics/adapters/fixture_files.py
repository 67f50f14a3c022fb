"""Reads the reference data in `fixtures/` into catalogue values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from logistics.domain.catalogue import Catalogue, ChangerLayout, ContainerType, Instrument, SampleKind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"reference data file {path} cannot be read: {e}") from e


def _changer(raw: dict[str, Any] | None) -> ChangerLayout | None:
    if not raw:
        return None
    positions = raw["positions"]
    names = [str(n) for n in range(1, positions + 1)] if isinstance(positions, int) else [str(p) for p in positions]
    return ChangerLayout(model=raw.get("model", ""), positions=tuple(names), accepts=tuple(raw["accepts"]))


def load_catalogue(folder: Path = FIXTURES) -> Catalogue:
    types = {
        t["code"]: ContainerType(
            code=t["code"], name=t["name"], capacity=int(t["capacity"]),
            holds_samples=bool(t.get("holds_samples")), holds_containers=bool(t.get("holds_containers")),
            goes_into=tuple(t["goes_into"]),
        )
        for t in _read(folder / "container-types.json")
    }
    kinds = {}
    for path in sorted((folder / "sample-kinds").glob("*.json")):
        k = _read(path)
        kinds[k["code"]] = SampleKind(code=k["code"], name=k["name"], technique=k.get("technique", ""),
                                      goes_into=tuple(k["goes_into"]), schema=k["schema"],
                                      examples=tuple(k.get("examples", ())))
    instruments = {
        i["name"]: Instrument(name=i["name"], title=i.get("title", i["name"]), technique=i.get("technique", ""),
                              changer=_changer(i.get("changer")))
        for i in _read(folder / "instruments.json")
    }
    return Catalogue(container_types=types, sample_kinds=kinds, instruments=instruments,
                     sample_safety=_read(folder / "sample-safety.json"))


def load_locations(folder: Path = FIXTURES) -> list[dict[str, str]]:
    return list(_read(folder / "locations.json"))


def load_demo(folder: Path = FIXTURES) -> dict[str, Any]:
    return _read(folder / "demo.json")
