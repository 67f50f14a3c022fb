"""The served API answers a signed-in member and refuses an anonymous caller."""

import httpx


def test_a_member_sees_their_dewars_and_an_anonymous_caller_is_refused(server):
    data = server.gql("ada", "{ me { name proposals } dewars { edges { node { barcode proposal } } } }")
    assert data["me"] == {"name": "ada", "proposals": ["mx23694"]}
    assert {e["node"]["proposal"] for e in data["dewars"]["edges"]} == {"mx23694"}
    anonymous = httpx.post(server.graphql, json={"query": "{ me { name } }"})
    assert anonymous.status_code == 401
    assert "sign in" in anonymous.json()["errors"][0]["message"]
