"""Rows a facility's ISPyB already has (people, proposals, visits), and the queries its readers make."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from logistics.adapters.ispyb.mapping import split_proposal


def add_proposal(engine: Engine, code: str, visits: range | list[int] = range(1, 11), beamline: str = "i03") -> int:
    letters, number = split_proposal(code)
    with engine.begin() as conn:
        person = conn.execute(text("INSERT INTO Person (login, givenName, familyName) VALUES (:l, 'P', 'I')"),
                              {"l": f"pi-{code}"}).lastrowid
        proposal = conn.execute(text("INSERT INTO Proposal (personId, proposalCode, proposalNumber, title) "
                                     "VALUES (:p, :c, :n, :t)"), {"p": person, "c": letters, "n": number, "t": code}).lastrowid
        for visit in visits:
            add_visit(conn, proposal, visit, beamline)
    return proposal


def add_visit(conn: Any, proposal_id: int, visit: int, beamline: str = "i03") -> None:
    conn.execute(text("INSERT INTO BLSession (proposalId, visit_number, beamLineName, startDate) "
                      "VALUES (:p, :v, :b, '2026-11-30 09:00:00')"), {"p": proposal_id, "v": visit, "b": beamline})


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


# SynchWeb's shipment list (api/src/Page/Shipment.php, _get_shipments): the joins and columns it shows.
SYNCHWEB_SHIPMENTS = """
SELECT s.shippingid, s.shippingname, s.shippingstatus, s.safetylevel, s.deliveryagent_agentname,
       count(d.dewarid) AS dcount, SUM(IFNULL(c.puckcount, 0)) AS pcount,
       CONCAT(p.proposalcode, p.proposalnumber) AS prop,
       GROUP_CONCAT(DISTINCT CONCAT(p.proposalcode, p.proposalnumber, '-', b.visit_number)) AS visit,
       SUM(IF(d.dewarstatus = 'processing', 1, 0)) AS processing
FROM Proposal p
INNER JOIN Shipping s ON p.proposalid = s.proposalid
LEFT OUTER JOIN Dewar d ON d.shippingid = s.shippingid
LEFT OUTER JOIN BLSession b ON b.sessionid = d.firstexperimentid
LEFT OUTER JOIN (SELECT dewarid, COUNT(IF(capacity < 25, 1, NULL)) AS puckcount FROM Container GROUP BY dewarid) c
  ON c.dewarid = d.dewarid
WHERE p.proposalcode = :code AND p.proposalnumber = :number
GROUP BY s.shippingid, s.shippingname, s.shippingstatus, s.safetylevel, s.deliveryagent_agentname
ORDER BY s.shippingid
"""

# SynchWeb's dewar list of a shipment (_get_dewars), with the dewar's history (_dewar_history).
SYNCHWEB_DEWARS = """
SELECT d.dewarid, d.code, d.barcode, d.storagelocation, d.dewarstatus, IFNULL(r.facilitycode, d.facilitycode) AS facilitycode,
       d.trackingnumbertosynchrotron, d.trackingnumberfromsynchrotron, count(c.containerid) AS ccount,
       GROUP_CONCAT(c.code ORDER BY c.code SEPARATOR ', ') AS containers,
       CONCAT(p.proposalcode, p.proposalnumber, '-', se.visit_number) AS firstexperiment
FROM Dewar d
LEFT OUTER JOIN Container c ON c.dewarid = d.dewarid
INNER JOIN Shipping s ON d.shippingid = s.shippingid
INNER JOIN Proposal p ON p.proposalid = s.proposalid
LEFT OUTER JOIN BLSession se ON d.firstexperimentid = se.sessionid
LEFT OUTER JOIN DewarRegistry r ON r.dewarregistryid = d.dewarregistryid
WHERE s.shippingname = :name
GROUP BY d.dewarid, d.code, d.barcode, d.storagelocation, d.dewarstatus, facilitycode, d.trackingnumbertosynchrotron,
         d.trackingnumberfromsynchrotron, firstexperiment
"""

DEWAR_HISTORY = """
SELECT h.dewarstatus, h.storagelocation FROM DewarTransportHistory h JOIN Dewar d ON d.dewarid = h.dewarid
WHERE d.code = :code ORDER BY h.arrivaldate, h.dewartransporthistoryid
"""

# The sample list MXCuBE asks ISPyB for at a beamline: samples of the containers assigned ('processing')
# there, with their crystal, protein and diffraction plan (ISPyB's retrieve_samples_assigned_for_proposal
# and the ISPyB web service's sample-info query join these tables the same way).
MXCUBE_SAMPLES = """
SELECT bls.blsampleid, bls.name AS samplename, bls.location AS samplelocation, c.code AS containercode,
       c.samplechangerlocation, c.beamlinelocation, pr.acronym AS proteinacronym, cr.spacegroup,
       dp.diffractionplanid, CONCAT(p.proposalcode, p.proposalnumber) AS proposal
FROM BLSample bls
INNER JOIN Container c ON c.containerid = bls.containerid
INNER JOIN Dewar d ON d.dewarid = c.dewarid
INNER JOIN Shipping s ON s.shippingid = d.shippingid
INNER JOIN Proposal p ON p.proposalid = s.proposalid
INNER JOIN Crystal cr ON cr.crystalid = bls.crystalid
INNER JOIN Protein pr ON pr.proteinid = cr.proteinid
LEFT OUTER JOIN DiffractionPlan dp ON dp.diffractionplanid = bls.diffractionplanid
WHERE c.beamlinelocation = :beamline AND c.containerstatus = 'processing'
ORDER BY CAST(c.samplechangerlocation AS UNSIGNED), CAST(bls.location AS UNSIGNED)
"""


def add_every_proposal(system: Any, engine: Engine, visits: range = range(1, 41)) -> None:
    """Every proposal the tracker knows, with these visits, as a facility's ISPyB would have them."""
    from sqlalchemy import select
    from logistics.adapters.read_model import proposals
    with system.database.engine().connect() as conn:
        codes = [r.code for r in conn.execute(select(proposals.c.code))]
    with engine.begin() as conn:
        person = conn.execute(text("INSERT INTO Person (login) VALUES ('pi')")).lastrowid
        for code in codes:
            letters, number = split_proposal(code)
            proposal = conn.execute(text("INSERT INTO Proposal (personId, proposalCode, proposalNumber) VALUES (:p, :c, :n)"),
                                    {"p": person, "c": letters, "n": number}).lastrowid
            conn.execute(text("INSERT INTO BLSession (proposalId, visit_number, beamLineName) VALUES (:p, :v, 'i03')"),
                         [{"p": proposal, "v": v} for v in visits])
