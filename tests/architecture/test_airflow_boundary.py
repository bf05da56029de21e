"""The Airflow boundary, the same in every DAG (docs/architecture.md):

- a DAG task is a one-line call into its pipeline's ``tasks.py``, to the function named as the
  task (the body imports that module and calls it; a docstring may say what the task returns);
- only ``tasks.py`` sees the Airflow context: no ``airflow`` import in include/markets_ops/
  outside ``airflow/``, the ``tasks.py`` modules and the two job runtimes (their operators
  subclass Airflow's), and no function outside them takes the context or a task instance;
- so the logic modules take plain values and are tested without Airflow.

Each check is also run on a planted file, to show it finds what it looks for.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "include" / "markets_ops"
DAGS = REPO / "dags"
# Besides airflow/ and every tasks.py: the job runtimes, whose operators are Airflow operators.
AIRFLOW_MODULES = ("jobs/local_runtime.py", "jobs/kubernetes_runtime.py")
CONTEXT_NAMES = {"context", "ti", "ti_key", "outlet_events", "dag_run"}
TASK_DECORATORS = {"task", "linked_task"}


def sees_airflow(path: Path, root: Path = INCLUDE) -> bool:
    relative = path.relative_to(root).as_posix()
    return relative.startswith("airflow/") or path.name == "tasks.py" or relative in AIRFLOW_MODULES


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def airflow_imports(path: Path) -> list[str]:
    """``file:line module`` of every import of airflow in the file (lazy ones included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found += [f"{path.name}:{node.lineno} {name}" for name in names if name.split(".")[0] == "airflow"]
    return found


def context_parameters(path: Path) -> list[str]:
    """``file:line function(parameter)`` of every function taking the context or a task instance."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
            names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
            found += [f"{path.name}:{node.lineno} {node.name}({n})" for n in names if n in CONTEXT_NAMES]
    return found


@dataclass(frozen=True)
class TaskBody:
    task: str
    problem: str | None  # None: one call into a tasks.py, to the function named as the task


def _decorator_name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    while isinstance(target, ast.Attribute):
        target = target.value
    return target.id if isinstance(target, ast.Name) else ""


def task_bodies(dag_file: Path) -> list[TaskBody]:
    """Every task function of a DAG file (decorated with @task..., @linked_task(...)), checked."""
    bodies = []
    for node in ast.walk(ast.parse(dag_file.read_text())):
        if not isinstance(node, ast.FunctionDef):
            continue
        if not any(_decorator_name(d) in TASK_DECORATORS for d in node.decorator_list):
            continue
        bodies.append(TaskBody(node.name, _body_problem(node)))
    return bodies


def _body_problem(function: ast.FunctionDef) -> str | None:
    statements = list(function.body)
    if statements and isinstance(statements[0], ast.Expr) and isinstance(statements[0].value, ast.Constant):
        statements = statements[1:]  # the docstring
    imports = [s for s in statements if isinstance(s, ast.Import | ast.ImportFrom)]
    rest = [s for s in statements if s not in imports]
    tasks_modules = {
        alias.asname or alias.name
        for s in imports
        if isinstance(s, ast.ImportFrom) and s.module and s.module.startswith("include.markets_ops.")
        for alias in s.names
        if alias.name == "tasks"
    }
    if len(imports) != 1 or not tasks_modules:
        return "imports something else than its pipeline's tasks module"
    if len(rest) != 1 or not isinstance(rest[0], ast.Return | ast.Expr):
        return f"has {len(rest)} statements besides the import, not one call"
    call = rest[0].value
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
        return "does not call a function of its tasks module"
    module, function_name = call.func.value, call.func.attr
    if not isinstance(module, ast.Name) or module.id not in tasks_modules:
        return "calls something else than its tasks module"
    if function_name != function.name:
        return f"calls tasks.{function_name}, not tasks.{function.name} (the task's own name)"
    return None


# --------------------------------------------------------------------------- the project


def test_the_boundary_modules_are_there() -> None:
    seeing = [p.relative_to(INCLUDE).as_posix() for p in python_files(INCLUDE) if sees_airflow(p)]
    assert "airflow/connections.py" in seeing
    assert {"feed/tasks.py", "scoring/tasks.py", "training/tasks.py", "alerting/tasks.py"} <= set(seeing)
    assert all((INCLUDE / module).exists() for module in AIRFLOW_MODULES)


def test_no_airflow_import_outside_the_boundary() -> None:
    found = [hit for p in python_files(INCLUDE) if not sees_airflow(p) for hit in airflow_imports(p)]
    assert found == []


def test_no_function_outside_the_boundary_takes_the_context() -> None:
    found = [hit for p in python_files(INCLUDE) if not sees_airflow(p) for hit in context_parameters(p)]
    assert found == []


def test_every_dag_task_is_one_call_into_its_pipelines_tasks_module() -> None:
    bodies = {dag.name: task_bodies(dag) for dag in sorted(DAGS.glob("*.py"))}
    assert sum(len(found) for found in bodies.values()) >= 25  # every DAG's tasks were read
    problems = [
        f"{dag}: {body.task} {body.problem}"
        for dag, found in bodies.items()
        for body in found
        if body.problem
    ]
    assert problems == []


# --------------------------------------------------------------------------- planted files


PLANTED_DAG = '''
from airflow.sdk import dag, task
from include.markets_ops.airflow.links import linked_task


@dag(schedule=None)
def planted():
    @task
    def good(summary: dict, **context) -> dict:
        """Returns the summary."""
        from include.markets_ops.reconciliation import tasks

        return tasks.good(context, summary)

    @linked_task(links=[])
    def two_steps(**context) -> dict:
        from include.markets_ops.reconciliation import tasks

        day = context["params"]["business_date"]
        return tasks.two_steps(day)

    @task.branch
    def other_name(mode: str) -> str:
        from include.markets_ops.training import tasks

        return tasks.choose_path(mode)

    @task
    def logic_directly() -> list:
        from include.markets_ops.alerting.rules import rule_files

        return rule_files()
'''


def test_a_planted_dag_is_checked_task_by_task(tmp_path: Path) -> None:
    dag_file = tmp_path / "planted.py"
    dag_file.write_text(PLANTED_DAG)

    assert {body.task: body.problem for body in task_bodies(dag_file)} == {
        "good": None,
        "two_steps": "has 2 statements besides the import, not one call",
        "other_name": "calls tasks.choose_path, not tasks.other_name (the task's own name)",
        "logic_directly": "imports something else than its pipeline's tasks module",
    }


def test_planted_logic_that_sees_airflow_is_found(tmp_path: Path) -> None:
    root = tmp_path / "include" / "markets_ops"
    (root / "scoring").mkdir(parents=True)
    logic = root / "scoring" / "swap.py"
    logic.write_text(
        "def swap(plan, context):\n    from airflow.sdk import Variable\n\n    return Variable.get('x')\n"
    )
    tasks = root / "scoring" / "tasks.py"
    tasks.write_text("from airflow.sdk import Variable\n\n\ndef swap_scores(context):\n    pass\n")

    assert not sees_airflow(logic, root)
    assert sees_airflow(tasks, root)
    assert airflow_imports(logic) == ["swap.py:2 airflow.sdk"]
    assert context_parameters(logic) == ["swap.py:1 swap(context)"]
