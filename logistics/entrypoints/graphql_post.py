"""POST /graphql with a JSON body: the request every scanner station, script and page sends.

Strawberry's HTTP view wraps each request in its extension hooks (parse, validate, execute, each
an async context manager), a request adapter and a JSON round trip through the standard library;
measured with `./dev bench http`, that machinery cost more CPU than the scan itself. Here the
same request goes straight to graphql-core's `execute` on strawberry's own schema: the document
is parsed and validated once per distinct text (with the schema's rules and limits), errors are
logged and masked as the MaskErrors extension does, and orjson writes the reply.

Only the plain case is answered here: a JSON object with a `query` that parses and validates,
naming a query or a mutation. A subscription is refused with where to send it (strawberry's view
would run it as a query and fail inside). Anything else (a document with errors, a batch,
multipart uploads, a body that is not JSON) goes to strawberry's view unchanged, with the body
replayed, so that every error reads exactly as strawberry words it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from inspect import isawaitable
from typing import Any, Awaitable, Callable

import orjson
import strawberry
from graphql import (BREAK, DocumentNode, GraphQLError, OperationDefinitionNode, OperationType, Visitor, execute,
                     get_operation_ast, parse, specified_rules, visit)
from starlette.types import Message, Receive, Scope, Send
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import validate_document

from logistics.api.schema import LIMITS, MAX_TOKENS, masked

ANSWERED_HERE = (OperationType.QUERY, OperationType.MUTATION)
STREAMING = ("multipart/mixed", "text/event-stream")  # asked-for replies that only strawberry's view gives
SUBSCRIPTION_OVER_POST = ("a subscription is served over a websocket at /graphql (protocol graphql-transport-ws), "
                         "not over POST; POST takes queries and mutations")


@dataclass(frozen=True)
class Request:
    document: DocumentNode
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


class _Directive(Visitor):
    found = False

    def enter_directive(self, *_: Any) -> Any:
        self.found = True
        return BREAK


def _fields_fixed(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> bool:
    """Whether which fields an operation selects is fixed by its text: no directive anywhere
    (@include/@skip with a variable, @defer, @stream) and no fragment with variables of its own."""
    for node in (operation, *(fragment.definition for fragment in fragments.values())):
        finder = _Directive()
        visit(node, finder)
        if finder.found:
            return False
    return not any(fragment.variable_signatures for fragment in fragments.values())


class PlannedFields:
    """Mixed into strawberry's executor: the fields an operation selects below its root, collected
    once per operation rather than once per request, when they are fixed by its text (every
    scanner's scan sends the same document). graphql-core memoizes them within one execution, by
    the identity of the field lists; the root's lists of the first execution are kept and reused,
    so that memo holds across executions. Execution only reads them. Callgrind, the scan's
    document: 0.763 -> 0.664 M instructions per execution."""

    KEPT = 512  # operations; Operations keeps 256 documents
    plans: OrderedDict[int, tuple[OperationDefinitionNode, bool, Any, dict[Any, Any]]] = OrderedDict()
    _plan: tuple[OperationDefinitionNode, bool, Any, dict[Any, Any]] | None = None

    def execute_collected_root_fields(self, root_type: Any, root_value: Any, grouped_field_set: Any,
                                      *args: Any) -> Any:
        operation = self.operation  # type: ignore[attr-defined]
        plan = self.plans.get(id(operation))
        if plan is None or plan[0] is not operation:  # kept with its operation: an id is not reused meanwhile
            plan = (operation, _fields_fixed(operation, self.fragments), grouped_field_set, {})  # type: ignore[attr-defined]
            self.plans[id(operation)] = plan
            if len(self.plans) > self.KEPT:
                self.plans.popitem(last=False)
        if plan[1]:
            self._plan, grouped_field_set = plan, plan[2]
        return super().execute_collected_root_fields(root_type, root_value, grouped_field_set, *args)  # type: ignore[misc]

    def collect_subfields(self, return_type: Any, field_details_list: Any) -> Any:
        if self._plan is None:
            return super().collect_subfields(return_type, field_details_list)  # type: ignore[misc]
        collected = self._plan[3].get((return_type, id(field_details_list)))
        if collected is None:  # the list is kept too, so that its id stays its own
            collected = self._plan[3][return_type, id(field_details_list)] = (
                field_details_list, super().collect_subfields(return_type, field_details_list))  # type: ignore[misc]
        return collected[1]


class Operations:
    """Parses and validates each distinct document once (the most recent 256 are kept)."""

    def __init__(self, schema: strawberry.Schema, maxsize: int = 256):
        self.schema = schema
        self.executor = type("PlannedExecution", (PlannedFields, schema.execution_context_class), {})
        rules = (*specified_rules, *LIMITS)
        self.valid_document: Callable[[str], DocumentNode | None] = lru_cache(maxsize)(
            lambda query: self._valid_document(query, rules))

    def _valid_document(self, query: str, rules: tuple[Any, ...]) -> DocumentNode | None:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError:
            return None
        return None if validate_document(self.schema._schema, document, rules) else document

    def request(self, body: bytes) -> Request | str | None:
        """The request in a POST body, if it is one answered here; a refusal; None: not ours."""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            return _unreadable(body, e)
        if not isinstance(data, dict) or not isinstance(query := data.get("query"), str):
            return None
        try:
            floats = _any_float(data.get("variables")) or _any_float(data.get("extensions"))
        except TooDeep:
            return TOO_DEEP
        if floats:
            data = json.loads(body)  # orjson reads an integer beyond 64 bits as a float: the exact value it was
        variables, name, extensions = data.get("variables"), data.get("operationName"), data.get("extensions")
        if not (isinstance(variables, dict) or variables is None) or not (isinstance(name, str) or name is None) \
                or not (isinstance(extensions, dict) or extensions is None):
            return None
        document = self.valid_document(query)
        if document is None:
            return None
        operation = get_operation_ast(document, name)
        if operation is not None and operation.operation == OperationType.SUBSCRIPTION:
            return SUBSCRIPTION_OVER_POST
        if operation is None or operation.operation not in ANSWERED_HERE:
            return None
        return Request(document, variables, name, extensions)

    async def answer(self, request: Request, context: Any) -> dict[str, Any]:
        """Executes the request; the reply strawberry's view would give (errors logged, then masked)."""
        result = execute(self.schema._schema, request.document, context_value=context,
                         variable_values=request.variables, operation_name=request.operation_name,
                         is_awaitable=optimized_is_awaitable, executor_class=self.executor,
                         operation_extensions=request.extensions)
        if isawaitable(result):
            result = await result
        reply: dict[str, Any] = {"data": result.data}
        if result.errors:
            self.schema.process_errors(result.errors)
            reply["errors"] = [error.formatted for error in masked(result.errors)]
        return reply


class TooDeep(Exception):
    pass


MAX_JSON_DEPTH = 32  # a sample's attributes, the deepest real input, nest 3 levels; 450 made graphql-core recurse out
TOO_DEEP = (f"the variables are nested more than {MAX_JSON_DEPTH} levels deep, more than this API accepts: "
            "send flatter values")


def _any_float(value: Any, depth: int = 0) -> bool:
    """Whether a JSON value holds a float; TooDeep if it nests more than MAX_JSON_DEPTH levels."""
    if type(value) is float:
        return True
    if type(value) is dict or type(value) is list:
        if depth >= MAX_JSON_DEPTH:
            raise TooDeep()
        found = False
        for v in value.values() if type(value) is dict else value:  # every one: the depth is checked to the end
            found = _any_float(v, depth + 1) or found
        return found
    return False


def _unreadable(body: bytes, error: orjson.JSONDecodeError) -> str | None:
    """Why a body that is not JSON is refused here; None: strawberry's view words it ("Unable to parse...")."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"the request body is not UTF-8 text (a byte that cannot be UTF-8 at offset {e.start}): send JSON in UTF-8"
    if "depth limit" in str(error) or "recursion" in str(error).lower():
        return ("the request body is JSON nested more than 1024 levels deep, more than this API reads: "
                "send flatter values")
    return None


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body; None if the client went away first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read, then whatever the client sends next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}
    return replay


def answered_here(scope: Scope) -> bool:
    """Whether a request may be answered here: a JSON POST that asks for a JSON reply."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    content_type = accept = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"accept":
            accept = value
    return content_type.lower().startswith(b"application/json") \
        and not any(kind.encode() in accept.lower() for kind in STREAMING)


async def send_json(send: Send, reply: dict[str, Any], status: int = 200) -> None:
    try:
        body = orjson.dumps(reply)
    except TypeError:  # what orjson refuses to write (an integer beyond 64 bits in a JSON scalar) the standard library takes
        body = json.dumps(reply).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def post(operations: Operations, scope: Scope, receive: Receive, send: Send,
               context: Callable[[], Any], otherwise: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
    """Answers a JSON POST (see answered_here) here when it is a plain query or mutation, else `otherwise`."""
    body = await read_body(receive)
    if body is None:
        return
    request = operations.request(body)
    if request is None:
        await otherwise(scope, replaying(body, receive), send)
        return
    if isinstance(request, str):
        await send_json(send, {"data": None, "errors": [{"message": request}]}, status=400)
        return
    await send_json(send, await operations.answer(request, context()))
