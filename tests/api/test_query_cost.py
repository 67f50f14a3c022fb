"""Every request has a bounded cost: a query that asks for too much (large pages of things with
nested lists) is refused before it runs, with its cost and the limit; what the pages ask fits."""

from __future__ import annotations

import re
from pathlib import Path
from unittest.mock import patch

import pytest
from graphql import parse, validate
from starlette.testclient import TestClient

from logistics.api.cost import MAX_COST, QueryCostLimit
from logistics.api.export import operations
from logistics.api.schema import schema
from logistics.bootstrap import System, bootstrap, register_reference_data
from logistics.entrypoints.guard import Settings
from logistics.entrypoints.web import create_app

HEAVY = ("{ dewars(first: 500) { edges { node { history { event } containers { history { event } "
         "samples { attributes history { event } } } } } } }")
REFUSED = ("the query costs {}, more than the limit of 1,000,000: ask for smaller pages (first:) or fewer nested "
           "lists. Each object costs 1 and each history 50, times the page size it is in (a variable page size counts "
           "as 500) and 10 for each list around it")


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    system = bootstrap(f"sqlite:///{tmp_path / 'logistics.db'}")
    register_reference_data(system.app)
    system.accounts.add("desk", ["stores"], kind="station")
    token = system.accounts.create_token("desk")[1]
    yield TestClient(create_app(system, Settings()), base_url="http://tracker",
                     headers={"authorization": f"Bearer {token}"})
    system.close()


def cost(query: str) -> int:
    """A query's cost, as the limit counts it (reported by the rule with a limit of 0)."""
    with patch("logistics.api.cost.MAX_COST", 0):
        errors = validate(schema._schema, parse(query), [QueryCostLimit])
    return int(re.search(r"costs ([\d,]+)", errors[0].message).group(1).replace(",", "")) if errors else 0


def test_a_query_for_large_pages_of_nested_lists_is_refused_naming_its_cost_and_the_limit(client: TestClient) -> None:
    for answer in (client.post("/graphql", json={"query": HEAVY}), client.get("/graphql", params={"query": HEAVY})):
        assert answer.json()["errors"][0]["message"] == REFUSED.format("2,831,500")
        assert answer.json().get("data") is None
    smaller = HEAVY.replace("first: 500", "first: 100")
    assert "errors" not in client.post("/graphql", json={"query": smaller}).json()


def test_a_page_size_given_as_a_variable_counts_as_the_largest_page(client: TestClient) -> None:
    query = HEAVY.replace("{ dewars(first: 500)", "query($n: Int!) { dewars(first: $n)")
    answer = client.post("/graphql", json={"query": query, "variables": {"n": 5}})
    assert answer.json()["errors"][0]["message"] == REFUSED.format("2,831,500")
    with_default = HEAVY.replace("{ dewars(first: 500)", "query($n: Int! = 50) { dewars(first: $n)")
    assert cost(with_default) == 283_150


def test_three_aliases_of_a_heavy_query_cost_three_times_as_much(client: TestClient) -> None:
    one = "dewars(first: 100) { edges { node { history { event } containers { history { event } } } } }"
    assert cost("{ a: " + one + " b: " + one + " c: " + one + " }") == 3 * cost("{ a: " + one + " }")


def test_every_operation_the_pages_and_scripts_use_fits_within_the_limit() -> None:
    costs = {name: cost(op.text) for name, op in operations().items()}
    assert max(costs.values()) <= MAX_COST, {n: c for n, c in costs.items() if c > MAX_COST}
    assert costs["Shipment"] == 14_321  # the heaviest: the README quotes it
