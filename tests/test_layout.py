"""The package's layering: every import inside pipeline/ goes to its own area or to one below it.

Order, top to bottom: cli, analysis, month_end, ledger, scale_out, billing, config, rate, core
(docs/development.md). Imports inside functions count too: a lazy import up the order is still a
circle in the design. The package root (`pipeline.__version__`) and sql/ are shared by all.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "pipeline"
ORDER = ["cli", "analysis", "month_end", "ledger", "scale_out", "billing", "config", "rate", "core"]


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every `from ... import` and `import` of a pipeline module."""
    package = ["pipeline", *path.relative_to(root).parent.parts]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "pipeline" or target.startswith("pipeline."):
                if target == "pipeline" or target.count(".") == 0:
                    out += [(node.lineno, f"pipeline.{a.name}") for a in node.names if a.name != "__version__"]
                else:
                    out.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("pipeline.")]
    return out


def _area(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_is_in_an_area():
    loose = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules outside every area: {loose}"
    areas = sorted(p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert areas == sorted(ORDER)


def upward(root: Path) -> list[str]:
    wrong = []
    for path in sorted(root.rglob("*.py")):
        here = _area("pipeline." + ".".join(path.relative_to(root).with_suffix("").parts))
        if here not in ORDER:
            continue
        for line, target in _imports(path, root):
            there = _area(target)
            if there in ORDER and ORDER.index(there) < ORDER.index(here):
                wrong.append(f"{path.relative_to(root.parent)}:{line}: {here} imports {target} ({there} is above)")
    return wrong


def test_imports_run_one_way():
    wrong = upward(ROOT)
    assert wrong == [], "\n".join(wrong)


def test_the_checker_sees_upward_imports(tmp_path):
    """The rule can fail: relative, absolute and lazy imports up the order are each reported."""
    fake = tmp_path / "pipeline"
    for area in ("core", "billing", "ledger"):
        (fake / area).mkdir(parents=True)
        (fake / area / "__init__.py").write_text("")
    (fake / "core" / "x.py").write_text("from ..ledger.store import Ledger\n")
    (fake / "billing" / "y.py").write_text("def f():\n    from pipeline.ledger import issue\n")
    (fake / "billing" / "z.py").write_text("from .. import ledger\nfrom ..core import money\n")
    (fake / "ledger" / "ok.py").write_text("from ..billing.run import bill\n")
    assert upward(fake) == [
        "pipeline/billing/y.py:2: billing imports pipeline.ledger (ledger is above)",
        "pipeline/billing/z.py:1: billing imports pipeline.ledger (ledger is above)",
        "pipeline/core/x.py:1: core imports pipeline.ledger.store (ledger is above)",
    ]


def test_each_package_docstring_names_its_modules():
    """Every package's __init__ says what it holds: each module and sub-folder is named in its docstring."""
    unnamed = []
    for init in sorted(ROOT.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        for child in sorted(init.parent.iterdir()):
            if child.name.startswith(("_", ".")) or child.name == "sql":
                continue
            name = child.name if child.suffix else child.name + "/"
            if (child.suffix in (".py", ".j2") or (child / "__init__.py").exists()) and name not in doc \
                    and not (init.parent == ROOT and child.name in doc):
                unnamed.append(f"{init.relative_to(ROOT.parent)}: {name}")
    assert unnamed == [], unnamed


def _graph(root: Path) -> dict[str, set[str]]:
    """module -> the package modules it imports (a name imported from a package counts as the package)."""
    modules = {"pipeline." + ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for _, target in _imports(path, root):
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name and target != "pipeline":
                targets.add(target)
        graph[name] = targets
    return graph


def test_no_import_circles():
    """No module reaches itself through its imports, lazy ones included (the one-way rule inside an area).
    A package's __init__ importing its own modules is not a circle back from them."""
    assert circles(_graph(ROOT)) == []


def test_the_circle_check_finds_a_lazy_circle(tmp_path):
    fake = tmp_path / "pipeline"
    (fake / "billing").mkdir(parents=True)
    (fake / "billing" / "__init__.py").write_text("")
    (fake / "billing" / "scope.py").write_text("from .shards import Shard\n")
    (fake / "billing" / "shards.py").write_text("def f():\n    from .scope import Scope\n")
    (fake / "billing" / "ok.py").write_text("from .scope import x\n")
    assert circles(_graph(fake)) == ["pipeline.billing.scope -> pipeline.billing.shards -> pipeline.billing.scope"]


def circles(graph: dict[str, set[str]]) -> list[str]:
    found = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                cycle = path[path.index(nxt):] + [nxt]
                if not any(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(cycle, cycle[1:])):
                    found.append(" -> ".join(cycle))
            elif nxt not in done:
                visit(nxt, path + [nxt])
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    return found
