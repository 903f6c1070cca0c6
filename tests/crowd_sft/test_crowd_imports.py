"""The crowd_sft package's imports form a tree (a DAG): no cycle, function-level imports included.

The graph is read from the source with ``ast``: every ``import``/``from ... import`` anywhere in a
module (module level, inside functions, classes or ``if`` blocks) that names a ``crowd_sft``
module is an edge. ``from pkg import name`` is an edge to ``pkg.name`` when that is a module,
else to ``pkg``. The package root ``crowd_sft/__init__.py`` is the public facade above every layer;
a submodule's implicit import of its parent package is not an edge (Python's import system, not
the code, creates it).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "crowd_sft"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def import_graph(modules: dict[str, Path] | None = None) -> dict[str, set[str]]:
    modules = modules or _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        package = name if is_pkg else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
            for t in targets:
                while t and t not in modules:  # import of an attribute path: nearest module
                    t = t.rpartition(".")[0]
                if t and t != name and t.startswith("crowd_sft"):
                    graph[name].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a list of modules (first == last), or None (iterative DFS, three colours)."""
    colour = {m: 0 for m in graph}
    for start in graph:
        if colour[start]:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(nxt, 2) == 1:
                return path[path.index(nxt):] + [nxt]
            elif colour.get(nxt, 2) == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


def test_crowd_sft_imports_have_no_cycle():
    graph = import_graph()
    assert "crowd_sft.tournament" in graph and "crowd_sft.shapley.montecarlo" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_layers_only_import_downwards():
    graph = import_graph()
    order = ["crowd_sft.scoring", "crowd_sft.tournament", "crowd_sft.games", "crowd_sft.shapley",
             "crowd_sft.analysis"]
    for k, low in enumerate(order):
        for high in order[k + 1:]:
            reach = _reachable(graph, low)
            assert not any(r == high or r.startswith(high + ".") for r in reach), f"{low} reaches {high}"
    assert "crowd_sft.scoring" in _reachable(graph, "crowd_sft.tournament")
    assert "crowd_sft.tournament" in _reachable(graph, "crowd_sft.games")


def _reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_detector_catches_function_level_cycles(tmp_path):
    """The checker itself: a cycle made only by an import inside a function is found."""
    pkg = tmp_path / "crowd_sft"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import f\n")
    (pkg / "b.py").write_text("def f():\n    from crowd_sft import a\n    return a\n")
    mods = {_name_in(tmp_path, p): p for p in pkg.rglob("*.py")}
    cycle = find_cycle(import_graph_for(mods, tmp_path))
    assert cycle is not None and set(cycle) == {"crowd_sft.a", "crowd_sft.b"}


def _name_in(base, p):
    parts = list(p.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph_for(mods, base):
    global ROOT
    old = ROOT
    try:
        ROOT = base / "crowd_sft"
        return import_graph(mods)
    finally:
        ROOT = old


def test_old_names_still_work_with_a_warning():
    import crowd_sft.games as games
    from crowd_sft.tournament import make_instance

    with pytest.warns(DeprecationWarning, match="points_vs_shapley"):
        r = games.points_vs_shapley(make_instance(5, 0), n_groups=2, seed=1, rounds=10)
    assert set(r.comparison.pearson) == {"published", "true", "published~true"}
    from crowd_sft.games import EVALUATIONS, compare_points, scores  # still importable from games
    assert EVALUATIONS == ("l2", "l1", "dot") and callable(compare_points) and callable(scores)
