"""The shape of the code (issue 18, "the house reads like its domain"): no import cycle between apps,
and no private name imported from another module. Both read the source, not the running portal.

The import graph is grimp's: every import statement counts — at module level, inside a function
(imported at call time), or under TYPE_CHECKING — since each is a dependency of one app on another.
"""

import ast
from collections.abc import Iterable
from pathlib import Path

import grimp
import pytest
from django.apps import apps

BASE_DIR = Path(__file__).resolve().parents[2]

# No cycle between apps: billing imports neither subscriptions nor usage (it asks them through
# billing.hooks), and subscriptions does not import usage (the termination, ordering, catalog and
# timeline of a usage Service ask it through subscriptions.hooks). Nothing may join.
KNOWN_CYCLES: set[frozenset[str]] = set()

# Private names still imported across modules: none. Nothing may join.
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str, str]] = set()


def project_apps() -> list[str]:
    """The project's own top-level packages: its installed apps (not third-party ones) and config."""
    names = {"config"}
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.parent == BASE_DIR:
            names.add(config.name.split(".")[0])
    return sorted(names)


def app_imports(app_names: list[str]) -> set[tuple[str, str]]:
    """(importer, imported) for every pair of apps where a module of one imports a module of the other."""
    graph = grimp.build_graph(*app_names, include_external_packages=False, cache_dir=None)
    return {
        (importer, imported)
        for importer in app_names
        for imported in app_names
        if importer != imported and graph.direct_import_exists(importer=importer, imported=imported, as_packages=True)
    }


def cycles(edges: Iterable[tuple[str, str]]) -> set[frozenset[str]]:
    """Every elementary cycle of the directed graph, each as the set of its nodes."""
    successors: dict[str, set[str]] = {}
    for importer, imported in edges:
        successors.setdefault(importer, set()).add(imported)
    found: set[frozenset[str]] = set()

    def walk(start: str, node: str, path: list[str]) -> None:
        for following in sorted(successors.get(node, ())):
            if following == start:
                found.add(frozenset(path))
            elif following > start and following not in path:  # each cycle once, from its smallest node
                walk(start, following, [*path, following])

    for start in sorted(successors):
        walk(start, start, [start])
    return found


def test_cycles_finds_two_and_three_app_cycles_and_nothing_else() -> None:
    edges = {("a", "b"), ("b", "a"), ("b", "c"), ("c", "d"), ("d", "b"), ("d", "e")}
    assert cycles(edges) == {frozenset({"a", "b"}), frozenset({"b", "c", "d"})}
    assert cycles({("a", "b"), ("b", "c")}) == set()


def test_the_graph_sees_every_app_and_imports_made_inside_functions() -> None:
    names = project_apps()
    expected = {"config", "core", "audit", "notifications", "accounts", "billing", "sla", "subscriptions", "support"}
    assert expected | {"usage"} <= set(names)
    edges = app_imports(names)
    # support.services.opening imports subscriptions.services.moneyback inside the money-back handler only.
    graph = grimp.build_graph("support", "subscriptions", include_external_packages=False, cache_dir=None)
    assert graph.direct_import_exists(importer="support.services.opening", imported="subscriptions.services.moneyback")
    assert ("support", "subscriptions") in edges


def test_no_import_cycle_between_apps() -> None:
    found = cycles(app_imports(project_apps()))
    assert found == KNOWN_CYCLES == set(), (
        f"new cycles: {sorted(map(sorted, found - KNOWN_CYCLES))}; gone (remove from KNOWN_CYCLES): "
        f"{sorted(map(sorted, KNOWN_CYCLES - found))}"
    )


def private_imports(app_names: list[str]) -> set[tuple[str, str, str]]:
    """(file, module, name) for each `from module import _name` of the project's own code, outside the
    tests and migrations; `gettext as _` and dunder names are not private names."""
    found = set()
    for app in app_names:
        for path in sorted((BASE_DIR / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                    continue
                if node.module.split(".")[0] not in app_names:
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.add((path.relative_to(BASE_DIR).as_posix(), node.module, alias.name))
    return found


def test_private_imports_are_found_at_module_level_and_inside_functions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "someapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "a.py").write_text(
        "from someapp.b import _hidden, public\nfrom django.utils.translation import gettext as _\n"
        "def f():\n    from someapp.c import _late\n"
    )
    monkeypatch.setattr(f"{__name__}.BASE_DIR", tmp_path)
    assert private_imports(["someapp"]) == {
        ("someapp/a.py", "someapp.b", "_hidden"),
        ("someapp/a.py", "someapp.c", "_late"),
    }


def test_no_private_name_imported_across_modules_but_the_known_ones() -> None:
    found = private_imports(project_apps())
    assert found == KNOWN_PRIVATE_IMPORTS, (
        f"new private imports: {sorted(found - KNOWN_PRIVATE_IMPORTS)}; gone (remove from KNOWN_PRIVATE_IMPORTS): "
        f"{sorted(KNOWN_PRIVATE_IMPORTS - found)}"
    )
