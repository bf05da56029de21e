"""The REST client's answering of human-in-the-loop requests, against a scripted API: it answers
only a request that has waited a moment (an instant answer can lose Airflow's race with the
parking process's exit), and answers a retried request again until the run ends."""

from __future__ import annotations

from typing import Any

import pytest

from devstack import airflow_api
from devstack.airflow_api import AirflowApi


class ScriptedAirflow(AirflowApi):
    """Task states read in turn from ``states``; the run ends when they run out. An answer resumes
    the task, as Airflow's does: the request's remaining waiting states are skipped."""

    def __init__(self, states: list[str]) -> None:
        super().__init__("http://airflow", "op", "secret")
        self.states = states
        self.answers: list[tuple[str, Any]] = []

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if method == "PATCH" and path.endswith("/hitlDetails"):
            self.answers.append((kwargs["json"]["chosen_options"][0], kwargs["json"]["params_input"]))
            while self.states and self.states[0] == "awaiting_input":
                self.states.pop(0)
            return {}
        if path.endswith("/hitlDetails"):
            return {"response_received": False}
        if path.endswith("/taskInstances/approve"):
            return {"state": self.states.pop(0) if self.states else "success"}
        return {"state": "running" if self.states else "success"}  # the run


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 10_000))
    monkeypatch.setattr(airflow_api.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(airflow_api.time, "sleep", lambda seconds: None)


def test_a_request_is_answered_only_after_it_has_waited_a_moment() -> None:
    api = ScriptedAirflow(["running", "awaiting_input", "awaiting_input"])
    assert api.wait_until_asked("d", "r", "approve", settle=5) is False  # parked too briefly, then done
    api = ScriptedAirflow(["running"] + ["awaiting_input"] * 8)
    assert api.wait_until_asked("d", "r", "approve", settle=5) is True


def test_each_request_of_the_run_is_answered_until_the_run_ends() -> None:
    # The first answer is lost to a failed try: the retry asks again and is answered too.
    api = ScriptedAirflow(["awaiting_input"] * 8 + ["up_for_retry", "queued"] + ["awaiting_input"] * 8)
    answered = api.answer_each_request("d", "r", "approve", "Approve", params_input={"comment": "ok"})
    assert answered == 2
    assert api.answers == [("Approve", {"comment": "ok"})] * 2


def test_a_run_that_never_asks_is_not_answered() -> None:
    api = ScriptedAirflow(["skipped"])
    assert api.answer_each_request("d", "r", "approve", "Approve") == 0
    assert api.answers == []
