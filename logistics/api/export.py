"""The API contract folder `graphql/`: the exported schema, and the named operations.

`python -m logistics.api.export` writes the schema (SDL) exported from the code to
`graphql/schema.graphql`, which is committed and checked for drift by
tests/api/test_contract.py: run it after changing the schema in logistics/api, and commit.

The other `graphql/*.graphql` files hold the named operations the pages and the CLI send, and
`fragments.graphql` the shapes they share; `operations()` gives each operation as a document of
its own (the operation and the fragments it uses), ready to send.

`graphql/` is not a Python package and must never get an `__init__.py`: a package named graphql
would shadow graphql-core.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graphql import DocumentNode

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "graphql"
SCHEMA_FILE = CONTRACT / "schema.graphql"


def sdl() -> str:
    """The schema as exported from the code: strawberry's SDL and a trailing newline."""
    from logistics.api.schema import schema
    return schema.as_str() + "\n"


def main() -> int:
    CONTRACT.mkdir(exist_ok=True)
    SCHEMA_FILE.write_text(sdl(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
    return 0


@dataclass(frozen=True)
class Operation:
    name: str
    kind: str  # query, mutation or subscription
    file: str
    document: "DocumentNode"  # the operation and the fragments it uses, nothing else

    @property
    def text(self) -> str:
        from graphql import print_ast
        return print_ast(self.document)


def operation_files(folder: Path = CONTRACT) -> list[Path]:
    return sorted(p for p in folder.glob("*.graphql") if p.name != SCHEMA_FILE.name)


def operations(folder: Path = CONTRACT) -> dict[str, Operation]:
    """Every named operation in the folder, by name. Raises ValueError on an unnamed or repeated
    operation, a repeated fragment name or a spread of an unknown fragment."""
    from graphql import (DocumentNode, FragmentDefinitionNode, FragmentSpreadNode, OperationDefinitionNode, Source,
                         parse, visit)
    from graphql.language import Visitor

    found: list[tuple[str, OperationDefinitionNode]] = []
    fragments: dict[str, FragmentDefinitionNode] = {}
    for path in operation_files(folder):
        for definition in parse(Source(path.read_text(encoding="utf-8"), path.name)).definitions:
            if isinstance(definition, FragmentDefinitionNode):
                name = definition.name.value
                if name in fragments:
                    raise ValueError(f"{path.name}: fragment {name} is defined twice")
                fragments[name] = definition
            elif isinstance(definition, OperationDefinitionNode):
                if definition.name is None:
                    raise ValueError(f"{path.name}: every operation needs a name (line "
                                     f"{definition.loc.source.get_location(definition.loc.start).line})")
                found.append((path.name, definition))
            else:
                raise ValueError(f"{path.name}: only operations and fragments belong here, not {definition.kind}")

    def spreads(node: object) -> set[str]:
        names: set[str] = set()

        class Spreads(Visitor):
            def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
                names.add(spread.name.value)
        visit(node, Spreads())  # type: ignore[arg-type]
        return names

    result: dict[str, Operation] = {}
    for file, definition in found:
        name = definition.name.value  # type: ignore[union-attr]
        if name in result:
            raise ValueError(f"{file}: operation {name} is already defined in {result[name].file}")
        needed: list[str] = []
        todo = sorted(spreads(definition))
        while todo:
            fragment = todo.pop(0)
            if fragment in needed:
                continue
            if fragment not in fragments:
                raise ValueError(f"{file}: operation {name} uses fragment {fragment}, which no file defines")
            needed.append(fragment)
            todo.extend(sorted(spreads(fragments[fragment])))
        document = DocumentNode(definitions=(definition, *(fragments[f] for f in needed)))
        result[name] = Operation(name=name, kind=definition.operation.value, file=file, document=document)
    return result


if __name__ == "__main__":
    sys.exit(main())
