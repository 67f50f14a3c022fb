"""What a label says: plain, frozen value objects.

Every field is a ``str``, an ``int`` or a tuple of those.  Nothing here knows
about the logistics domain: the caller copies the values it wants printed.
Sequences given as lists are stored as tuples, so a label is hashable and
cannot change after it was built.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional, Tuple, Union

#: Printed on every outbound address label of a dry shipper.
DRY_SHIPPER_DECLARATION = "Cryogenic dry shipper. Not restricted, ADR A346, IATA A152"


def _freeze(obj, *names: str) -> None:
    """Store the named sequence fields as tuples of ``str``."""
    for name in names:
        value = getattr(obj, name)
        if value is None:
            value = ()
        if isinstance(value, str):
            # A lone string would otherwise be split into characters.
            value = (value,)
        object.__setattr__(obj, name, tuple(str(v) for v in value))


def _require(obj, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{type(obj).__name__}.{name} must be a non-empty string, got {value!r}")


def _optional(obj, *names: str) -> None:
    """Treat empty optional strings as absent."""
    for name in names:
        value = getattr(obj, name)
        if value is not None and not str(value).strip():
            object.__setattr__(obj, name, None)


@dataclass(frozen=True)
class DewarLabel:
    """The label stuck on a dewar (and on its case)."""

    barcode: str
    proposal: str
    shipment_name: str
    safety_level: str
    container_barcodes: Tuple[str, ...] = ()
    printed_date: str = ""
    facility_code: Optional[str] = None
    qr_url: Optional[str] = None

    def __post_init__(self) -> None:
        _require(self, "barcode", "proposal")
        _freeze(self, "container_barcodes")
        _optional(self, "facility_code", "qr_url")


@dataclass(frozen=True)
class AddressLabel:
    """Outbound parcel label: from the user's lab to the facility."""

    facility_address: Tuple[str, ...]
    sender_name: str
    sender_lines: Tuple[str, ...] = ()
    parcel_index: int = 1
    parcel_count: int = 1
    instrument: Optional[str] = None
    experiment_date: Optional[str] = None
    proposal: Optional[str] = None
    #: The dewar in this parcel: its barcode is printed as Code 128, so goods-in scans the parcel itself.
    dewar_barcode: Optional[str] = None
    visit: Optional[str] = None  # e.g. "mx23694-1": with the instrument, where stores take the dewar
    courier: Optional[str] = None
    tracking_number: Optional[str] = None  # the outbound booking, once the sender entered it

    def __post_init__(self) -> None:
        _freeze(self, "facility_address", "sender_lines")
        if not self.facility_address:
            raise ValueError("AddressLabel.facility_address needs at least one line")
        _require(self, "sender_name")
        _optional(self, "instrument", "experiment_date", "proposal", "dewar_barcode", "visit", "courier",
                  "tracking_number")
        if not (isinstance(self.parcel_index, int) and isinstance(self.parcel_count, int)):
            raise ValueError("AddressLabel.parcel_index and parcel_count must be integers")
        if not 1 <= self.parcel_index <= self.parcel_count:
            raise ValueError(
                f"AddressLabel parcel {self.parcel_index} of {self.parcel_count}: "
                "the index must be between 1 and the count"
            )

    @property
    def declaration(self) -> str:
        return DRY_SHIPPER_DECLARATION


@dataclass(frozen=True)
class ReturnLabel:
    """Label for sending a dewar back to the user's lab."""

    return_address: Tuple[str, ...]
    courier: str
    courier_account: str
    tracking_number: Optional[str] = None
    dewar_barcode: Optional[str] = None  # which dewar goes back in this parcel (printed as text)

    def __post_init__(self) -> None:
        _freeze(self, "return_address")
        if not self.return_address:
            raise ValueError("ReturnLabel.return_address needs at least one line")
        _require(self, "courier")
        object.__setattr__(self, "courier_account", str(self.courier_account or ""))
        _optional(self, "tracking_number", "dewar_barcode")


@dataclass(frozen=True)
class ManifestLine:
    dewar_barcode: str
    container_barcode: str
    container_type: str
    position: Union[str, int]
    sample_name: str
    sample_kind: str

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, "" if value is None else str(value))


@dataclass(frozen=True)
class Manifest:
    """Packing list of a shipment; always printed on A4 pages."""

    shipment_name: str
    proposal: str
    dewar_barcodes: Tuple[str, ...] = ()
    lines: Tuple[ManifestLine, ...] = ()
    printed_date: str = ""

    def __post_init__(self) -> None:
        _freeze(self, "dewar_barcodes")
        lines = tuple(self.lines or ())
        for line in lines:
            if not isinstance(line, ManifestLine):
                raise ValueError(f"Manifest.lines must hold ManifestLine values, got {line!r}")
        object.__setattr__(self, "lines", lines)


@dataclass(frozen=True)
class ContainerLabel:
    """Small label for a puck, cane, grid box, plate..."""

    barcode: str
    container_type: str
    proposal: str

    def __post_init__(self) -> None:
        _require(self, "barcode")


Label = Union[DewarLabel, AddressLabel, ReturnLabel, Manifest, ContainerLabel]
