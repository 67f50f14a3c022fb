"""The API contract in graphql/: the committed schema is the one the code exports, and every named
operation the pages and the CLI send is valid against it."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from graphql import (FieldNode, GraphQLSchema, GraphQLUnionType, InlineFragmentNode, OperationDefinitionNode,
                     Source, TypeInfo, TypeInfoVisitor, build_schema, get_named_type, parse, print_ast, validate,
                     visit)
from graphql.language import Visitor

from logistics.api import export

CONTRACT = export.CONTRACT
EXPORT_COMMAND = "python -m logistics.api.export"

# What the pages and the CLI need, by file.
REQUIRED = {
    "shipments.graphql": {"MyShipments", "Shipment", "CreateShipment", "AddMailInDewar", "AddFacilityDewar",
                          "AddContainer", "AddSample", "SetCourier", "MarkSent", "RequestDispatch", "CancelShipment"},
    "stores.graphql": {"ScanDewar", "MoveDewar", "TopUp", "CheckContents", "ReportDamage", "BookDispatch", "ScanOut",
                       "MarkReturned", "RecordUnexpectedArrival", "DewarsAtLocation", "DewarsAwaitingDispatch",
                       "UnexpectedArrivals", "Locations", "StoresFeed"},
    "beamline.graphql": {"SampleChangerMap", "TakeToInstrument", "LoadContainer", "UnloadContainer", "HandBack",
                         "DisposeContainer", "Instruments", "BeamlineFeed"},
    "entity.graphql": {"Lookup", "DewarHistory", "ContainerHistory", "ShipmentHistory", "SampleHistory", "DewarAsOf",
                       "ContainerAsOf", "Me"},
}


@pytest.fixture(scope="module")
def code_schema() -> GraphQLSchema:
    return build_schema(export.sdl())


def operation_files() -> list[Path]:
    return export.operation_files(CONTRACT)


def parsed(path: Path):  # type: ignore[no-untyped-def]
    return parse(Source(path.read_text(encoding="utf-8"), path.name))


# --- (a) schema drift --------------------------------------------------------------------------

def test_the_committed_schema_is_the_schema_exported_from_the_code() -> None:
    assert export.SCHEMA_FILE.exists(), f"graphql/schema.graphql is missing: run `{EXPORT_COMMAND}` and commit it"
    committed = export.SCHEMA_FILE.read_text(encoding="utf-8")
    exported = export.sdl()
    if committed != exported:
        diff = "".join(difflib.unified_diff(committed.splitlines(True), exported.splitlines(True),
                                            "graphql/schema.graphql (committed)", "schema exported from the code", n=1))
        pytest.fail(f"graphql/schema.graphql has drifted from the schema in logistics/api: run `{EXPORT_COMMAND}` "
                    f"and commit the result.\n{diff[:6000]}", pytrace=False)


def test_the_export_writes_the_schema_with_a_trailing_newline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CONTRACT", tmp_path)
    monkeypatch.setattr(export, "SCHEMA_FILE", tmp_path / "schema.graphql")
    assert export.main() == 0
    text = (tmp_path / "schema.graphql").read_text(encoding="utf-8")
    from logistics.api.schema import schema
    assert text == schema.as_str() + "\n"


def test_the_contract_folder_is_not_a_python_package() -> None:
    assert CONTRACT.is_dir()
    assert not (CONTRACT / "__init__.py").exists(), \
        "graphql/__init__.py would make graphql/ a package that shadows graphql-core and breaks strawberry"
    import graphql
    assert Path(graphql.__file__).resolve().parent != CONTRACT.resolve()


# --- (b) the named operations ------------------------------------------------------------------

def test_there_are_operation_files_besides_the_schema() -> None:
    names = {p.name for p in operation_files()}
    assert set(REQUIRED) <= names, f"missing operation files: {sorted(set(REQUIRED) - names)}"


@pytest.mark.parametrize("path", operation_files(), ids=lambda p: p.name)
def test_every_operation_is_named(path: Path) -> None:
    unnamed = [print_ast(d)[:80] for d in parsed(path).definitions
               if isinstance(d, OperationDefinitionNode) and d.name is None]
    assert not unnamed, f"{path.name}: every operation needs a name, these have none: {unnamed}"


def test_operation_names_are_unique_across_files() -> None:
    seen: dict[str, str] = {}
    repeated = []
    for path in operation_files():
        for d in parsed(path).definitions:
            if isinstance(d, OperationDefinitionNode) and d.name is not None:
                if d.name.value in seen:
                    repeated.append(f"{d.name.value} in {path.name} and {seen[d.name.value]}")
                seen.setdefault(d.name.value, path.name)
    assert not repeated, "operation names must be unique across graphql/*.graphql: " + "; ".join(repeated)


def test_the_pages_and_the_cli_find_the_operations_they_need() -> None:
    ops = export.operations()
    for file, names in REQUIRED.items():
        missing = sorted(n for n in names if n not in ops or ops[n].file != file)
        assert not missing, f"{file} lacks {missing}"
    kinds = {n: o.kind for n, o in ops.items()}
    assert kinds["StoresFeed"] == kinds["BeamlineFeed"] == "subscription"


def test_all_the_files_together_are_one_valid_document(code_schema: GraphQLSchema) -> None:
    """Fragments are shared across files: defined once, each used, every spread defined."""
    definitions = [d for path in operation_files() for d in parsed(path).definitions]
    from graphql import DocumentNode
    errors = validate(code_schema, DocumentNode(definitions=tuple(definitions)))
    assert not errors, "\n".join(f"{e.message} {e.locations}" for e in errors)


try:
    OPERATIONS, LOAD_ERROR = export.operations(), None
except Exception as error:  # reported by a test below, not as a collection error hiding every other test
    OPERATIONS, LOAD_ERROR = {}, error


def test_each_operation_loads_as_a_document_of_its_own() -> None:
    assert LOAD_ERROR is None, f"graphql/*.graphql: {LOAD_ERROR}"
    for op in OPERATIONS.values():
        assert op.text.startswith(f"{op.kind} {op.name}"), op.text[:80]


@pytest.mark.parametrize("text, complaint", [
    ("query { me { name } }", "needs a name"),
    ("query Me { me { name } }\nquery Me { me { roles } }", "already defined"),
    ("query Me { me { ...Nobody } }", "no file defines"),
    ("fragment F on Me { name }\nfragment F on Me { roles }", "defined twice"),
])
def test_the_loader_refuses_a_broken_contract(tmp_path: Path, text: str, complaint: str) -> None:
    (tmp_path / "ops.graphql").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=complaint):
        export.operations(tmp_path)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_the_operation_validates_against_the_schema(name: str, code_schema: GraphQLSchema) -> None:
    op = OPERATIONS[name]
    errors = validate(code_schema, op.document)
    assert not errors, f"{op.file}: {name}: " + "; ".join(e.message for e in errors)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_result_union_selects_its_problems(name: str, code_schema: GraphQLSchema) -> None:
    """A field returning `XResult` (the entity or a Problem) selects `... on Problem { __typename message code }`,
    so a refusal reaches the page as typed data."""
    problem = code_schema.get_type("Problem")
    problems = set(code_schema.get_implementations(problem).objects)  # type: ignore[arg-type]
    info = TypeInfo(code_schema)
    lacking: list[str] = []

    class Check(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            field_type = info.get_type()
            named = get_named_type(field_type) if field_type else None
            if not isinstance(named, GraphQLUnionType):
                return
            if not set(named.types) & problems:
                return
            for selection in node.selection_set.selections if node.selection_set else ():
                if isinstance(selection, InlineFragmentNode) and selection.type_condition \
                        and selection.type_condition.name.value == "Problem":
                    fields = {s.name.value for s in selection.selection_set.selections if isinstance(s, FieldNode)}
                    if {"__typename", "message", "code"} <= fields:
                        return
            lacking.append(f"{node.name.value}: {named.name}")

    visit(OPERATIONS[name].document, TypeInfoVisitor(info, Check()))
    assert not lacking, f"{name} does not select `... on Problem {{ __typename message code }}` on {lacking}"
