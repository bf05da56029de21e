"""A small client for Airflow's public REST API (v2), used by the demo, the settings loader and tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests

TERMINAL_RUN_STATES = {"success", "failed"}
ANSWER_SETTLE_SECONDS = 10.0  # see AirflowApi.wait_until_asked


class AirflowApiError(RuntimeError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class AirflowApi:
    base_url: str
    username: str
    password: str
    _session: requests.Session = field(default_factory=requests.Session, repr=False)
    _token_expires: float = 0.0

    def _authorize(self) -> None:
        if time.monotonic() < self._token_expires:
            return
        response = requests.post(
            f"{self.base_url}/auth/token",
            json={"username": self.username, "password": self.password},
            timeout=30,
        )
        if response.status_code >= 400:
            raise AirflowApiError(f"login as {self.username} refused: {response.status_code} {response.text}")
        self._session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self._token_expires = time.monotonic() + 600  # tokens live 24 h by default; renew well before

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self._authorize()
        response = self._session.request(method, f"{self.base_url}/api/v2{path}", timeout=60, **kwargs)
        if response.status_code >= 400:
            raise AirflowApiError(
                f"{method} {path} -> {response.status_code}: {response.text[:2000]}", response.status_code
            )
        return response.json() if response.content else None

    # --- DAGs and runs -------------------------------------------------------------------
    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id``; fail with its import errors if any."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.request("GET", f"/dags/{dag_id}")
            except AirflowApiError as error:
                if "404" not in str(error):
                    raise
            time.sleep(2)
        errors = self.request("GET", "/importErrors")
        raise AirflowApiError(f"DAG {dag_id} did not appear within {timeout:.0f}s; import errors: {errors}")

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def reparse(self, dag_id: str) -> None:
        """What the UI's "Reparse DAG" does: the dag processor parses the DAG's file at its next
        loop (seconds) instead of after min_file_process_interval (minutes). An asset's watcher
        (a Kafka topic's) is started by a parse that finds a DAG scheduled on it unpaused, so
        a DAG unpaused to hear a topic is reparsed at once."""
        file_token = self.request("GET", f"/dags/{dag_id}/details")["file_token"]
        self.request("PUT", f"/parseDagFile/{file_token}")

    def trigger(
        self,
        dag_id: str,
        logical_date: str | None,
        conf: dict[str, Any] | None = None,
        run_id: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"logical_date": logical_date, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return str(self.request("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            time.sleep(2)
        raise AirflowApiError(f"{dag_id} run {run_id} did not finish within {timeout:.0f}s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def task_tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        """Every try of a task instance, oldest first (state, try_number, start and end)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
        return sorted(self.request("GET", path)["task_instances"], key=lambda ti: ti["try_number"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """One try's log as the UI shows it: the worker's part and the triggerer's."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        body = self.request(
            "GET", path, params={"full_content": "true"}, headers={"Accept": "application/json"}
        )
        lines = []
        for entry in body.get("content") or []:
            if isinstance(entry, dict):
                extra = {k: v for k, v in entry.items() if k not in ("timestamp", "event", "level", "logger")}
                lines.append(" ".join(str(part) for part in (entry.get("event", ""), extra or "") if part))
            else:
                lines.append(str(entry))
        return "\n".join(lines)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
        """A task instance's XCom value, or None when it pushed none under ``key``."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        try:
            return self.request("GET", path, params={"map_index": map_index})["value"]
        except AirflowApiError as error:
            if error.status == 404:
                return None
            raise

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """What a user does with "Mark as failed/success" in the UI."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        self.request("PATCH", path, json={"new_state": state})

    def failed_tasks_summary(self, dag_id: str, run_id: str) -> str:
        failed = [
            ti for ti in self.task_instances(dag_id, run_id) if ti["state"] not in ("success", "skipped")
        ]
        return ", ".join(f"{ti['task_id']}[{ti.get('map_index', -1)}]={ti['state']}" for ti in failed)

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")["state"]

    def clear_tasks(self, dag_id: str, run_id: str, task_ids: list[str]) -> None:
        """What "Clear" with "Downstream" does in the UI: the tasks run again, in the same run."""
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "include_downstream": True,
            "only_failed": False,
            "reset_dag_runs": True,
        }
        self.request("POST", f"/dags/{dag_id}/clearTaskInstances", json=body)

    # --- human-in-the-loop requests (Required Actions in the UI) ---------------------------
    def hitl_detail(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        return self.request("GET", self._hitl_path(dag_id, run_id, task_id, map_index))

    def answer(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        option: str,
        *,
        params_input: dict[str, Any] | None = None,
        map_index: int = -1,
    ) -> dict[str, Any]:
        """Answer a waiting request as this client's user (the UI's Required Actions form)."""
        body = {"chosen_options": [option], "params_input": params_input or {}}
        return self.request("PATCH", self._hitl_path(dag_id, run_id, task_id, map_index), json=body)

    def wait_until_asked(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        timeout: float = 1800,
        settle: float = ANSWER_SETTLE_SECONDS,
    ) -> bool:
        """True once ``task_id`` has waited for an answer for ``settle`` seconds; False when the run
        finished without asking.

        Why wait: on Airflow 3.3 an answer that reaches the scheduler before the exit of the process
        that parked the task in ``awaiting_input`` (seen from 1 to 6 s after it parked, on a loaded
        2-core machine) makes it take that exit for the resumed try's ("finished with state
        success, but the task instance's state is queued"): it fails the try, and the retry asks
        again. A person never answers that fast; a script waits, and ``answer_each_request``
        answers a retried request again in case the wait was not enough.
        """
        deadline = time.monotonic() + timeout
        parked_since: float | None = None
        while time.monotonic() < deadline:
            if self.task_state(dag_id, run_id, task_id) == "awaiting_input":
                parked_since = parked_since or time.monotonic()
                if time.monotonic() - parked_since >= settle:
                    return True
            else:
                parked_since = None
                if self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"] in TERMINAL_RUN_STATES:
                    return False
            time.sleep(1)
        raise AirflowApiError(f"{dag_id} run {run_id}: {task_id} did not ask within {timeout:.0f}s")

    def answer_each_request(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        option: str,
        *,
        params_input: dict[str, Any] | None = None,
        timeout: float = 1800,
    ) -> int:
        """Answer ``task_id``'s requests in the run with ``option`` until the run finishes (a retried
        task asks again, and is answered again); how many were answered."""
        answered = 0
        while self.wait_until_asked(dag_id, run_id, task_id, timeout=timeout):
            if self.hitl_detail(dag_id, run_id, task_id).get("response_received"):
                continue  # answered by someone else (the UI) a moment ago: the task is resuming
            self.answer(dag_id, run_id, task_id, option, params_input=params_input)
            answered += 1
        return answered

    @staticmethod
    def _hitl_path(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
        return f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails"

    # --- connections, variables, pools ---------------------------------------------------
    def get_variable(self, key: str) -> str | None:
        try:
            return str(self.request("GET", f"/variables/{key}")["value"])
        except AirflowApiError as error:
            if error.status == 404:
                return None
            raise

    def set_variable(self, key: str, value: str) -> None:
        self.bulk_upsert("variables", [{"key": key, "value": value}])

    def bulk_upsert(self, collection: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"actions": [{"action": "create", "entities": entities, "action_on_existence": "overwrite"}]}
        result = self.request("PATCH", f"/{collection}", json=body)
        errors = result.get("create", {}).get("errors") or []
        if errors:
            raise AirflowApiError(f"could not apply {collection}: {errors}")
        return result
