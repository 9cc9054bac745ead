"""The layers hold: tunix_rt <- traces <- datasets <- training, read from every module's imports."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("tunix_rt", "traces", "datasets", "training")
ENTRY_POINTS = {"training.tasks"}  # background task modules may call back into services lazily
MAX_LINES = 300


def _modules() -> dict[str, Path]:
    found = {}
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            name = ".".join(parts).removesuffix(".__init__")
            found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_imports_a_higher_layer() -> None:
    wrong = []
    for module, path in _modules().items():
        rank = LAYERS.index(module.split(".")[0])
        for name in _imports(path):
            top = name.split(".")[0]
            if top in LAYERS and LAYERS.index(top) > rank:
                wrong.append(f"{module} imports {name}")
    assert wrong == []


def test_no_import_cycle_inside_an_app() -> None:
    modules = _modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        if module in ENTRY_POINTS:
            continue
        for name in _imports(path):
            target = next((m for m in (name, name.rsplit(".", 1)[0]) if m in modules), None)
            if target is None or target == module or target.startswith(module + "."):
                continue  # not a project module, itself, or a package importing its own parts
            if target.split(".")[0] == module.split(".")[0]:
                edges[module].add(target)

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
        return False

    cycles = sorted(f"{a} -> {b}" for a in list(edges) for b in edges[a] if reaches(b, a))
    assert cycles == []


def test_no_module_is_over_300_lines() -> None:
    big = sorted(f"{m} {p.read_text(encoding='utf-8').count(chr(10))}" for m, p in _modules().items())
    assert [row for row in big if int(row.rsplit(" ", 1)[1]) > MAX_LINES] == []
