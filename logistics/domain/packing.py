"""Packing rules that span aggregates: containers into dewars or parent containers, samples
into containers. Contents change only while the dewar is still with its user group."""

from __future__ import annotations

from logistics.domain.by import By
from logistics.domain.catalogue import ContainerType, SampleKind
from logistics.domain.container import Container, container_ref, dewar_ref
from logistics.domain.dewar import Dewar
from logistics.domain.errors import NotPermitted
from logistics.domain.sample import Sample


def _place(container: Container, ctype: ContainerType, dewar: Dewar, parent: Container | None,
           parent_type: ContainerType | None, position: str | None, by: By) -> tuple[dict[str, str], str | None]:
    """Check that the container may go there and take the parent's position: where it now is."""
    dewar.require_packable()
    container.require_usable()
    if parent is None:
        if dewar.kind not in ctype.goes_into:
            raise NotPermitted(f"a {ctype.name} does not go into a {dewar.kind}: it goes into {', '.join(ctype.goes_into)}",
                               field="container_type")
        return dewar_ref(dewar.id), None
    assert parent_type is not None
    parent.require_usable()
    if parent.id == container.id:
        raise NotPermitted(f"container {container.barcode} cannot go into itself", field="parent")
    if parent.dewar_id != str(dewar.id):
        raise NotPermitted(f"container {parent.barcode} is not in dewar {dewar.barcode}", field="parent")
    if not parent_type.holds_containers or parent_type.code not in ctype.goes_into:
        raise NotPermitted(f"a {ctype.name} does not go into a {parent_type.name}: it goes into {', '.join(ctype.goes_into)}",
                           field="container_type")
    position = parent_type.check_position(position or "")
    parent.require_free_position(position)
    parent.child_placed(position=position, container_id=str(container.id), **by.fields)
    return container_ref(parent.id), position


def pack_container(container: Container, ctype: ContainerType, dewar: Dewar,
                   parent: Container | None, parent_type: ContainerType | None,
                   position: str | None, by: By) -> None:
    """Put a container into a dewar (parent None) or into a parent container in that dewar."""
    dewar.require_packable()
    container.require_usable()
    if container.parent is not None:
        raise NotPermitted(f"container {container.barcode} is already packed; remove it from where it is first",
                           field="container_barcode")
    ref, position = _place(container, ctype, dewar, parent, parent_type, position, by)
    container.packed(parent=ref, dewar_id=str(dewar.id), shipment_id=str(dewar.shipment_id),
                     proposal=dewar.proposal or container.proposal, position=position, **by.fields)
    dewar.container_packed(container_id=str(container.id), position=position, **by.fields)


def _take_out(container: Container, dewar: Dewar, parent: Container | None, by: By) -> None:
    dewar.require_packable()
    if container.children:
        raise NotPermitted(f"container {container.barcode} still holds containers; remove them first")
    if parent is not None and container.position is not None:
        parent.child_removed(position=container.position, **by.fields)


def unpack_container(container: Container, dewar: Dewar, parent: Container | None, by: By) -> None:
    _take_out(container, dewar, parent, by)
    container.unpacked(**by.fields)
    dewar.container_unpacked(container_id=str(container.id), **by.fields)


def move_container(container: Container, ctype: ContainerType, old_dewar: Dewar, old_parent: Container | None,
                   dewar: Dewar, parent: Container | None, parent_type: ContainerType | None,
                   position: str | None, by: By) -> None:
    """Repack a container elsewhere before sending: one `Moved` event of the container, holding
    where it was and where it now is (older histories hold the pair Unpacked, Packed instead)."""
    if container.parent is None:
        raise NotPermitted(f"container {container.barcode} is not packed in any dewar")
    _take_out(container, old_dewar, old_parent, by)
    was, was_position = dict(container.parent), container.position
    ref, position = _place(container, ctype, dewar, parent, parent_type, position, by)
    container.moved(from_parent=was, from_position=was_position, parent=ref, dewar_id=str(dewar.id),
                    shipment_id=str(dewar.shipment_id), proposal=dewar.proposal or container.proposal,
                    position=position, **by.fields)
    if dewar is old_dewar:
        dewar.container_moved(container_id=str(container.id), position=position, **by.fields)
    else:
        old_dewar.container_unpacked(container_id=str(container.id), **by.fields)
        dewar.container_packed(container_id=str(container.id), position=position, **by.fields)


def require_container_editable(container: Container, dewar: Dewar | None) -> None:
    container.require_usable()
    if dewar is not None:
        dewar.require_packable()


def place_sample(sample: Sample, kind: SampleKind, container: Container, ctype: ContainerType,
                 dewar: Dewar | None, position: str, by: By) -> None:
    require_container_editable(container, dewar)
    if not ctype.holds_samples or ctype.code not in kind.goes_into:
        raise NotPermitted(f"a {kind.name} does not go into a {ctype.name}: it goes into {', '.join(kind.goes_into)}",
                           field="sample_kind")
    position = ctype.check_position(position)
    container.require_free_position(position)
    container.sample_placed(position=position, sample_id=str(sample.id), **by.fields)
    sample.placed(container_id=str(container.id), position=position, **by.fields)


def remove_sample(sample: Sample, container: Container, dewar: Dewar | None, by: By) -> None:
    require_container_editable(container, dewar)
    if sample.position is not None:
        container.sample_removed(position=sample.position, **by.fields)
    sample.removed_from_container(**by.fields)
