"""The model jobs' own OpenLineage runs: children of the Airflow task that started them, START
then COMPLETE or FAIL, with the datasets each job reads and writes, and never a failed job
because of lineage. The events go through the real OpenLineage client to a recording transport
(or, once, a Kafka transport whose broker does not answer)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Transport
from settlement_model import cli, contract, lineage, lineage_names
from settlement_model.lineage_names import registered_model, s3_object, table, topic

TASK_RUN = "019a0000-0000-7000-8000-000000000001"
DAG_RUN = "019a0000-0000-7000-8000-000000000002"
PARENT = f"markets-ops/settlement_risk_scoring.score_shard/{TASK_RUN}"
ROOT = f"markets-ops/settlement_risk_scoring/{DAG_RUN}"
KAFKA_CONFIG = {
    "transport": {"type": "kafka", "topic": "openlineage.events", "config": {"bootstrap.servers": "k:1"}}
}
JOB = "settlement_risk_scoring.score_shard.score"
SCORE = [
    "score",
    "--business-date",
    "2026-11-20",
    "--run-id",
    "scheduled__2026-11-20T22:00:00+00:00",
    "--attempt",
    "a1",
    "--shard-index",
    "1",
    "--shard-count",
    "4",
    "--high-risk-threshold",
    "0.3",
    "--medium-risk-threshold",
    "0.1",
]


class RecordingTransport(Transport):
    kind = "recording"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.closed = False

    def emit(self, event: Any) -> None:
        self.events.append(json.loads(Serde.to_json(event)))  # as the broker would get it

    def close(self, timeout: float = -1) -> bool:
        self.closed = True
        return True


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> RecordingTransport:
    """Lineage on, the task's run as parent; the client built from the config goes to a recorder."""
    for name in contract.CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(lineage.CONFIG_VARIABLE, json.dumps(KAFKA_CONFIG))
    monkeypatch.setenv(lineage.PARENT_VARIABLE, PARENT)
    monkeypatch.setenv(lineage.ROOT_PARENT_VARIABLE, ROOT)
    monkeypatch.setenv("S3_BUCKET", "markets-ops")
    transport = RecordingTransport()
    monkeypatch.setattr(lineage, "new_client", lambda config: OpenLineageClient(transport=transport))
    return transport


# --- parents and names ------------------------------------------------------------------------


def test_a_parent_id_is_split_from_the_right_as_the_providers_macros_join_it() -> None:
    parent = lineage.RunReference.parse(PARENT)
    assert parent == lineage.RunReference("markets-ops", "settlement_risk_scoring.score_shard", TASK_RUN)
    # Only the job name and the run id are known to hold no "/": the namespace keeps the rest.
    odd = lineage.RunReference.parse(f"airflow://prod/ops/dag.task/{TASK_RUN}")
    assert (odd.namespace, odd.name) == ("airflow://prod/ops", "dag.task")


@pytest.mark.parametrize(
    "value", ["", "markets-ops/dag.task", f"/dag.task/{TASK_RUN}", "markets-ops/dag.task/not-a-uuid"]
)
def test_a_malformed_parent_id_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"expected|not enough values|badly formed"):
        lineage.RunReference.parse(value)


def test_a_parent_that_cannot_be_read_is_left_out_and_a_root_needs_a_parent() -> None:
    assert lineage.parent_runs({lineage.PARENT_VARIABLE: "garbage", lineage.ROOT_PARENT_VARIABLE: ROOT}) == (
        None,
        None,
    )
    parent, root = lineage.parent_runs({lineage.PARENT_VARIABLE: PARENT, lineage.ROOT_PARENT_VARIABLE: "x"})
    assert parent is not None
    assert parent.run_id == TASK_RUN
    assert root is None


def test_the_job_is_named_under_its_task_or_as_the_packages_job_when_run_by_hand() -> None:
    parent = lineage.RunReference.parse(PARENT)
    assert lineage.job_identity("score", parent) == (
        "markets-ops",
        "settlement_risk_scoring.score_shard.score",
    )
    assert lineage.job_identity("train", None) == (lineage_names.JOB_NAMESPACE, "settlement_model.train")


@pytest.mark.parametrize("raw", ["", "not json", "[]", "{}", '{"transport": {"topic": "t"}}'])
def test_no_usable_config_turns_lineage_off(raw: str) -> None:
    # {} or a transport without a type would make the client print every event on stdout.
    assert lineage.client_config({lineage.CONFIG_VARIABLE: raw}) is None


# --- events -----------------------------------------------------------------------------------


def test_a_job_emits_start_then_complete_as_a_child_of_its_task_with_its_datasets(
    recorded: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cli.JOBS, "score", lambda args: {"rows": 3})
    assert cli.main(SCORE) == contract.EXIT_OK
    start, complete = recorded.events
    assert [start["eventType"], complete["eventType"]] == ["START", "COMPLETE"]
    assert start["run"]["runId"] == complete["run"]["runId"]
    assert uuid.UUID(start["run"]["runId"]).version == 7
    assert start["job"]["namespace"] == "markets-ops"
    assert start["job"]["name"] == "settlement_risk_scoring.score_shard.score"
    assert start["job"]["facets"]["jobType"]["integration"] == "settlement_model"
    parent = start["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == TASK_RUN
    assert (parent["job"]["namespace"], parent["job"]["name"]) == (
        "markets-ops",
        "settlement_risk_scoring.score_shard",
    )
    assert parent["root"]["run"]["runId"] == DAG_RUN
    assert (parent["root"]["job"]["namespace"], parent["root"]["job"]["name"]) == (
        "markets-ops",
        "settlement_risk_scoring",
    )
    for event in (start, complete):
        assert {(d["namespace"], d["name"]) for d in event["inputs"]} == {
            (table("ops.trades").namespace, "warehouse.ops.trades"),
            (table("ops.instruments").namespace, "warehouse.ops.instruments"),
            (table("ops.counterparties").namespace, "warehouse.ops.counterparties"),
            (table("ops.settlement_outcomes").namespace, "warehouse.ops.settlement_outcomes"),
            (
                table("ops.counterparty_settlement_days").namespace,
                "warehouse.ops.counterparty_settlement_days",
            ),
            (lineage_names.MLFLOW_NAMESPACE, contract.DEFAULT_MODEL_NAME),
        }
        assert {(d["namespace"], d["name"]) for d in event["outputs"]} == {
            (table("ml.trade_scores").namespace, "warehouse.ml.trade_scores"),
            ("s3://markets-ops", "scores"),
            (topic("settlement-risk.high").namespace, "settlement-risk.high"),
        }
    assert recorded.closed


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (contract.RefusedError("model settlement_fail_risk has no alias 'champion'"), contract.EXIT_REFUSED),
        (contract.ContractError("missing environment variable(s) DATABASE_URL"), contract.EXIT_USAGE),
    ],
)
def test_a_refused_or_misconfigured_job_emits_fail_with_its_reason(
    recorded: RecordingTransport, monkeypatch: pytest.MonkeyPatch, error: Exception, code: int
) -> None:
    def fail(_args: object) -> None:
        raise error

    monkeypatch.setitem(cli.JOBS, "score", fail)
    assert cli.main(SCORE) == code
    assert [event["eventType"] for event in recorded.events] == ["START", "FAIL"]
    assert str(error) in recorded.events[1]["run"]["facets"]["errorMessage"]["message"]


def test_an_unexpected_error_emits_fail_and_goes_on(recorded: RecordingTransport) -> None:
    with pytest.raises(ConnectionError), lineage.job_run("train", lineage.Datasets):
        raise ConnectionError("mlflow is down")
    assert [event["eventType"] for event in recorded.events] == ["START", "FAIL"]
    assert recorded.events[1]["job"]["name"] == "settlement_risk_scoring.score_shard.train"


def test_a_run_started_by_hand_has_no_parent(
    recorded: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(lineage.PARENT_VARIABLE)
    monkeypatch.delenv(lineage.ROOT_PARENT_VARIABLE)
    with lineage.job_run("evaluate", lineage.Datasets):
        pass
    job = recorded.events[0]["job"]
    assert (job["namespace"], job["name"]) == (lineage_names.JOB_NAMESPACE, "settlement_model.evaluate")
    assert "parent" not in recorded.events[0]["run"]["facets"]


def test_without_the_config_no_client_is_built_and_nothing_is_emitted(
    recorded: RecordingTransport, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(lineage.CONFIG_VARIABLE)

    def no_client(config: object) -> None:
        raise AssertionError("no client may be built without the config")

    monkeypatch.setattr(lineage, "new_client", no_client)
    caplog.set_level("INFO", logger=lineage.__name__)
    with lineage.job_run("score", lineage.Datasets):
        pass
    assert recorded.events == []
    assert [r.message for r in caplog.records].count(
        f"lineage: {lineage.CONFIG_VARIABLE} is not set; this run emits no OpenLineage events"
    ) == 1


def test_the_version_command_emits_nothing(
    recorded: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cli.JOBS, "version", lambda args: "1.0")
    assert cli.main(["version"]) == contract.EXIT_OK
    assert recorded.events == []


class BrokenClient:
    def emit(self, event: object) -> None:
        raise RuntimeError("the transport is broken")

    def close(self, timeout: float = -1) -> bool:
        raise RuntimeError("the transport is still broken")


def test_emission_that_raises_never_fails_the_job(
    recorded: RecordingTransport, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lineage, "new_client", lambda config: BrokenClient())
    monkeypatch.setitem(cli.JOBS, "score", lambda args: {"rows": 3})
    assert cli.main(SCORE) == contract.EXIT_OK
    log = capsys.readouterr().out  # the job logs to stdout
    for state in ("START", "COMPLETE"):
        assert f"WARNING {lineage.__name__}: lineage: the {state} event of {JOB} was not sent" in log
    assert 'RESULT {"rows": 3}' in log


def test_a_client_that_cannot_be_built_turns_lineage_off(
    recorded: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(config: object) -> None:
        raise ModuleNotFoundError("confluent_kafka")

    monkeypatch.setattr(lineage, "new_client", broken)
    monkeypatch.setitem(cli.JOBS, "score", lambda args: {"rows": 3})
    assert cli.main(SCORE) == contract.EXIT_OK


def test_datasets_that_cannot_be_named_leave_the_events_without_datasets(
    recorded: RecordingTransport,
) -> None:
    def unnamed() -> lineage.Datasets:
        raise ValueError("no bucket")

    with lineage.job_run("train", unnamed):
        pass
    assert [(e["eventType"], e["inputs"], e["outputs"]) for e in recorded.events] == [
        ("START", [], []),
        ("COMPLETE", [], []),
    ]


JOB_WITH_LINEAGE = """
import sys
from settlement_model import cli
cli.JOBS["score"] = lambda args: {"rows": 0}
code = cli.main(sys.argv[1:])
print("airflow imported:", "airflow" in sys.modules)
sys.exit(code)
"""


def test_a_broker_that_does_not_answer_costs_each_event_at_most_its_timeout() -> None:
    """The project's transport, nobody listening and no outbox, in the job's own process (the
    local runtime's interpreter, which has Airflow): the job goes on, each event logged whole,
    and Airflow is not imported into it."""
    config = {
        "transport": {
            "type": "settlement_model.lineage_transport.KafkaWithOutboxTransport",
            "topic": "openlineage.events",
            "config": {"bootstrap.servers": "127.0.0.1:1"},
            "delivery_timeout_seconds": 0.5,
        }
    }
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-c", JOB_WITH_LINEAGE, *SCORE],
        env={
            "PYTHONPATH": str(Path(cli.__file__).resolve().parents[1]),
            "PATH": "/usr/bin:/bin",
            lineage.CONFIG_VARIABLE: json.dumps(config),
            lineage.PARENT_VARIABLE: PARENT,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == contract.EXIT_OK, completed.stdout + completed.stderr
    # Each event waits its 0.5 s (librdkafka checks timeouts once a second), never the 5 minutes
    # of librdkafka's default.
    assert time.monotonic() - started < 15
    assert completed.stdout.count("LINEAGE EVENT LOST") == 2  # START and COMPLETE, logged whole
    assert "airflow imported: False" in completed.stdout


# --- what each job declares -------------------------------------------------------------------


def _declared(argv: list[str], **environ: str) -> lineage.Datasets:
    args = cli.build_parser().parse_args(argv)
    env = contract.JobEnvironment.from_environ((), {"S3_BUCKET": "markets-ops", **environ})
    return cli.DATASETS[args.job](args, env)


FEATURES = tuple(table(name) for name in cli.FEATURE_TABLES)
MODEL = registered_model(contract.DEFAULT_MODEL_NAME)
TRAINING_SETS = s3_object("markets-ops", "training-sets/training_date=2026-11-20/train.parquet")


def test_every_job_but_version_declares_its_datasets() -> None:
    assert set(cli.DATASETS) == set(cli.JOBS) - {"version"}


def test_the_training_jobs_datasets() -> None:
    assert lineage_names.DatasetName("s3://markets-ops", "training-sets") == TRAINING_SETS
    build = _declared(["build-training-set", "--training-date", "2026-11-20"])
    assert (build.inputs, build.outputs) == (FEATURES, (TRAINING_SETS,))
    train = _declared(["train", "--training-date", "2026-11-20"], MLFLOW_MODEL_NAME="fail_risk_test")
    assert (train.inputs, train.outputs) == ((TRAINING_SETS,), (registered_model("fail_risk_test"),))
    evaluate = _declared(["evaluate", "--training-date", "2026-11-20"])
    assert (evaluate.inputs, evaluate.outputs) == ((TRAINING_SETS, MODEL), (MODEL,))


def test_scoring_with_a_shadow_challenger_also_writes_the_shadow_scores() -> None:
    declared = _declared([*SCORE, "--shadow-version", "13", "--topic", "risk.test"])
    assert declared.inputs == (*FEATURES, MODEL)
    assert declared.outputs == (
        table("ml.trade_scores"),
        s3_object("markets-ops", contract.part_key(dt.date(2026, 11, 20), "a1", 1, 4)),
        topic("risk.test"),
        table("ml.shadow_scores"),
    )


def test_a_dry_run_declares_no_output() -> None:
    declared = _declared([*SCORE, "--dry-run"])
    assert declared.inputs == (*FEATURES, MODEL)
    assert declared.outputs == ()  # only a work table kept for inspection


def test_the_feature_tables_are_the_ones_the_jobs_sql_reads() -> None:
    sql = Path(cli.__file__).resolve().parent / "sql"
    named = {
        name
        for path in sql.glob("*.sql")
        # The scores' own table, written not read, and the lineage transport's outbox.
        if path.name not in ("delete_shard_slice.sql", "store_lineage_event.sql")
        for name in re.findall(r"\bops\.\w+", path.read_text())
    }
    assert set(cli.FEATURE_TABLES) == named
