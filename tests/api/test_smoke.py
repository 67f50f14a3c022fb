"""The served API answers a signed-in member and refuses an anonymous caller."""

import httpx


def test_a_member_sees_their_dewars_and_an_anonymous_caller_is_refused(server):
    data = server.gql("ada", "{ me { name proposals } dewars { edges { node { barcode proposal } } } }")
    assert data["me"] == {"name": "ada", "proposals": ["mx23694"]}
    assert {e["node"]["proposal"] for e in data["dewars"]["edges"]} == {"mx23694"}
    anonymous = httpx.post(server.graphql, json={"query": "{ me { name } }"})
    assert anonymous.status_code == 401
    assert "sign in" in anonymous.json()["errors"][0]["message"]


def test_a_server_process_keeps_its_start_up_objects_out_of_the_cycle_collectors_scans(tmp_path, monkeypatch):
    """Full collections that scanned the start-up heap were the 8-client latency tail (bench http)."""
    import gc

    from logistics.entrypoints.web import app_from_environment

    monkeypatch.setenv("LOGISTICS_DATABASE_URL", f"sqlite:///{tmp_path / 'logistics.db'}")
    threshold = gc.get_threshold()
    try:
        app_from_environment()
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold()[0] == 10_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
