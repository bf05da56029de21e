"""No DAG or model reads the ground truth (the `synthetic` schema), except where allowed below.

The grants enforce the rule at run time (only the upstream_feed role may touch `synthetic`;
tests/integration checks them); this guard keeps the code honest before anything runs. It
scans the project's code (DAGs, plugins, include/, the model pod, the stack's tooling) for a
SQL reference to the schema and for the credentials that reach it (the `upstream_simulator`
connection, the upstream_feed role), and fails on any outside the allow-list.

The one documented exception among the pipelines: the training DAG's
`report_ground_truth_quality` task (include/markets_ops/training/model_quality.py) reads
synthetic.trade_fail_probability to report the Bayes-optimal ROC AUC next to the model's.
It runs after the promotion gate and only logs metrics and tags: nothing it reads feeds
training, evaluation, promotion or scoring (docs/architecture.md, "Warehouse roles").

Out of scope: tests/ and benchmarks/, which are the judges (they compare results with the
truth), and the Markdown documentation.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCANNED_FOLDERS = ("dags", "plugins", "include", "model_pod", "devstack", "scripts")
SCANNED_ROOT_FILES = ("airflow_settings.yaml", "Dockerfile", "Makefile")
SCANNED_SUFFIXES = {".py", ".sql", ".yaml", ".yml", ".toml", ".cfg", ".sh", ".json", ""}
SKIPPED_PARTS = {"__pycache__", "tests"}  # model_pod/tests: the pod's own tests, judges too

GROUND_TRUTH_REFERENCES = {
    # synthetic.<table> in SQL, but not a Python module path (include.markets_ops.synthetic.x).
    "SQL reference to the synthetic schema": re.compile(r'(?<![\w.])"?synthetic"?\.[a-z_]'),
    # The schema's name as a value: schema="synthetic", sql.Identifier("synthetic", ...).
    "the synthetic schema's name": re.compile(r"""["']synthetic["']"""),
    # The generator's SQL files (include/sql/synthetic/), by path or through read_sql.
    "a ground-truth SQL file": re.compile(r"""sql/synthetic/|["']synthetic/"""),
    "the upstream simulator connection": re.compile(
        r"upstream_simulator|UPSTREAM_SIMULATOR|UPSTREAM_CONN_ID"
    ),
    "the upstream_feed role's credentials": re.compile(r"\bupstream_feed\b|UPSTREAM_FEED_(?:URL|PASSWORD)"),
}

# Where a reference is allowed: a path glob, or "path::name" for one top-level function,
# class or assignment of a Python file ("::__doc__" is the module docstring). Each says why.
ALLOWED = {
    # The data generator: it writes the truth, as the upstream_feed role.
    "include/markets_ops/synthetic/*": "the synthetic data generator writes the ground truth",
    "include/sql/synthetic/*": "the generator's SQL (COPY and DELETE of the truth, its world config)",
    "include/sql/seed/remember_indexes.sql": "the bulk seed lists the tables it writes, the truth's too",
    "include/sql/seed/analyze_seeded_tables.sql": "the bulk seed analyzes what it wrote, the truth too",
    # The feed DAG stands in for the bank's upstream systems: its first task simulates each
    # day's delivery, writing that day's truth (synthetic/upstream.py, synthetic/tasks.py, both
    # under the generator's entry above), then the feed loads only the delivered files.
    "dags/ops_demo_feed.py::__doc__": "the feed DAG's documentation names its connection",
    # The simulated custodians cut their statements from the generator's day (the same rows
    # as the feed's consolidated statement); the DAG that loads them reads only their files.
    "include/markets_ops/statements/upstream.py": "the simulated custodians cut the generator's day",
    "include/markets_ops/statements/__main__.py": "their command line, as the upstream_feed role",
    "dags/settlement_risk_training.py::__doc__": "the training DAG's documentation names its truth read",
    # The documented exception: the Bayes-optimal AUC report, after the promotion gate.
    "include/markets_ops/training/model_quality.py": (
        "reads synthetic.trade_fail_probability for the report only"
    ),
    "include/markets_ops/training/tasks.py::report_ground_truth_quality": (
        "resolves the connection for that report only"
    ),
    "include/markets_ops/services/postgres.py::UPSTREAM_CONN_ID": "declares the connection id",
    # The schema, its tables and the grants that keep every other role out of it.
    "include/markets_ops/warehouse/models.py": "declares the synthetic tables (the schema's source of truth)",
    "include/markets_ops/warehouse/migrations/versions/*": "create the schema; grant it to upstream_feed",
    # The local stack creates the role and its connection; the demo seeds through the generator.
    "devstack/config.py::ROLES": "the upstream_feed role among the stack's roles",
    "devstack/postgres.py::ensure_roles_and_databases": "creates the role and lets it connect",
    "devstack/postgres.py::WAREHOUSE_ROLES": "scratch databases get the same roles",
    "devstack/stack_env.py::stack_values": "the role's URL for the generator's CLI",
    "devstack/stack_env.py::connection_env": "AIRFLOW_CONN_UPSTREAM_SIMULATOR for the stack",
    "devstack/demo.py::seed_history": "seeds the history through the generator",
    "airflow_settings.yaml": "declares the upstream_simulator connection for the local Airflow",
}


@dataclass(frozen=True)
class Reference:
    path: str  # relative to the repository
    line: int
    scope: str  # the top-level name the line belongs to ("" outside any)
    kind: str
    text: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" + (f" ({self.scope})" if self.scope else "")
        return f"{where}: {self.kind}: {self.text.strip()[:120]}"


def scanned_files(root: Path = REPO) -> list[Path]:
    files = [root / name for name in SCANNED_ROOT_FILES if (root / name).exists()]
    for folder in SCANNED_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            relative_parts = set(path.relative_to(root).parts)
            if (
                path.is_file()
                and path.suffix in SCANNED_SUFFIXES
                and not relative_parts & SKIPPED_PARTS
                and not any(part.endswith(".egg-info") for part in relative_parts)
            ):
                files.append(path)
    return files


def _scopes(source: str) -> dict[int, str]:
    """line -> name of the top-level statement it belongs to (Python files)."""
    scopes: dict[int, str] = {}
    tree = ast.parse(source)
    for index, node in enumerate(tree.body):
        name = ""
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = node.name
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            name = ",".join(target.id for target in targets if isinstance(target, ast.Name))
        elif index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            name = "__doc__"
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        for line in range(first, (node.end_lineno or node.lineno) + 1):
            scopes[line] = name
    return scopes


def references(root: Path = REPO) -> list[Reference]:
    found = []
    for path in scanned_files(root):
        text = path.read_text(errors="replace")
        scopes = _scopes(text) if path.suffix == ".py" else {}
        for number, line in enumerate(text.splitlines(), start=1):
            for kind, pattern in GROUND_TRUTH_REFERENCES.items():
                if pattern.search(line):
                    found.append(
                        Reference(str(path.relative_to(root)), number, scopes.get(number, ""), kind, line)
                    )
    return found


def allowed_by(reference: Reference) -> str | None:
    """The allow-list entry that covers a reference, if any."""
    for entry in ALLOWED:
        pattern, _, scope = entry.partition("::")
        if fnmatch.fnmatch(reference.path, pattern) and (not scope or scope == reference.scope):
            return entry
    return None


def test_nothing_outside_the_allow_list_refers_to_the_ground_truth() -> None:
    outside = [str(reference) for reference in references() if allowed_by(reference) is None]
    assert outside == []


def test_the_model_pod_never_refers_to_the_ground_truth() -> None:
    in_the_pod = [str(reference) for reference in references() if reference.path.startswith("model_pod/")]
    assert in_the_pod == []
    assert not [entry for entry in ALLOWED if entry.startswith("model_pod")]
    assert any(path.parts[-2:] == ("settlement_model", "cli.py") for path in scanned_files())  # it is scanned


def test_the_model_jobs_get_only_roles_that_cannot_read_the_ground_truth() -> None:
    # The pods' database credentials: the writer (score) or the reader (training jobs),
    # neither of which the grants let into the synthetic schema.
    from include.markets_ops.jobs.spec import JOBS
    from include.markets_ops.services import postgres

    conn_ids = {spec.database_conn_id for spec in JOBS.values()}
    assert conn_ids <= {postgres.WAREHOUSE_CONN_ID, postgres.REPORTING_CONN_ID, None}
    assert postgres.UPSTREAM_CONN_ID not in conn_ids


def test_every_allow_list_entry_is_still_needed() -> None:
    # A stale entry would silently allow new code there: each must cover a reference today.
    used = {allowed_by(reference) for reference in references()}
    assert [entry for entry in ALLOWED if entry not in used] == []


def test_the_scanner_finds_a_planted_read_and_scopes_it_to_its_function(tmp_path: Path) -> None:
    pod = tmp_path / "model_pod" / "settlement_model"
    pod.mkdir(parents=True)
    (pod / "features.py").write_text(
        '"""Features."""\n\n\ndef leak(conn):\n'
        '    return conn.execute("SELECT p_fail FROM synthetic.trade_fail_probability")\n'
    )
    training = tmp_path / "include" / "markets_ops" / "training"
    training.mkdir(parents=True)
    (training / "tasks.py").write_text(
        "from include.markets_ops.synthetic.config import GeneratorConfig  # a module path: fine\n\n\n"
        "def report_ground_truth_quality():\n    return postgres.UPSTREAM_CONN_ID\n\n\n"
        "def build_training_set():\n    return connections.postgres_url(postgres.UPSTREAM_CONN_ID)\n"
    )

    found = references(tmp_path)

    assert [(r.path, r.line, r.scope, r.kind) for r in found] == [
        (
            "include/markets_ops/training/tasks.py",
            5,
            "report_ground_truth_quality",
            "the upstream simulator connection",
        ),
        (
            "include/markets_ops/training/tasks.py",
            9,
            "build_training_set",
            "the upstream simulator connection",
        ),
        ("model_pod/settlement_model/features.py", 5, "leak", "SQL reference to the synthetic schema"),
    ]
    assert [allowed_by(r) for r in found] == [
        "include/markets_ops/training/tasks.py::report_ground_truth_quality",
        None,
        None,
    ]


def test_the_ground_truth_report_runs_after_the_gate_and_feeds_nothing() -> None:
    # The exception holds only while the report cannot influence a decision: it comes
    # after the promotion gate and no task depends on it.
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=REPO / "dags" / "settlement_risk_training.py")
    assert bag.import_errors == {}
    dag = bag.dags["settlement_risk_training"]
    report = dag.get_task("report_ground_truth_quality")

    assert report.downstream_task_ids == set()
    assert "promotion_gate" in report.upstream_task_ids
    ancestors = {task.task_id for task in report.get_flat_relatives(upstream=True)}
    assert {"build_training_set", "train_model", "evaluate_challenger"} <= ancestors
