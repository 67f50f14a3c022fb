"""The layers' rules (docs/architecture.md), checked over the source tree's syntax: a change that
breaks one fails here, naming the file, the line and the rule.

- labels/ is a library of its own: it never imports logistics.
- The domain imports no adapter, web or database library, and nothing of the outer layers.
- Only the service layer and the adapters (with bootstrap.py, which wires them, and views.py,
  the read model's queries) reach the event store's repository or the read model's tables.
- Outside the service layer, nobody imports another module's `_`-prefixed names.
- The pages and the CLI's read commands read nothing of the read model but through a Session
  (signing in, which builds the principal, excepted).
- The API, the entrypoints and the service layer's helpers ask the Session, never `session.app` or
  `session.views`; the read model and the outbox store implement the service layer's ports.
- The service layer imports no adapter at module level (bootstrap.py hands adapters in); api/
  imports no adapter at all; the notifications' send policy and subscriptions are the service
  layer's: outside the adapters only the worker's round (`adapters.notifying.work`) is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
WEB_AND_DATABASE = ("sqlalchemy", "starlette", "strawberry", "psycopg", "psycopg2", "pymysql", "MySQLdb", "uvicorn",
                    "httpx", "alembic", "smtplib", "eventsourcing_sqlalchemy")
OUTER_LAYERS = ("logistics.adapters", "logistics.api", "logistics.entrypoints", "logistics.service_layer",
                "logistics.bootstrap", "logistics.views")
MAY_REACH_STORES = ("logistics/service_layer/", "logistics/adapters/", "logistics/bootstrap.py", "logistics/views.py")


def _sources(folder: str) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((ROOT / folder).rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _imports(tree: ast.Module) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every import, at any depth (imports inside functions count too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_labels_library_knows_nothing_of_the_tracker() -> None:
    broken = [f"{path}:{line} imports {module}" for path, tree in _sources("labels")
              for line, module, _ in _imports(tree) if _within(module, ("logistics",))]
    assert not broken, broken


def test_the_domain_imports_no_adapter_web_or_database_library() -> None:
    broken = [f"{path}:{line} imports {module}" for path, tree in _sources("logistics/domain")
              for line, module, _ in _imports(tree) if _within(module, WEB_AND_DATABASE + OUTER_LAYERS)]
    assert not broken, broken


def test_only_the_service_layer_and_the_adapters_reach_the_event_store_and_the_read_model_tables() -> None:
    broken = []
    for path, tree in _sources("logistics"):
        if path.startswith(MAY_REACH_STORES):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "repository":
                broken.append(f"{path}:{node.lineno} reaches .repository (ask the Session instead)")
        for line, module, _ in _imports(tree):
            if _within(module, ("logistics.adapters.read_model",)):
                broken.append(f"{path}:{line} imports the read model's tables ({module})")
    assert not broken, broken


def test_nobody_outside_the_service_layer_imports_another_modules_private_names() -> None:
    broken = [f"{path}:{line} imports {name} from {module}" for path, tree in _sources("logistics")
              if not path.startswith("logistics/service_layer/")
              for line, module, names in _imports(tree) if _within(module, ("logistics",))
              for name in names if name.startswith("_") and not name.startswith("__")]
    assert not broken, broken


def _top_level_imports(tree: ast.Module) -> Iterator[tuple[int, str, list[str]]]:
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield from _imports(ast.Module(body=[node], type_ignores=[]))


def test_the_service_layer_is_handed_its_adapters_and_the_api_uses_none() -> None:
    broken = [f"{path}:{line} imports {module} (take it through a port from bootstrap.py)"
              for path, tree in _sources("logistics/service_layer")
              for line, module, _ in _top_level_imports(tree) if _within(module, ("logistics.adapters",))]
    broken += [f"{path}:{line} imports {module} (ask the Session)" for path, tree in _sources("logistics/api")
               for line, module, _ in _imports(tree) if _within(module, ("logistics.adapters",))]
    assert not broken, broken


def test_who_receives_what_is_decided_in_the_service_layer_only() -> None:
    """The notifications' policy (settings, the admin's outbox, whether a message goes) is reached
    through the Session: outside the adapters and the composition root, the notifying adapter gives
    only the worker's round, and nobody imports the outbox's tables."""
    broken = []
    for path, tree in _sources("logistics"):
        if path.startswith(("logistics/adapters/", "logistics/bootstrap.py")):
            continue
        for line, module, names in _imports(tree):
            if module == "logistics.adapters.notifying" and set(names) - {"work"}:
                broken.append(f"{path}:{line} imports {', '.join(names)} from {module}")
            if module == "logistics.adapters.outbox":
                broken.append(f"{path}:{line} imports {module} (the outbox store is behind service_layer.ports)")
    assert not broken, broken


def _principal_sees(tree: ast.Module) -> Iterator[int]:
    """Lines that ask a principal directly whether it sees a proposal (`principal.sees`, `x.principal.sees`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "sees":
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "principal") or \
                    (isinstance(owner, ast.Attribute) and owner.attr == "principal"):
                yield node.lineno


def test_the_visibility_rule_is_applied_by_the_session_only() -> None:
    """`Session.sees` / `Session.visible` are the one place the proposal rule is applied, so that a new
    query cannot forget it: nobody else asks a principal directly."""
    broken = [f"{path}:{line} asks principal.sees (use the Session's sees/visible or a Session method)"
              for path, tree in _sources("logistics")
              if path not in ("logistics/service_layer/session.py", "logistics/service_layer/access.py")
              for line in _principal_sees(tree)]
    assert not broken, broken


def _session_reach_ins(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """`session.app` / `session.views` (or `x.session.app`): reaching through the Session to what is behind it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("app", "views"):
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "session") or \
                    (isinstance(owner, ast.Attribute) and owner.attr == "session"):
                yield node.lineno, node.attr


def test_the_api_and_the_labels_ask_the_session_not_what_is_behind_it() -> None:
    broken = [f"{path}:{line} uses session.{attr} (add or use a Session method)"
              for path, tree in [*_sources("logistics/api"), *_sources("logistics/entrypoints"),
                                 *[(p, t) for p, t in _sources("logistics/service_layer")
                                   if p != "logistics/service_layer/session.py"]]
              for line, attr in _session_reach_ins(tree)]
    assert not broken, broken


# Who someone is (their proposals) is read before a Session can exist: signing in builds the principal.
BUILDS_THE_PRINCIPAL = {("logistics/entrypoints/web.py", "principal_of")}


def test_the_pages_and_the_cli_read_through_a_session() -> None:
    """The pages' routes and the CLI's read commands (where, history, status, as-of) ask a Session
    (the CLI's as the operator), not the read model: only signing in reads it directly."""
    broken = []
    for path, tree in _sources("logistics/entrypoints"):
        allowed_lines = {n.lineno for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                         and (path, f.name) in BUILDS_THE_PRINCIPAL for n in ast.walk(f) if hasattr(n, "lineno")}
        broken += [f"{path}:{node.lineno} reads .views (ask the Session)" for node in ast.walk(tree)
                   if isinstance(node, ast.Attribute) and node.attr == "views" and node.lineno not in allowed_lines]
    assert not broken, broken


def _same_methods(port: type, adapter: type) -> list[str]:
    import inspect
    differ = []
    for name, wanted in inspect.getmembers(port, inspect.isfunction):
        if name.startswith("_"):
            continue
        found = getattr(adapter, name, None)
        if found is None:
            differ.append(f"{adapter.__name__} lacks {name}")
            continue
        have = [p for p in inspect.signature(found).parameters if p != "self"]
        want = [p for p in inspect.signature(wanted).parameters if p != "self"]
        if have != want:
            differ.append(f"{adapter.__name__}.{name}{tuple(have)} is not the port's {tuple(want)}")
    return differ


def test_the_adapters_implement_the_service_layers_ports() -> None:
    """The read model and the outbox store answer every question their port names, with its parameters."""
    from logistics.adapters.outbox import OutboxStore
    from logistics.service_layer import ports
    from logistics.views import Views
    assert not _same_methods(ports.ReadModel, Views) + _same_methods(ports.OutboxStore, OutboxStore)


def test_the_rules_see_a_reach_around(tmp_path: Path) -> None:
    """The checks above find what they look for (so that passing means something)."""
    tree = ast.parse("from logistics.views import _where\nfrom logistics.adapters.read_model import dewars\n"
                     "def f(session):\n    import sqlalchemy\n    return session.app.repository.get(1)\n")
    modules = [module for _, module, _ in _imports(tree)]
    assert modules == ["logistics.views", "logistics.adapters.read_model", "sqlalchemy"]
    assert [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "repository"] == [5]
    looks = ast.parse("def f(ctx, principal, rows):\n    a = ctx.session.principal.sees(rows[0])\n"
                      "    return [r for r in rows if principal.sees(r)] and ctx.session.sees(a)\n")
    assert list(_principal_sees(looks)) == [2, 3]
    assert list(_session_reach_ins(ast.parse("def f(info, session):\n    info.context.session.views.rows()\n"
                                             "    return session.app.changer('i03')\n"))) == [(2, "views"), (3, "app")]

    class Port:
        def rows(self, kind: str, ids: list[str]) -> list[str]: ...

    class Adapter:
        def rows(self, kind: str) -> list[str]: ...
    assert _same_methods(Port, Adapter) == ["Adapter.rows('kind',) is not the port's ('kind', 'ids')"]


def test_every_benchmark_still_imports_what_it_names() -> None:
    """A rename in the tree must not leave `./dev bench` broken (bench_ispyb once imported a private
    name that a refactor renamed, and nothing ran it)."""
    import importlib
    for path in sorted((ROOT / "bench").glob("*.py")):
        if path.stem != "__main__":
            importlib.import_module(f"bench.{path.stem}")
