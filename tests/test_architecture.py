"""The layering is a rule a machine checks: the import contracts in pyproject.toml
(``lint-imports``) and no import cycles anywhere in the package.

A broken contract fails here with import-linter's own report (which import, which line),
so the next engineer learns the rule from the failing check, not from a docstring.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    command = str(exe) if exe.exists() else shutil.which("lint-imports")
    assert command, "lint-imports is missing: install the dev extra (import-linter)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([command, "--no-cache", "--no-logo", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_contracts_hold() -> None:
    done = lint_imports()
    assert done.returncode == 0, f"an import contract is broken:\n{done.stdout}\n{done.stderr}"
    assert "0 broken" in done.stdout and "KEPT" in done.stdout


def test_the_checker_catches_a_broken_rule(tmp_path: Path) -> None:
    """The same tool on a contract the code does break must fail (so a pass means
    something): the runner does import the techniques."""
    config = tmp_path / "broken.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["workbench"]\n\n'
                      '[[tool.importlinter.contracts]]\nname = "deliberately broken"\n'
                      'type = "forbidden"\nsource_modules = ["workbench.runner"]\n'
                      'forbidden_modules = ["workbench.techniques"]\n')
    done = lint_imports("--config", str(config))
    assert done.returncode != 0 and "deliberately broken BROKEN" in done.stdout, done.stdout


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of modules (function-local imports count too)."""
    adj = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        order[v] = low[v] = len(order)
        stack.append(v)
        for w in adj[v]:
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(adj):
        if module not in order:
            visit(module)
    return cycles


def test_no_import_cycles() -> None:
    sys.path.insert(0, str(REPO))
    try:
        graph = grimp.build_graph("workbench", "widgets", cache_dir=None)
    finally:
        sys.path.remove(str(REPO))
    assert import_cycles(graph) == []


def test_the_offline_price_flag_is_set_in_one_place() -> None:
    """litellm fetches its price map at import unless LITELLM_LOCAL_MODEL_COST_MAP is set:
    the package sets it once, in the one module that imports litellm, before the import."""
    setters = sorted(
        str(path.relative_to(REPO))
        for root in ("workbench", "widgets") for path in (REPO / root).rglob("*.py")
        if any("environ" in line and "LITELLM_LOCAL_MODEL_COST_MAP" in line
               for line in path.read_text(encoding="utf-8").splitlines()))
    assert setters == ["workbench/backends/litellm_adapter.py"]


SQL_STATEMENTS = (
    re.compile(r"\bSELECT\b[\s\S]*\bFROM\b"),  # library SQL is upper case
    re.compile(r"^\s*select\b[\s\S]*\bfrom\b"),  # a lower-case statement, not prose
    re.compile(r"\b(INSERT\s+INTO|DELETE\s+FROM|CREATE\s+(OR\s+REPLACE\s+)?(TABLE|VIEW|INDEX)"
               r"|ALTER\s+TABLE|DROP\s+(TABLE|VIEW))\b", re.IGNORECASE),
)


def sql_strings(path: Path) -> list[tuple[int, str]]:
    """String literals (an f-string as a whole) in ``path`` that read as SQL statements."""
    tree = ast.parse(path.read_text(), str(path))
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             for v in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}"
                           for v in node.values)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in parts):
            text = node.value
        else:
            continue
        if any(rule.search(text) for rule in SQL_STATEMENTS):
            found.append((node.lineno, text.strip().splitlines()[0][:70]))
    return found


def test_sql_lives_only_in_the_store() -> None:
    """The schema is the store's: every statement the workbench runs is a named query under
    ``workbench/store/`` (the user's own SQL box is the one door for typed-in SQL), so a
    column is added or renamed in one package."""
    offenders = []
    for root in (REPO / "workbench", REPO / "widgets"):
        for path in sorted(root.rglob("*.py")):
            if (REPO / "workbench" / "store") in path.parents:
                continue
            offenders += [f"{path.relative_to(REPO)}:{line}: {text}"
                          for line, text in sql_strings(path)]
    assert not offenders, "SQL outside workbench/store/:\n" + "\n".join(offenders)


def test_the_sql_finder_finds_sql(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('Q = """\nSELECT run_id FROM runs\n"""\n'
                     'def f(t):\n    return f"select * from {t} where x"\n'
                     'D = "Select the budget from the slider."\n')
    assert [line for line, _ in sql_strings(probe)] == [1, 5]


def test_error_types_come_from_workbench_errors() -> None:
    """Techniques and analysis catch errors without depending on backends: the base error
    lives in ``workbench.errors`` and nowhere re-exports it."""
    import workbench.backends.base as base

    assert not hasattr(base, "WorkbenchError")
    pattern = re.compile(r"from workbench\.(?!errors\b)[\w.]+ import[^\n]*\bWorkbenchError\b")
    offenders = [str(p.relative_to(REPO)) for folder in ("workbench", "widgets", "tests")
                 for p in (REPO / folder).rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
