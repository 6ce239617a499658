"""make mutation: a small mutation driver (Python's ast) over the modules that decide money and safety,
plus hand-written mutants of the SQL. See RELIABILITY.md, "Mutation testing".

Why our own: mutmut 3 copies the package into mutants/ and trampolines every function, which this src-less
layout with subprocess tests (`usagebill` run as a real command) defeats; this driver mutates one node in a
temporary copy of the repository, puts that copy first on PYTHONPATH (the subprocesses inherit it), and runs
only the test files mapped to the module, stopping at the first failure, with a timeout.

Operators, one at a time: comparison flips (< <=, > >=, == !=, in / not in), + <-> -, * <-> /, // -> /,
integer constants n -> n + 1, True <-> False, and <-> or, `not x` -> x, min <-> max, `return x` -> `return None`.

    python tests/mutation/mutate.py [--module pipeline/core/money.py ...] [--limit N] [--sql-only] [--jobs 2]
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures as cf
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

# module -> the test files (or file::selection) that guard it; a fast, targeted subset of the suite
MODULES: dict[str, list[str]] = {
    "pipeline/core/money.py": ["tests/test_money_tax.py", "tests/test_rate_models.py", "tests/test_pricing_rules.py",
                               "tests/test_terms.py::test_quantities_on_documents_are_shown_at_a_sensible_precision"],
    "pipeline/core/tax.py": ["tests/test_money_tax.py"],
    "pipeline/billing/periods.py": ["tests/test_periods.py", "tests/test_terms.py"],
    "pipeline/rate/base.py": ["tests/test_rate_models.py", "tests/test_config_errors.py",
                                 "tests/test_pricing_rules.py"],
    "pipeline/rate/flat.py": ["tests/test_rate_models.py", "tests/test_config_errors.py",
                                 "tests/test_pricing_rules.py"],
    "pipeline/rate/graduated.py": ["tests/test_rate_models.py", "tests/test_config_errors.py",
                                 "tests/test_pricing_rules.py"],
    "pipeline/rate/package.py": ["tests/test_rate_models.py", "tests/test_config_errors.py",
                                 "tests/test_pricing_rules.py"],
    "pipeline/rate/per_unit.py": ["tests/test_rate_models.py", "tests/test_config_errors.py",
                                 "tests/test_pricing_rules.py"],
    "pipeline/rate/percentage.py": ["tests/test_rate_models.py", "tests/test_config_errors.py",
                                 "tests/test_pricing_rules.py"],
    "pipeline/rate/tiers.py": ["tests/test_rate_models.py", "tests/test_config_errors.py",
                                 "tests/test_pricing_rules.py"],
    "pipeline/rate/volume.py": ["tests/test_rate_models.py", "tests/test_config_errors.py",
                                 "tests/test_pricing_rules.py"],
    "pipeline/rate/floors.py": ["tests/test_pricing_rules.py", "tests/test_scenarios.py"],
    "pipeline/rate/discount.py": ["tests/test_pricing_rules.py", "tests/test_scenarios.py"],
    "pipeline/rate/one_time.py": ["tests/test_pricing_rules.py", "tests/test_terms.py"],
    "pipeline/billing/invoice.py": ["tests/test_invoice_lines.py", "tests/test_money_tax.py", "tests/test_scenarios.py",
                                    "tests/test_aggregations.py",
                            "tests/test_safety_rules.py::test_invoice_ids_and_numbers_keep_their_documented_form"],
    "pipeline/core/io.py": ["tests/test_publication.py",
                            "tests/test_safety_rules.py::test_run_into_a_folder_that_is_not_an_output_is_refused_and_"
                       "left_untouched", "tests/test_safety_rules.py::test_manifest_inputs_are_the_sha256_of_each_"
                       "input_file", "tests/test_safety_rules.py::test_os_reason_gives_the_systems_words",
                       "tests/test_faults.py::test_kill_at_a_chosen_point",
                       "tests/test_faults.py::test_injected_no_space"],
    "pipeline/billing/assemble.py": ["tests/test_invoice_lines.py", "tests/test_assemble_edges.py",
                                     "tests/test_assemble.py", "tests/test_scenarios.py", "tests/test_money_tax.py",
                                     "tests/test_aggregations.py", "tests/test_terms.py",
                                     "tests/test_safety_rules.py::test_invoice_ids_and_numbers_keep_their_documented_"
                                     "form"],
    "pipeline/ledger/documents.py": ["tests/test_documents.py", "tests/test_ledger.py", "tests/test_reconcile.py",
                                     "tests/test_safety_rules.py::test_corrections_are_never_dated_before_the_"
                                     "invoice_they_correct"],
}

# hand-written SQL mutants: (file, name, old text, new text); each must be caught by its tests
SQL_TESTS = ["tests/test_safety_rules.py", "tests/test_selection_and_time.py", "tests/test_scenarios.py",
             "tests/test_corpus.py"]
SQL_MUTANTS = [
    ("sql/classify_events.sql", "dedup keeps the latest copy (min -> max)", "min(epoch_us(ts)", "max(epoch_us(ts)"),
    ("sql/classify_events.sql", "no lookback for copies (window ignored)",
     "AND ts >= $lookback_start AND ts < $span_end {{customer_filter}}\n      AND hash",
     "AND ts >= $span_start AND ts < $span_end {{customer_filter}}\n      AND hash"),
    ("sql/classify_events.sql", "status precedence: unknown_customer before duplicate",
     "               WHEN is_duplicate THEN 1\n               WHEN NOT is_known_customer THEN 3\n",
     "               WHEN NOT is_known_customer THEN 3\n               WHEN is_duplicate THEN 1\n"),
    ("sql/classify_events.sql", "status precedence: duplicate before invalid",
     "               WHEN is_invalid THEN 2\n               WHEN is_duplicate THEN 1\n",
     "               WHEN is_duplicate THEN 1\n               WHEN is_invalid THEN 2\n"),
    ("sql/classify_events.sql", "period join end bound < -> <=",
     "AND e.ts >= cv.active_from AND e.ts < cv.active_to", "AND e.ts >= cv.active_from AND e.ts <= cv.active_to"),
    ("sql/classify_events.sql", "period join start bound >= -> >",
     "AND e.ts >= cv.active_from AND e.ts < cv.active_to", "AND e.ts > cv.active_from AND e.ts < cv.active_to"),
    ("sql/classify_events.sql", "contract timeline end bound < -> <=",
     "e.ts >= tl.range_from AND e.ts < tl.range_to", "e.ts >= tl.range_from AND e.ts <= tl.range_to"),
    ("sql/classify_events.sql", "span end bound < -> <= (considered events)",
     "WHERE (ts IS NULL OR (ts >= $lookback_start AND ts < $span_end))",
     "WHERE (ts IS NULL OR (ts >= $lookback_start AND ts <= $span_end))"),
]

CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
       ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div}


PRAGMA = "pragma: no mutate"  # on a line whose mutants are equivalent; the comment says why


def sites(tree: ast.AST, source: str = "") -> list[tuple[int, str, int]]:
    """(node index in ast.walk order, operator, line) of every mutation this module offers, except on
    lines marked `# pragma: no mutate` (each with its reason: the mutants there cannot change a result)."""
    marked = {n for n, text in enumerate(source.splitlines(), start=1) if PRAGMA in text}
    out = []
    for i, node in enumerate(ast.walk(tree)):
        line = getattr(node, "lineno", 0)
        if line in marked:
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.Compare) and type(node.ops[0]) in CMP:
            out.append((i, "cmp", line))
        elif isinstance(node, ast.BinOp) and type(node.op) in BIN:
            out.append((i, "bin", line))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            out.append((i, "int", line))
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            out.append((i, "bool", line))
        elif isinstance(node, ast.BoolOp):
            out.append((i, "boolop", line))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            out.append((i, "not", line))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
            out.append((i, "minmax", line))
        elif isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            out.append((i, "return", line))
    return out


def docstring_nodes(tree: ast.AST) -> set[int]:
    """Nodes not mutated: docstrings, and decorator arguments (@dataclass(frozen=True), @lru_cache(maxsize=N)),
    which change no value a test could see (immutability, cache size)."""
    ids = set()
    for node in ast.walk(tree):
        for deco in getattr(node, "decorator_list", []):
            ids.update(id(n) for n in ast.walk(deco))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def mutate(source: str, index: int) -> tuple[str, str]:
    tree = ast.parse(source)
    node = list(ast.walk(tree))[index]
    before = ast.unparse(node)[:70]
    if isinstance(node, ast.Compare):
        node.ops[0] = CMP[type(node.ops[0])]()
    elif isinstance(node, ast.BinOp):
        node.op = BIN[type(node.op)]()
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        node.value = not node.value
    elif isinstance(node, ast.Constant):
        node.value = node.value + 1
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        node.op = ast.UAdd()  # `not x` -> `+x` is wrong for bools; use the operand itself
        parent_fix(tree, node)
    elif isinstance(node, ast.Call):
        node.func.id = "max" if node.func.id == "min" else "min"
    elif isinstance(node, ast.Return):
        node.value = ast.Constant(None)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree), before


def parent_fix(tree: ast.AST, target: ast.UnaryOp) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, name, target.operand)
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if item is target:
                        value[k] = target.operand


def workspace_copy() -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="usagebill-mut-"))
    for name in ("pipeline", "sql", "schemas", "tests"):
        shutil.copytree(ROOT / name, tmp / name, symlinks=True,  # pipeline/sql stays a link to the copy of sql/
                        ignore=shutil.ignore_patterns("__pycache__", "mutation"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def run_tests(copy_root: Path, tests: list[str], timeout: float) -> str:
    env = {**os.environ, "PYTHONPATH": str(copy_root), "PYTHONDONTWRITEBYTECODE": "1", "USAGEBILL_KILLS": "0"}
    try:
        p = subprocess.run([PY, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests], cwd=copy_root,
                           env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "killed (timeout)"
    if p.returncode in (2, 4) and ("ImportError while loading conftest" in p.stdout + p.stderr
                                   or "error during collection" in p.stdout):
        return "killed (import error)"  # the mutant breaks the import of the module: every mapped test fails
    return "survived" if p.returncode == 0 else "killed" if p.returncode == 1 else f"error rc={p.returncode}"


def one(job: tuple) -> dict:
    kind, path, index, tests, timeout = job[:5]
    root = workspace_copy()
    try:
        target = root / path
        src = target.read_text()
        if kind == "py":
            new, what = mutate(src, index)
            name = f"{job[5]} line {job[6]}: {what}"
        else:
            _, name, old, repl = SQL_MUTANTS[index]
            assert src.count(old) >= 1, f"SQL mutant does not apply: {name}"
            new = src.replace(old, repl)
        target.write_text(new)
        started = time.monotonic()
        outcome = run_tests(root, tests, timeout)
        return {"module": path, "mutant": name, "outcome": outcome, "seconds": round(time.monotonic() - started, 1)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", action="append", help="only these modules (default: all mapped)")
    ap.add_argument("--limit", type=int, default=0, help="at most N mutants per module (evenly spread)")
    ap.add_argument("--sql-only", action="store_true")
    ap.add_argument("--no-sql", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("--report", default=str(ROOT / "data" / "mutation.json"))
    args = ap.parse_args()
    jobs, skipped = [], 0
    if not args.sql_only:
        for path in args.module or MODULES:
            source = (ROOT / path).read_text()
            tree = ast.parse(source)
            doc = docstring_nodes(tree)
            nodes = list(ast.walk(tree))
            found = [s for s in sites(tree, source) if id(nodes[s[0]]) not in doc]
            skipped += sum(PRAGMA in line for line in source.splitlines())
            if args.limit and len(found) > args.limit:
                found = [found[round(k * (len(found) - 1) / (args.limit - 1))] for k in range(args.limit)]
            jobs += [("py", path, i, MODULES[path], args.timeout, op, line) for i, op, line in found]
    if not args.no_sql:
        jobs += [("sql", m[0], k, SQL_TESTS, args.timeout * 3) for k, m in enumerate(SQL_MUTANTS)]
    print(f"{len(jobs)} mutants, {args.jobs} at a time", flush=True)
    results = []
    with cf.ThreadPoolExecutor(args.jobs) as pool:
        for r in pool.map(one, jobs):
            results.append(r)
            print(f"{r['outcome']:>18}  {r['seconds']:6.1f}s  {r['module']}  {r['mutant']}", flush=True)
    [r for r in results if r["outcome"].startswith("killed")]
    py = [r for r in results if not r["module"].endswith(".sql")]
    sql = [r for r in results if r["module"].endswith(".sql")]
    py_killed = sum(r["outcome"].startswith("killed") for r in py)
    sql_killed = sum(r["outcome"].startswith("killed") for r in sql)
    print(f"python: {py_killed}/{len(py)} killed ({100 * py_killed / max(len(py), 1):.1f} %); "
          f"sql: {sql_killed}/{len(sql)} caught; {skipped} lines marked `{PRAGMA}` not mutated")
    for r in results:
        if not r["outcome"].startswith("killed"):
            print(f"  {r['outcome']}: {r['module']}  {r['mutant']}")
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(results, indent=1))
    ok = (not py or py_killed / len(py) >= 0.9) and sql_killed == len(sql)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
