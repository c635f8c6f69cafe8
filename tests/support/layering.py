"""The floors of the code and the imports between them, read from the source with `ast` (every import counts:
module level, inside functions, and under `TYPE_CHECKING`, since each is a dependency a reader must know about).

Floors, lowest first; a package imports only from floors below its own:
  catalog     facts about the world, with their sources
  settings    the stack's settings, defaults and checks
  components  one ComponentResource per concept
  tools       the program (`__main__.py`), `embedded`, the policy pack (`policy`)
  commands    `kserve_triton`, the command line over all of them
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

FLOORS: dict[str, int] = {
    "catalog": 0,
    "settings": 1,
    "components": 2,
    "__main__": 3,
    "embedded": 3,
    "kserve_triton": 4,
    "kserve_triton_policies": 3,
}
PACKAGE_DIRS = ("catalog", "settings", "components", "kserve_triton", "embedded")


def modules(root: Path) -> Iterator[tuple[str, Path]]:
    """(top-level package, file) for every Python file of the program and its tools under `root`."""
    if (root / "__main__.py").exists():
        yield "__main__", root / "__main__.py"
    for package in PACKAGE_DIRS:
        for path in sorted((root / package).rglob("*.py")):
            yield package, path
    for path in sorted((root / "policy").rglob("*.py")):
        yield "kserve_triton_policies", path


def imported_packages(path: Path) -> set[str]:
    """The project's top-level packages a file imports (relative imports stay in its own package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in FLOORS)
    return found


def package_graph(root: Path) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for package, path in modules(root):
        graph.setdefault(package, set()).update(imported_packages(path) - {package})
    return graph


def upward_imports(root: Path) -> list[str]:
    """`file imports package` for every import of a package on the same floor or above (own package excepted)."""
    problems = []
    for package, path in modules(root):
        for imported in sorted(imported_packages(path) - {package}):
            if FLOORS[imported] >= FLOORS[package]:
                problems.append(f"{path.relative_to(root)} ({package}) imports {imported}")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle between packages, each as the path that closes it (depth-first search)."""
    found: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == "open":
                found.append([*trail[trail.index(successor) :], successor])
            elif successor not in state:
                visit(successor, [*trail, successor])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found
