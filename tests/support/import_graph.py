"""The project's own import graph, from the source by an AST walk (nothing is imported).

Every import counts, at module level and inside functions: a lazy import still makes the two
modules depend on each other (it only moves the cost). Used by tests/architecture and by
``python -m tests.support.import_graph`` (prints the circles, for the numbers in a review).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Top-level packages whose modules are nodes, and where they live; plugins/ files are
# top-level modules (Airflow puts the folder on sys.path).
PACKAGES = {
    "include": REPO / "include",
    "settlement_model": REPO / "model_pod" / "settlement_model",
    "devstack": REPO / "devstack",
    "benchmarks": REPO / "benchmarks",
}


def modules(root: Path = REPO) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages and plugins."""
    packages = {name: root / path.relative_to(REPO) for name, path in PACKAGES.items()}
    found: dict[str, Path] = {}
    for folder in packages.values():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    for path in sorted((root / "plugins").glob("*.py")):
        found[path.stem] = path
    return found


def _imported_names(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parents, base] if base else parents)
            yield from (f"{base}.{alias.name}" for alias in node.names)
            yield base


def graph(root: Path = REPO) -> dict[str, set[str]]:
    """Module -> the project's modules it imports (``from a import b`` counts b when b is a module)."""
    nodes = modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in nodes:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {name: set() for name in nodes}
    for module, path in nodes.items():
        for name in _imported_names(module, path):
            target = resolve(name)
            if target and target != module and not module.startswith(f"{target}."):
                edges[module].add(target)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def package_graph(edges: dict[str, set[str]], prefix: str = "include.markets_ops.") -> dict[str, set[str]]:
    """The same graph between the packages directly under ``prefix`` (a module at the top of it
    stands for itself): where a circle between two packages shows though no two modules form one."""

    def package(module: str) -> str:
        if not module.startswith(prefix):
            return module
        head = module[len(prefix) :].split(".", maxsplit=1)[0]
        return prefix + head

    collapsed: dict[str, set[str]] = {}
    for module, targets in edges.items():
        source = package(module)
        collapsed.setdefault(source, set())
        collapsed[source] |= {package(t) for t in targets if package(t) != source}
    return collapsed


def describe(groups: Iterable[list[str]]) -> list[str]:
    return [" <-> ".join(group) for group in groups]


if __name__ == "__main__":
    module_edges = graph()
    print(f"{len(module_edges)} modules")
    print("module circles:", describe(circles(module_edges)) or "none")
    print("package circles:", describe(circles(package_graph(module_edges))) or "none")
