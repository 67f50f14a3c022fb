"""Reading argument types out of the served schema's introspection."""

from __future__ import annotations

from typing import Any


def graphql_type(t: dict[str, Any]) -> str:
    """An introspected type as it is written in a query: `String!`, `[ID!]`..."""
    if t["kind"] == "NON_NULL":
        return graphql_type(t["ofType"]) + "!"
    if t["kind"] == "LIST":
        return "[" + graphql_type(t["ofType"]) + "]"
    return t["name"]
