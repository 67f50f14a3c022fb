"""Sample-changer loading: the changer, the container and its dewar change in one save."""

from __future__ import annotations

from logistics.domain import facets as f
from logistics.domain.by import By
from logistics.domain.changer import SampleChanger
from logistics.domain.container import Container
from logistics.domain.dewar import Dewar
from logistics.domain.errors import NotPermitted


def load(changer: SampleChanger, container: Container, dewar: Dewar, position: str, by: By) -> None:
    if not dewar.on_site:
        raise NotPermitted(
            f"container {container.barcode} cannot be loaded: its dewar {dewar.barcode} is not at the facility"
        )
    if dewar.workflow == f.DISPATCH_BOOKED:
        raise NotPermitted(
            f"container {container.barcode} cannot be loaded: its dewar {dewar.barcode} is {dewar.workflow} "
            f"(to go back with {(dewar.return_courier or '').upper()} {dewar.return_tracking or ''}".rstrip()
            + "); stores must cancel the dispatch first"
        )
    position = changer.check_position(position)
    container.load(changer.instrument, position, by)
    changer.load(position, str(container.id), container.container_type, by)
    dewar.container_loaded(container_id=str(container.id), instrument=changer.instrument, position=position, **by.fields)


def unload(changer: SampleChanger, container: Container, dewar: Dewar, by: By) -> None:
    container.unload(by)
    changer.unload(str(container.id), by)
    dewar.container_unloaded(container_id=str(container.id), **by.fields)
