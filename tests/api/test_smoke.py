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


def test_an_operation_sent_again_is_neither_parsed_nor_validated_again(monkeypatch):
    """The parser and validation caches must hit for a repeated operation (a trivial mutation ran
    13x faster with them); a per-request limiter that made new validation rules each time would
    make every request miss the validation cache without failing anything else."""
    from graphql import validate

    import strawberry.schema.schema as strawberry_schema
    from logistics.api.schema import schema

    validated = []

    def counting_validate(*args, **kwargs):
        validated.append(1)
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting_validate)
    for _ in range(3):
        result = schema.execute_sync("query CacheProbe { __typename }")
        assert result.errors is None and result.data == {"__typename": "Query"}
    assert len(validated) <= 1, f"validated {len(validated)} times"


def test_graphiql_opens_in_a_browser_before_signing_in_and_runs_nothing(server):
    page = httpx.get(server.graphql, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text[:500]
    assert "graphiql" in page.text.lower()
    asked = httpx.get(server.graphql, params={"query": "{ me { name } }"}, headers={"Accept": "text/html"})
    assert asked.status_code == 401 and "data" not in asked.json()
    plain = httpx.get(server.graphql)  # no query and no HTML wanted: a clear refusal, not a crash
    assert plain.status_code < 500, plain.text[:500]
