"""The query cost limit: a validation rule, so it is checked once per distinct document, by both
the POST path and strawberry's view, before anything runs.

An operation costs what it may read: each object asked for (a row) costs 1 and each `history`
50 (it reads the entity's events from the event store), times the number of them it may be asked
for: inside a page (`first:`) once per item of the page (a variable page size counts as the
largest page, 500, unless it has a default), inside another list (a dewar's `containers`, their
`samples`) as if the list held LIST_SIZE items. Scalars come with their row and cost nothing.
So `dewars(first: 500) { edges { node { history { event } containers { history { event } samples
{ attributes history { event } } } } } }`, which ran 22 s on a quarter-year database, costs
2,831,500 and is refused; the pages' heaviest operation, a shipment's page (its dewars, their
containers, the containers in those, their samples: four lists deep), costs 14,321, and a list of
500 shipments with their dewars 7,000.
"""

from __future__ import annotations

from typing import Any

from graphql import (FieldNode, FragmentSpreadNode, GraphQLError, GraphQLList, GraphQLNonNull, GraphQLObjectType,
                     GraphQLInterfaceType, InlineFragmentNode, IntValueNode, OperationDefinitionNode, SelectionSetNode,
                     ValidationRule, VariableNode)

MAX_COST = 1_000_000
LARGEST_PAGE = 500  # the resolvers clamp `first` to 1..500
LIST_SIZE = 10  # what a list without `first` is taken to hold: a dewar's containers, a puck's samples, a history
PAGE_LISTS = ("edges",)  # the items of a page: counted by its `first` already
READS_EVENTS = {"history": 50}  # a history reads the entity's events from the event store: taken as 50 rows


def _unwrap(type_: Any) -> tuple[Any, bool]:
    listed = False
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        listed = listed or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return type_, listed


class QueryCostLimit(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        schema = self.context.schema
        root = schema.get_root_type(node.operation)
        if root is None:
            return
        defaults = {d.variable.name.value: d.default_value for d in node.variable_definitions or ()}
        cost = self._cost(node.selection_set, root, defaults, frozenset())
        if cost > MAX_COST:
            self.report_error(GraphQLError(
                f"the query costs {cost:,}, more than the limit of {MAX_COST:,}: ask for smaller pages (first:) or "
                f"fewer nested lists. Each object costs 1 and each history {READS_EVENTS['history']}, times the page "
                f"size it is in (a variable page size counts as {LARGEST_PAGE}) and {LIST_SIZE} for each list "
                "around it", node))

    def _cost(self, selections: SelectionSetNode | None, parent: Any, defaults: dict[str, Any],
              fragments: frozenset[str]) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, defaults, fragments)
            elif isinstance(selection, InlineFragmentNode):
                on = self.context.schema.get_type(selection.type_condition.name.value) if selection.type_condition \
                    else parent
                total += self._cost(selection.selection_set, on, defaults, fragments)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in fragments:  # unknown or cyclic: other rules report it
                    continue
                on = self.context.schema.get_type(fragment.type_condition.name.value)
                total += self._cost(fragment.selection_set, on, defaults, fragments | {name})
        return total

    def _field(self, node: FieldNode, parent: Any, defaults: dict[str, Any], fragments: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return 0  # introspection, or a field other rules refuse
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        if name in READS_EVENTS:
            return READS_EVENTS[name]  # one read of the entity's events, whatever is asked of each
        type_, listed = _unwrap(definition.type)
        if node.selection_set is None:
            return 0  # a value of the row already read
        times = 1
        first = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
        if first is None and "first" in definition.args:
            times = _page(definition.args["first"].default_value)  # the schema's default page
        elif isinstance(first, IntValueNode):
            times = _page(int(first.value))
        elif isinstance(first, VariableNode):
            default = defaults.get(first.name.value)
            times = _page(int(default.value)) if isinstance(default, IntValueNode) else LARGEST_PAGE
        elif listed and name not in PAGE_LISTS:
            times = LIST_SIZE
        return times * (1 + self._cost(node.selection_set, type_, defaults, fragments))


def _page(first: Any) -> int:
    try:
        return max(1, min(int(first), LARGEST_PAGE))
    except (TypeError, ValueError):
        return LARGEST_PAGE
