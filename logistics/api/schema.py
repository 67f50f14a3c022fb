"""The GraphQL schema, composed from one module per feature (as graphql/*.graphql is split):

| module | queries, mutations, subscriptions |
|---|---|
| entity.py | any one thing by barcode or id, now or at a past time; who is signed in |
| shipments.py | a user group's shipments and what they pack in them |
| stores.py | the stores desk: scans, conditions, dispatch, lists of dewars |
| beamline.py | the sample-changer map, taking to an instrument, loading, unloading |
| catalogue.py | reference data and a proposal's lab contacts |
| admin.py | locations, facility dewars, proposals, people |
| notifications.py | what a person is told, and the outbox |
| feed.py | the live event subscription |

Every resolver calls the service layer's Session (`info.context.session`) and nothing else of
the core. A new operation goes in its feature's module; a new feature adds a module and its
`Query`/`Mutation` to FEATURES below.
"""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (AddValidationRules, MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, ParserCache,
                                   QueryDepthLimiter, ValidationCache)
from strawberry.tools import merge_types

from logistics.api.cost import QueryCostLimit
from logistics.api import admin, beamline, catalogue, entity, feed, notifications, shipments, stores
from logistics.api.errors import Problem

logger = logging.getLogger("logistics.api")

FEATURES = (entity, shipments, stores, beamline, catalogue, admin, notifications)
Query = merge_types("Query", tuple(m.Query for m in FEATURES if hasattr(m, "Query")))
Mutation = merge_types("Mutation", tuple(m.Mutation for m in FEATURES if hasattr(m, "Mutation")))
Subscription = feed.Subscription


def _unexpected(error: GraphQLError) -> bool:
    """Mask what went wrong inside (a database down, a bug); keep the query language's own errors."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False
    logger.error("unexpected error in %s", error.path, exc_info=original)
    return True


# The depth and alias limits as validation rules, made once: strawberry's limiter extensions make
# a new rule class per instance, and the validation cache is keyed by the rules.
LIMITS = [*QueryDepthLimiter(max_depth=10).validation_rules, *MaxAliasesLimiter(max_alias_count=30).validation_rules,
          QueryCostLimit]
MAX_TOKENS = 2000
INTERNAL_ERROR = ("internal error: the request was not completed; try again, and tell the facility's IT if it "
                  "persists")


def masked(errors: list[GraphQLError]) -> list[GraphQLError]:
    """The errors a client may see: what went wrong inside becomes INTERNAL_ERROR (what MaskErrors does)."""
    return [GraphQLError(INTERNAL_ERROR, nodes=e.nodes, source=e.source, positions=e.positions, path=e.path)
            if _unexpected(e) else e for e in errors]


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription,
        types=[Problem],
        extensions=[  # made afresh for each request (an extension holds its request's context); the
            # parser and validation caches are strawberry's own, shared by every instance of one maxsize
            lambda: AddValidationRules(LIMITS),  # the same rule classes each time, or validation is never cached
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: MaskErrors(should_mask_error=_unexpected, error_message=INTERNAL_ERROR),  # per request
        ],
    )


schema = build_schema()
