"""Who may read what: every prefix and topic maps to its producing DAG, raw inputs need more."""

from __future__ import annotations

import pytest

from include.markets_ops.dashboard import access, artifacts
from include.markets_ops.services import topics


@pytest.mark.parametrize(
    ("prefix", "needed"),
    [
        ("landing/trades/business_date=2031-07-08/trades.csv.gz", [access.operate("ops_demo_feed")]),
        ("training-sets/training_date=2031-07-08/", [access.operate("settlement_risk_training")]),
        ("scores/business_date=2031-07-08/", [access.read("settlement_risk_scoring")]),
        ("reports/recon/business_date=2031-07-08/report.html", [access.read("trade_reconciliation")]),
        ("reports/alerts/", [access.read("ops_sql_alerts")]),
        ("previews/ops_demo_feed/run/landing/x.csv.gz", [access.operate("ops_demo_feed")]),
        ("previews/trade_reconciliation/run/", [access.read("trade_reconciliation")]),
        # A folder above several areas needs them all.
        ("reports/", [access.read("trade_reconciliation"), access.read("ops_sql_alerts")]),
    ],
)
def test_each_prefix_needs_its_producing_dag(prefix: str, needed: list[access.Requirement]) -> None:
    assert list(access.requirements_for_prefix(prefix)) == needed


def test_the_raw_inputs_need_the_producing_dag_operated_not_only_read() -> None:
    raw = [area for area in access.S3_AREAS if area.requirement.reach is access.Reach.OPERATE]
    assert {area.prefix for area in raw} == {
        "landing/",
        "training-sets/",
        "previews/ops_demo_feed/",
        "previews/settlement_risk_training/",
    }


def test_every_browsable_prefix_and_topic_has_an_owner() -> None:
    for prefix in artifacts.BROWSABLE_PREFIXES:
        assert access.requirements_for_prefix(prefix)
    assert set(access.TOPIC_REQUIREMENTS) == {topic.name for topic in topics.ALL_TOPICS}


def test_what_no_area_covers_is_nobodys() -> None:
    with pytest.raises(access.NoAreaError):
        access.requirements_for_prefix("reports/other/")
    with pytest.raises(access.NoAreaError):
        access.requirement_for_topic("__consumer_offsets")


def test_the_refusal_names_the_user_the_object_and_the_permission() -> None:
    class User:
        def get_name(self) -> str:
            return "viewer"

    needed = access.requirements_for_prefix("landing/")
    refused = access.missing(lambda user, requirement: False, User(), needed)
    assert access.refusal(User(), "s3://b/landing/", refused) == (
        "user 'viewer' may not read s3://b/landing/: it needs permission to operate (edit) DAG ops_demo_feed"
    )
    assert access.read(None).describe() == "permission to read the runs of every DAG"
