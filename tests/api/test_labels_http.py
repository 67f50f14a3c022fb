"""Labels over HTTP: a shipment's members and staff get the PDF; nobody else learns it exists."""

import httpx

from tests.labels.support import decode, pages


def _shipment(server, who: str, name: str) -> dict:
    data = server.gql(who, "query($p: String) { shipments(proposal: $p, first: 100) { edges { node { id name "
                           "dewars { barcode } } } } }", p="mx23694")
    return next(e["node"] for e in data["shipments"]["edges"] if e["node"]["name"] == name)


def test_a_member_downloads_labels_that_scan_and_a_stranger_gets_not_found(server):
    shipment = _shipment(server, "ada", "Efflux pumps run 1")
    with server.client("ada") as ada:
        response = ada.post(f"/shipments/{shipment['id']}/labels", params={"stock": "thermal-4x6"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        scanned = {text for image in pages(response.content) for _, text in decode(image)}
        assert shipment["dewars"][0]["barcode"] in scanned
        zpl = ada.post("/shipments/mx23694/Efflux pumps run 1/labels", data={"stock": "thermal-4x6", "format": "zpl"})
        assert zpl.status_code == 200 and zpl.text.startswith("^XA")
    with server.client("stores") as stores:
        assert stores.post(f"/shipments/{shipment['id']}/labels").status_code == 200
    with server.client("dorothy") as stranger:
        foreign = stranger.get(f"/shipments/{shipment['id']}/labels")
        missing = stranger.get("/shipments/00000000-0000-0000-0000-000000000000/labels")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json()["error"].replace(shipment["id"], "X") == missing.json()["error"].replace(
            "00000000-0000-0000-0000-000000000000", "X")
        assert "mx23694" not in foreign.text and "Efflux" not in foreign.text
    unsigned = httpx.get(f"{server.url}/shipments/{shipment['id']}/labels",  # a browser: sent to sign in first
                         headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert unsigned.status_code == 303 and unsigned.headers["location"].startswith("/login?next=")
    curl = httpx.get(f"{server.url}/shipments/{shipment['id']}/labels")  # curl or a script: told, not redirected
    assert curl.status_code == 401 and "sign in first" in curl.json()["error"]
    assert httpx.get(f"{server.url}/shipments/{shipment['id']}/labels",
                     headers={"accept": "application/json"}).status_code == 401
    history = server.gql("ada", "query($id: ID!) { shipment(id: $id) { ... on Shipment { history { event actor } } } }",
                         id=shipment["id"])
    assert [e["event"] for e in history["shipment"]["history"]].count("LabelsPrinted") == 3
