"""The package's layers: module-level imports between its modules form no cycle, and the service
(which runs in the container) does not pull in the modules that build and release it."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter

from support import PKG_NAME, ROOT

PACKAGE = ROOT / "src" / PKG_NAME


def imports() -> dict[str, set[str]]:
    """Each module's package-internal imports at module level (lazy imports inside functions aside)."""
    graph = {}
    for path in PACKAGE.glob("*.py"):
        found = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module} if node.module else {alias.name for alias in node.names}
        graph[path.stem] = found
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for name in graph.get(todo.pop(), ()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def test_no_import_cycles():
    try:
        order = list(TopologicalSorter(imports()).static_order())
    except CycleError as err:
        raise AssertionError(f"import cycle: {' -> '.join(err.args[1])}") from None
    assert order.index("errors") < order.index("cli")


def test_the_service_does_not_import_the_release_or_the_review():
    loaded = reachable(imports(), "service")
    assert {"models", "records", "schema"} <= loaded
    assert not loaded & {"release", "model_card", "comparison", "pr_comment", "training", "drift", "cli"}
