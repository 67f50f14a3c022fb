"""History as sentences: every kind of event reads as words, the same in the API, the pages,
the CLI and the messages (logistics/service_layer/sentences.py)."""

from __future__ import annotations

import inspect

from eventsourcing.domain import Aggregate

from logistics.domain.clock import Tracked
from logistics.service_layer.access import Principal
from logistics.service_layer.sentences import SENTENCES
from logistics.service_layer.session import Session
from tests.helpers import BEAMLINE, at_facility


def _aggregates(cls: type = Tracked) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_aggregates(sub)}
    return found


def _event_classes() -> set[str]:
    import importlib
    import pkgutil

    import logistics.domain as domain
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"logistics.domain.{module.name}")
    keys = set()
    for aggregate in _aggregates():
        events = {name: value for name, value in vars(aggregate).items()
                  if inspect.isclass(value) and issubclass(value, Aggregate.Event) and name != "Event"}
        for name, value in events.items():
            if name == "Created" and any(v is not value and issubclass(v, Aggregate.Created) for v in events.values()):
                continue  # the library's default creation event, never recorded: __init__ records "Registered"
            keys.add(f"{aggregate.__name__}.{name}")
    return keys


def test_every_event_class_of_the_domain_has_a_sentence():
    missing = sorted(_event_classes() - set(SENTENCES))
    assert not missing, f"add a sentence to logistics/service_layer/sentences.py SENTENCES for: {', '.join(missing)}"


def _staff() -> Session:
    return Principal("acct-staff", "bea", frozenset({"beamline"}))


def test_a_puck_loaded_into_a_sample_changer_reads_as_a_sentence_in_the_dewars_history(system):
    shipment, barcode = at_facility(system, puck="CPS-1001")
    system.app.load("CPS-1001", "i03", "3", BEAMLINE)
    session = Session(system.app, system.views, _staff())
    kind, dewar_id, _ = session.resolve(barcode)

    told = session.told_history(kind, dewar_id)

    sentences = [e["sentence"] for e in told]
    assert "Loaded unipuck CPS-1001 into i03 sample changer position 3" in sentences
    assert f"Received dewar {barcode} at Stores goods-in bay" in sentences
    loaded = next(e for e in told if e["event"] == "ContainerLoaded")
    links = {p["text"]: p["href"] for p in loaded["parts"] if p["href"]}
    assert links == {"unipuck CPS-1001": "/containers/CPS-1001", "i03": "/beamline/i03"}


def test_a_member_of_another_proposal_never_reads_what_the_puck_is_called(system):
    shipment, barcode = at_facility(system, puck="CPS-1001")
    session = Session(system.app, system.views, _staff())
    kind, dewar_id, _ = session.resolve(barcode)
    events = system.app.history(dewar_id)
    outsider = Session(system.app, system.views, Principal("acct-x", "dorothy", frozenset({"member"}),
                                                             frozenset({"mx31020"})))

    outsider.tell(events)

    packed = next(e for e in events if e["event"] == "ContainerPacked")
    assert "CPS-1001" not in packed["sentence"] and packed["sentence"].startswith("Packed a container into a dewar")
    assert all(p["href"] is None for p in packed["parts"])
