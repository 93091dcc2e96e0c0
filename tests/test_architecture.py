"""Import structure of the package (issue 14): no import cycles at module level, and nothing
below the application layer imports it (the report, the demo, the command line).

Imports inside functions (a result's ``plot()`` importing its plotting module, optional
dependencies) are allowed to point upwards; module-level ones are not allowed to form cycles."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "comboplan"
APPLICATION = ("comboplan.report", "comboplan.report_bayes", "comboplan.reportkit", "comboplan.cli")


def _modules():
    mods = {}
    for f in ROOT.rglob("*.py"):
        parts = f.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = f
    return mods


def _imports(name, path, mods):
    """(module-level targets, targets imported inside functions) of one module."""
    pkg = path.name == "__init__.py"
    top, inner = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if pkg else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("comboplan"):
                continue
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
            targets = subs or [target]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("comboplan")]
        else:
            continue
        (top if node.col_offset == 0 else inner).update(t for t in targets if t in mods)
    return top, inner


def _graph():
    mods = _modules()
    return mods, {m: _imports(m, f, mods) for m, f in mods.items()}


def test_no_import_cycles_at_module_level():
    mods, edges = _graph()
    graph = {m: edges[m][0] for m in mods}
    state: dict[str, int] = {}
    cycles = []

    def visit(m, path):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(path[path.index(t):] + [t] if t in path else [m, t])
            elif t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(mods):
        if m not in state:
            visit(m, [m])
    assert not cycles, f"module-level import cycles: {cycles}"


def test_nothing_below_the_application_layer_imports_it():
    mods, edges = _graph()
    bad = []
    for m, (top, inner) in edges.items():
        if m in APPLICATION or m in ("comboplan", "comboplan.__main__") or m.endswith((".cli", "_cli")):
            continue
        for t in top | inner:
            if t in APPLICATION:
                bad.append((m, t))
    assert not bad, f"library modules importing the report/CLI layer: {bad}"


def test_foundations_import_nothing_above_them_at_module_level():
    """data and models (and the private helpers) are the bottom layers: at module level they
    import neither the estimators nor the analyses, simulator or plots."""
    mods, edges = _graph()
    higher = ("comboplan.fitting", "comboplan.combination", "comboplan.growth", "comboplan.simulate",
              "comboplan.plot", "comboplan.distributed")
    bad = []
    for m, (top, _) in edges.items():
        if m.startswith(("comboplan.data", "comboplan.models", "comboplan._")):
            bad += [(m, t) for t in top if t.startswith(higher)]
    assert not bad, bad
