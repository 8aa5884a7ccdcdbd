"""The shape of the code, checked statically (ast, nothing imported): the domain stays free of
frameworks, the modules form no import cycle, settings come from config.py, and only the code that
owns a unit of work commits it. Each exception below is named with its reason."""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "webhooks")
DOMAIN = "app.loyalty"
FORBIDDEN_IN_DOMAIN = ("flask", "sqlalchemy", "app.models")

# Outside config.py, these read the process environment, each for a reason of its own.
ENVIRONMENT_READERS = {
    "wsgi.py": "the process entry point picks the in-process worker default before settings exist",
    "gunicorn.conf.py": "gunicorn reads its own server settings before the app is imported",
    "scripts/screenshots.py": "a developer tool that starts the demo app in a child process",
    "bench/common.py": "benchmarks start the app in child processes with their own environment",
    "bench/storefront_weight.py": "the benchmark starts the demo app and Chromium in child processes",
}

# Outside app/services, these own the unit of work they commit.
COMMITTERS = {
    "app/shopify/admin_access.py": "token renewal runs in its own short transaction, never the caller's",
    "migrations/env.py": "alembic's migration transaction",
}

# Files the other streams of Engine v2 rewrite (planner: app/loyalty + orders/bulk import;
# intake: webhooks + inbox + jobs). A failure here is theirs to fix; listed so it stays visible.
EXPECTED_FAILURES: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _import_nodes(tree: ast.AST):
    """Every import statement, inside functions too, except those only a type checker runs."""
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking_block(node):
            yield from (n for child in node.orelse for n in _import_nodes_in(child))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _import_nodes(node)


def _import_nodes_in(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    yield from _import_nodes(node)


def _resolve_relative(module: str, path: Path, node: ast.ImportFrom) -> str:
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[:len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def imported_names(module: str) -> frozenset[str]:
    """Dotted names a module imports. `from a.b import c` counts as a.b.c when c is a module, else
    as a.b. The parent packages Python also loads are left out: a package's __init__ gathering its
    children (create_app registering blueprints) is a layout, not a dependency of each child."""
    path = _modules()[module]
    names: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
            continue
        base = _resolve_relative(module, path, node) if node.level else node.module
        for alias in node.names:
            names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in _modules() else base)
    return frozenset(names)


@cache
def project_imports(module: str) -> frozenset[str]:
    """The project modules this one imports."""
    return frozenset(n for n in imported_names(module) if n in _modules() and n != module)


def _reaches(module: str, forbidden: tuple[str, ...], seen: set[str]) -> list[str] | None:
    """An import chain from module to a forbidden name, or None."""
    for name in imported_names(module):
        if any(name == f or name.startswith(f + ".") for f in forbidden):
            return [module, name]
    seen.add(module)
    for child in sorted(project_imports(module) - seen):
        chain = _reaches(child, forbidden, seen)
        if chain:
            return [module, *chain]
    return None


def _domain_modules() -> list[str]:
    return [m for m in _modules() if m == DOMAIN or m.startswith(DOMAIN + ".")]


@pytest.mark.parametrize("module", _domain_modules())
def test_the_loyalty_domain_imports_no_framework_database_or_models(module):
    chain = _reaches(module, FORBIDDEN_IN_DOMAIN, set())
    if str(_modules()[module].relative_to(ROOT)) in EXPECTED_FAILURES:
        pytest.xfail(EXPECTED_FAILURES[str(_modules()[module].relative_to(ROOT))])
    assert chain is None, "the domain reaches a framework: " + " -> ".join(chain or [])


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(project_imports(node)):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(_modules()):
        if module not in index:
            visit(module)
    return components


def test_modules_import_each_other_without_cycles_even_inside_functions():
    assert _cycles() == []


def test_the_cycle_finder_sees_an_import_inside_a_function(tmp_path):
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("import app.b\n")
    (package / "b.py").write_text("def later():\n    from app import a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import app.a\n")
    found = _cycles_under(tmp_path)
    assert found == [["app.a", "app.b"]]


def _cycles_under(root: Path) -> list[list[str]]:
    """_cycles() over another tree, for the self-test above."""
    global ROOT
    saved = ROOT
    ROOT = root
    for cached in (_modules, imported_names, project_imports):
        cached.cache_clear()
    try:
        return _cycles()
    finally:
        ROOT = saved
        for cached in (_modules, imported_names, project_imports):
            cached.cache_clear()


def _python_files(*tops: str) -> list[Path]:
    files = [ROOT / t for t in tops if (ROOT / t).is_file()]
    files += [p for t in tops if (ROOT / t).is_dir() for p in sorted((ROOT / t).rglob("*.py"))]
    return files


def _reads_environment(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in {"environ", "getenv", "environb", "getenvb"}:
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" \
                and any(a.name in {"environ", "getenv"} for a in node.names):
            return True
    return False


def test_settings_are_read_from_the_environment_in_config_only():
    tops = ("app", "webhooks", "wsgi.py", "gunicorn.conf.py", "migrations", "scripts", "bench")
    readers = {str(p.relative_to(ROOT)) for p in _python_files(*tops) if _reads_environment(ast.parse(p.read_text()))}
    assert readers == set(ENVIRONMENT_READERS)


def _commits(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
               for node in ast.walk(tree))


def _may_commit(relative: str) -> bool:
    return (relative.startswith("app/services/") or relative in COMMITTERS
            or relative in EXPECTED_FAILURES)


def test_only_services_and_named_unit_of_work_owners_commit():
    files = _python_files("app", "webhooks", "migrations", "wsgi.py")
    committers = {str(p.relative_to(ROOT)) for p in files if _commits(ast.parse(p.read_text()))}
    assert sorted(c for c in committers if not _may_commit(c)) == []
    assert set(COMMITTERS) <= committers, "a listed exception no longer commits: drop it from COMMITTERS"


# Session methods that write, and SQLAlchemy statements that change rows.
WRITING_METHODS = {"commit", "add", "add_all", "flush", "delete", "merge", "bulk_save_objects", "bulk_insert_mappings",
                   "bulk_update_mappings"}
WRITING_STATEMENTS = {"insert", "update", "delete"}


def _on_a_session(call: ast.Call) -> bool:
    """session.add(...) or self.connection.flush(...), not a set's add()."""
    receiver = call.func.value
    name = receiver.id if isinstance(receiver, ast.Name) else getattr(receiver, "attr", "")
    return name.endswith(("session", "connection"))


def _writes(path: Path) -> list[str]:
    """Where a module writes: session write calls, and insert/update/delete taken from sqlalchemy."""
    tree = ast.parse(path.read_text())
    found = [f"{path.name}:{n.lineno} .{n.func.attr}()" for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in WRITING_METHODS
             and _on_a_session(n)]
    found += [f"{path.name}:{n.lineno} imports {a.name}" for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("sqlalchemy")
              for a in n.names if a.name in WRITING_STATEMENTS]
    return found


def test_query_modules_only_read():
    assert [w for p in _python_files("app/queries") for w in _writes(p)] == []


def _functions_that_commit(module: str) -> set[str]:
    tree = ast.parse(_modules()[module].read_text())
    return {f.name for f in tree.body if isinstance(f, ast.FunctionDef) and _commits(f)}


def test_query_modules_call_no_service_function_that_commits():
    """Queries may share a service's read helpers (current_program, find_member), never a use case."""
    used = set()
    for module in (m for m in _modules() if m.startswith("app.queries.")):
        for node in _import_nodes(ast.parse(_modules()[module].read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app.services."):
                used |= {f"{node.module}.{a.name}" for a in node.names
                         if a.name in _functions_that_commit(node.module)}
    assert used == set()


def test_the_write_finder_sees_a_commit_and_an_update_statement(tmp_path):
    module = tmp_path / "q.py"
    module.write_text("from sqlalchemy import update, select\ndef f(session, seen):\n    seen.add(1)\n"
                      "    session.commit()\n")
    assert _writes(module) == ["q.py:4 .commit()", "q.py:1 imports update"]


# The rule for every module under app/services and app/queries, with no exception: a use case
# receives what it uses - a session or the session factory (app.db.Database), the shop, the Admin
# API (app.shopify.admin_access.AdminAccess), a queue, a clock or `now` - never the runtime
# (app.runtime.Tessera, conventionally `t`). Only the task registry (app/jobs/tasks.py) and the web
# handlers unpack `t`; a new service that needs more of the runtime takes that part as a parameter.
SERVICE_PACKAGES = ("app/services", "app/queries")
RUNTIME_PARAMETER_NAMES = {"t", "tessera", "runtime"}


def _annotation_text(annotation: ast.AST | None) -> str:
    return "" if annotation is None else ast.unparse(annotation)


def _runtime_uses(path: Path) -> list[str]:
    """Where a module reaches for the runtime: importing app.runtime (type-checking imports too)
    or a function parameter that is the runtime by name or by annotation."""
    tree = ast.parse(path.read_text())
    found = [f"{path.name}:{n.lineno} imports app.runtime" for n in ast.walk(tree)
             if (isinstance(n, ast.ImportFrom) and (n.module or "").startswith("app.runtime"))
             or (isinstance(n, ast.Import) and any(a.name.startswith("app.runtime") for a in n.names))]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
                if arg.arg in RUNTIME_PARAMETER_NAMES or "Tessera" in _annotation_text(arg.annotation):
                    found.append(f"{path.name}:{node.lineno} {getattr(node, 'name', 'lambda')}({arg.arg})")
    return found


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_services_and_queries_receive_what_they_use_never_the_runtime(package):
    uses = [use for path in _python_files(package) for use in _runtime_uses(path)]
    assert uses == [], ("take a session/Database, the shop, an AdminAccess, a queue and a clock instead of the "
                        "runtime: " + ", ".join(uses))


def test_the_runtime_finder_sees_an_import_an_annotation_and_a_bare_t(tmp_path):
    module = tmp_path / "s.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.runtime import Tessera\n"
                      "def a(t, shop):\n    pass\ndef b(db, runtime_like: 'Tessera'):\n    pass\n"
                      "def c(session, shop, now):\n    pass\n")
    assert _runtime_uses(module) == ["s.py:3 imports app.runtime", "s.py:4 a(t)", "s.py:6 b(runtime_like)"]
