"""The plugin asks Airflow's auth manager: with the simple auth manager's roles, Viewer reads
what the DAGs publish but not their raw inputs; User, Op and Admin read both."""

from __future__ import annotations

import pytest

from include.markets_ops.dashboard import access


@pytest.fixture(scope="module")
def manager():  # type: ignore[no-untyped-def]
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    return SimpleAuthManager()


def user(role: str):  # type: ignore[no-untyped-def]
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return SimpleAuthManagerUser(username=role.lower(), role=role)


@pytest.mark.parametrize(
    ("role", "reads_published", "reads_raw"),
    [("VIEWER", True, False), ("USER", True, True), ("OP", True, True), ("ADMIN", True, True)],
)
def test_each_role_against_the_declared_mapping(
    manager, role: str, reads_published: bool, reads_raw: bool
) -> None:  # type: ignore[no-untyped-def]
    from plugins.ops_dashboard import authorize_with

    for area in access.S3_AREAS:
        expected = reads_raw if area.requirement.reach is access.Reach.OPERATE else reads_published
        assert authorize_with(manager, user(role), area.requirement) is expected, (role, area.prefix)
    for topic, requirement in access.TOPIC_REQUIREMENTS.items():
        assert authorize_with(manager, user(role), requirement) is reads_published, (role, topic)


def test_the_questions_asked_are_airflows_dag_permissions() -> None:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    from plugins.ops_dashboard import authorize_with

    class Recorder:
        def __init__(self) -> None:
            self.asked: list[dict[str, object]] = []

        def is_authorized_dag(self, **kwargs: object) -> bool:
            self.asked.append(kwargs)
            return True

    recorder = Recorder()
    authorize_with(recorder, "u", access.operate("ops_demo_feed"))
    authorize_with(recorder, "u", access.read("trade_reconciliation"))
    authorize_with(recorder, "u", access.read(None))
    operate, read_one, read_all = recorder.asked
    assert operate["method"] == "PUT"
    assert operate["details"].id == "ops_demo_feed"
    assert "access_entity" not in operate
    assert read_one["method"] == "GET"
    assert read_one["access_entity"] is DagAccessEntity.RUN
    assert read_one["details"].id == "trade_reconciliation"  # type: ignore[union-attr]
    assert read_all["details"] is None
