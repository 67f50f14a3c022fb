"""`logistics simulate`: a realistic facility history, for benchmarks and capacity planning.

Sized from a facility that runs about 9,000 visits a year, a third of them with a mail-in
shipment: MX dewars (mail-in and facility dewars reused for years) with unipucks reused trip
after trip, cryo-EM cassettes and grid boxes, and non-MX parcels. Every change goes through the
aggregates' own rules; aggregates are kept in memory and saved in large atomic batches, with
event times spread over the simulated years. The read model is caught up at the end.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from logistics.domain import clock, identifiers as ids, loading, packing
from logistics.domain.by import By
from logistics.domain.container import Container
from logistics.domain.dewar import Dewar
from logistics.domain.people import Proposal
from logistics.domain.registry import Claim, Counter
from logistics.domain.sample import Sample
from logistics.domain.shipment import Shipment

USER, STORES, BEAMLINE = By("sim:user", "web"), By("sim:stores", "stores-desk-1"), By("sim:beamline", "beamline")
MX_BEAMLINES = ["i03", "i04", "i04-1"]
STORAGE = ["loc-stores-a1", "loc-stores-a2", "loc-stores-b1", "loc-stores-b2"]


class Simulation:
    def __init__(self, app: Any, seed: int = 1, visits_per_year: int = 9000, batch: int = 400):
        self.app, self.rng, self.visits, self.batch = app, random.Random(seed), visits_per_year, batch
        self.pending: dict[Any, Any] = {}
        self.changers = {name: app.changer(name) for name in [*MX_BEAMLINES, "m02"]}
        self.counter = app.counter("dewar-serial") or Counter(name="dewar-serial")
        self.facility_dewars: list[Dewar] = []
        self.pucks: dict[str, list[Container]] = {}
        self.proposals: list[str] = []
        self.saved_events = 0
        self.serial_run = f"{seed:02d}"

    def keep(self, *aggregates: Any) -> None:
        for a in aggregates:
            if a is not None:
                self.pending[a.id] = a

    def flush(self) -> None:
        """Save the batch through the unit of work; the read model catches up once, at the end."""
        if not self.pending:
            return
        batch, tries = list(self.pending.values()), []

        def command() -> tuple[list[Any], int]:
            # The batch was built outside the command, so it cannot be built again on fresh state:
            # overtaken by another writer's save, the simulation stops rather than save half of it.
            if tries:
                raise RuntimeError("another writer saved to the simulated aggregates: simulate into a "
                                   "database that nothing else writes to")
            tries.append(1)
            return batch, sum(len(a.pending_events) for a in batch)
        self.saved_events += self.app.run_command(command, catch_up=False)
        self.pending.clear()

    def claim(self, key: str, kind: str, entity: Any, by: By, namespace: str = "barcode") -> None:
        self.keep(Claim(namespace=namespace, key=key, entity_type=kind, entity_id=str(entity.id), **by.fields))

    def setup(self, proposals: int) -> None:
        prefixes = ["mx"] * 6 + ["cm", "sm", "ee", "cy"]
        for n in range(proposals):
            code = f"{prefixes[n % len(prefixes)]}{40000 + n}"
            if self.app.has_proposal(code):
                self.proposals.append(code)
                continue
            self.keep(Proposal(code=code, title=f"Simulated proposal {n}", **STORES.fields))
            self.proposals.append(code)
        for n in range(40):
            code = f"DLS-MX-{9000 + n:04d}"
            dewar = Dewar(barcode=code, kind="dewar", facility_code=code, shipment_id=None, proposal=None, **STORES.fields)
            self.claim(code, "dewar", dewar, STORES)
            self.facility_dewars.append(dewar)
            self.keep(dewar)
        self.flush()

    def shipment(self, n: int) -> None:
        rng, proposal = self.rng, self.rng.choice(self.proposals)
        technique = proposal[:2]
        shipment = Shipment(proposal=proposal, name=f"sim-{self.serial_run}-{n}", sending_contact=None,
                            return_contact=None, safety_level=rng.choice(["green", "green", "yellow"]), **USER.fields)
        self.claim(f"{proposal}/{shipment.name}", "shipment", shipment, USER, namespace="shipment-name")
        dewar = self.package(shipment, technique)
        shipment.add_dewar(str(dewar.id), USER)
        boxes = self.pack(proposal, technique, dewar)
        shipment.set_courier("dhl", f"{rng.randrange(10**9, 10**10)}", USER)
        shipment.mark_sent([dewar.workflow], USER)
        dewar.mark_sent(USER)
        dewar.scan_in("loc-goods-in", STORES)
        dewar.scan_in(rng.choice(STORAGE), STORES)
        if rng.random() < 0.8:
            dewar.top_up(10.0, STORES)
        if rng.random() < 0.02:
            dewar.report_damage("outer case dented in transit", STORES)
        self.use(technique, dewar, boxes)
        if rng.random() < 0.97:
            dewar.request_dispatch(USER)
            dewar.book_dispatch("dhl", f"{rng.randrange(10**9, 10**10)}", STORES)
            dewar.scan_in("loc-dispatch", STORES)
            dewar.scan_out(STORES)
            dewar.mark_returned(STORES)
        self.keep(shipment, dewar, *boxes)

    def package(self, shipment: Shipment, technique: str) -> Dewar:
        rng = self.rng
        if technique == "mx" and rng.random() < 0.3:
            free = [d for d in self.facility_dewars if d.workflow in ("available", "returned", "closed")]
            if free:
                dewar = rng.choice(free)
                dewar.assign(shipment.id, shipment.proposal, USER)
                return dewar
        beamline = {"mx": rng.choice(MX_BEAMLINES), "cm": "m02", "sm": "b21", "ee": "i15-1", "cy": "i19"}[technique]
        code = ids.MailInBarcode.allocate(shipment.proposal, rng.randint(1, 40), beamline, self.counter.value + 1)
        self.counter.take(code.serial)
        dewar = Dewar(barcode=str(code), kind="parcel" if technique in ("sm", "ee") else "dewar", facility_code=None,
                      shipment_id=shipment.id, proposal=shipment.proposal, **USER.fields)
        self.claim(str(code), "dewar", dewar, USER)
        self.claim(f"{code.serial:07d}", "dewar", dewar, USER, namespace="dewar-serial")
        self.keep(self.counter)
        return dewar

    def pack(self, proposal: str, technique: str, dewar: Dewar) -> list[Container]:
        rng, catalogue = self.rng, self.app.catalogue
        kind, box_type, count = {"mx": ("mx-crystal", "unipuck", rng.randint(1, 3)),
                                 "cm": ("cryoem-grid", "autoloader-cassette", 1),
                                 "sm": ("saxs-buffer", "plate-96", 1), "ee": ("xpdf-sample", "powder-box", 1),
                                 "cy": ("chemical-crystal", "unipuck", 1)}[technique]
        ctype, sample_kind = catalogue.container_type(box_type), catalogue.sample_kind(kind)
        pool = self.pucks.setdefault(proposal, [])
        boxes = []
        for _ in range(count):
            reusable = [p for p in pool if p.container_type == box_type and p not in boxes and not p.loaded]
            if reusable and rng.random() < 0.7:
                box = rng.choice(reusable)
                box.unpacked(**USER.fields)
                for position in list(box.samples):
                    box.sample_removed(position=position, **USER.fields)
            else:
                box = Container(barcode=f"SIM{self.serial_run}-{len(self.pending)}-{rng.randrange(10**8)}",
                                container_type=box_type, proposal=proposal, **USER.fields)
                self.claim(box.barcode, "container", box, USER)
                pool.append(box)
            packing.pack_container(box, ctype, dewar, None, None, None, USER)
            for position in range(1, rng.randint(4, min(ctype.capacity, 12)) + 1):
                attributes = {"mx-crystal": {"protein_acronym": "simP"}, "cryoem-grid": {
                    "protein_acronym": "simP", "grid_type": "Quantifoil R1.2/1.3"}, "saxs-buffer": {
                    "composition": "20 mM HEPES", "volume_ul": 50}, "xpdf-sample": {"formula": "SiO2"},
                    "chemical-crystal": {"formula": "C6H6"}}[kind]
                sample = Sample(name=f"s{position}", kind=kind, attributes=attributes, safety={}, proposal=proposal,
                                **USER.fields)
                packing.place_sample(sample, sample_kind, box, ctype, dewar, str(position), USER)
                self.keep(sample)
            boxes.append(box)
        return boxes

    def use(self, technique: str, dewar: Dewar, boxes: list[Container]) -> None:
        instrument = {"mx": None, "cm": "m02"}.get(technique)
        if technique == "mx":
            instrument = self.rng.choice(MX_BEAMLINES)
        if instrument is None:
            dewar.take_to_instrument({"sm": "b21", "ee": "i15-1", "cy": "i19"}[technique], BEAMLINE)
            dewar.scan_in(self.rng.choice(STORAGE), BEAMLINE)
            return
        dewar.take_to_instrument(instrument, BEAMLINE)
        changer = self.changers[instrument]
        for box in boxes:
            free = [p for p in changer.positions if p not in changer.occupied]
            loading.load(changer, box, dewar, free[0], BEAMLINE)
        for box in boxes:
            loading.unload(changer, box, dewar, BEAMLINE)
        dewar.scan_in(self.rng.choice(STORAGE), BEAMLINE)
        self.keep(changer)

    def run(self, years: float, start: datetime, progress: Callable[[int], None] = lambda n: None) -> int:
        shipments = int(years * self.visits / 3)
        span = timedelta(days=365.25 * years)
        now = {"t": start}
        with clock.simulated(lambda: now["t"]):
            self.setup(proposals=max(10, int(400 * min(years, 1) + 40 * years)))
            for n in range(shipments):
                now["t"] = start + span * (n / max(shipments, 1))
                self.shipment(n)
                if len(self.pending) >= self.batch:
                    self.flush()
                progress(1)
            self.flush()
        return shipments


def simulate(system: Any, years: float, seed: int, progress: Callable[[int], None], catch_up_progress) -> dict[str, int]:
    start = datetime.now(timezone.utc) - timedelta(days=365.25 * years)
    simulation = Simulation(system.app, seed=seed)
    shipments = simulation.run(years, start, progress)
    applied = system.projection.catch_up(progress=catch_up_progress)
    return {"shipments": shipments, "events": simulation.saved_events, "read_model_events": applied}
