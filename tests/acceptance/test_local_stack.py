"""Scenarios of tests/features/local_stack.feature."""

from __future__ import annotations

from pytest_bdd import given, scenarios, then, when

scenarios("local_stack.feature")


@given("the local stack is up", target_fixture="api")
def api_of_the_running_stack(airflow_api):
    airflow_api.wait_for_dag("stack_smoke")
    return airflow_api


@when("the stack smoke DAG is triggered from the Airflow REST API", target_fixture="run")
def trigger_smoke(api):
    api.unpause("stack_smoke")
    run_id = api.trigger("stack_smoke", logical_date=None)
    return api.wait_for_run("stack_smoke", run_id, timeout=300)


@then("the run succeeds")
def run_succeeded(api, run):
    assert run["state"] == "success", api.failed_tasks_summary("stack_smoke", run["dag_run_id"])


@then("the warehouse, S3, Kafka and MLflow each answered")
def each_service_answered(api, run):
    results = {
        ti["task_id"]: api.request(
            "GET",
            f"/dags/stack_smoke/dagRuns/{run['dag_run_id']}/taskInstances/{ti['task_id']}/xcomEntries/return_value",
        )["value"]
        for ti in api.task_instances("stack_smoke", run["dag_run_id"])
    }
    assert results["warehouse_as_writer"]["user"] == "warehouse_writer"
    assert results["warehouse_as_reader"]["user"] == "reporting_reader"
    assert results["s3_round_trip"]["object"].endswith(f"{run['dag_run_id']}.json")
    assert results["kafka_round_trip"]["topic"] == "ops.stack.checks"
    assert results["mlflow_round_trip"]["artifact_uri"].startswith("mlflow-artifacts:/")
