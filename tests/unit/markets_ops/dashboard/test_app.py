"""The dashboard app's routes: a user is required and authorized per producing DAG, dates and
keys are checked, no docs routes, security headers, unreachable services answer 503."""

from __future__ import annotations

import time

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from include.markets_ops.dashboard import access
from include.markets_ops.dashboard.app import ArtifactSources, create_app


def allow_all(user: object, requirement: access.Requirement) -> bool:
    return True


def refuse() -> None:
    raise HTTPException(status_code=401, detail="Not authenticated")


def no_artifacts() -> ArtifactSources:
    def unused() -> None:
        raise AssertionError("an unauthorized or refused request reached S3 or Kafka")

    return ArtifactSources(s3_client=unused, bucket=lambda: "markets-ops", kafka_config=unused)  # type: ignore[arg-type]


ROUTES = ("/", "/api/summary", "/s3?prefix=scores/", "/s3/object?key=scores/x", "/kafka?topic=ops.alerts")


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_requires_a_user(path: str) -> None:
    client = TestClient(
        create_app(connect=lambda: None, require_user=refuse, authorize=allow_all, artifacts=no_artifacts())
    )
    assert client.get(path).status_code == 401


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
def test_no_api_docs_routes_even_for_a_user(path: str) -> None:
    client = TestClient(create_app(connect=lambda: None, require_user=lambda: "admin", authorize=allow_all))
    assert client.get(path).status_code == 404


def test_a_malformed_date_is_refused_with_a_message() -> None:
    client = TestClient(create_app(connect=lambda: None, require_user=lambda: None, authorize=allow_all))
    response = client.get("/api/summary", params={"business_date": "30/10/2026"})
    assert response.status_code == 422
    assert "YYYY-MM-DD" in response.text


class ScoringReader:
    """A user allowed to read the scoring DAG's runs and to operate the feed, nothing else."""

    granted = frozenset({access.read(access.SCORING_DAG), access.operate(access.FEED_DAG)})

    def __call__(self, user: object, requirement: access.Requirement) -> bool:
        return requirement in self.granted


@pytest.mark.parametrize(
    ("path", "needed"),
    [
        ("/", "DAG trade_reconciliation; permission to read the runs of DAG ops_sql_alerts"),
        ("/s3?prefix=training-sets/", "permission to operate (edit) DAG settlement_risk_training"),
        (
            "/s3/object?key=reports/recon/business_date=2031-07-08/breaks.csv",
            "read the runs of DAG trade_reconciliation",
        ),
        (
            "/s3?prefix=reports/",
            "DAG trade_reconciliation; permission to read the runs of DAG ops_sql_alerts",
        ),
        ("/kafka?topic=ops.recon.summary", "permission to read the runs of DAG trade_reconciliation"),
        ("/kafka?topic=ops.airflow.events", "permission to read the runs of every DAG"),
    ],
)
def test_what_the_user_may_not_read_is_refused_naming_the_permission(path: str, needed: str) -> None:
    client = TestClient(
        create_app(
            connect=lambda: None,
            require_user=lambda: "ana",
            authorize=ScoringReader(),
            artifacts=no_artifacts(),
        )
    )
    response = client.get(path)
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert detail.startswith("user 'ana' may not read ")
    assert needed in detail


def test_what_the_user_may_read_is_served() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="markets-ops")
        s3.put_object(Bucket="markets-ops", Key="scores/business_date=2031-07-08/part-0.parquet", Body=b"x")
        s3.put_object(
            Bucket="markets-ops", Key="landing/trades/business_date=2031-07-08/trades.csv.gz", Body=b"y"
        )
        sources = ArtifactSources(s3_client=lambda: s3, bucket=lambda: "markets-ops", kafka_config=dict)
        client = TestClient(
            create_app(
                connect=lambda: None, require_user=lambda: "ana", authorize=ScoringReader(), artifacts=sources
            )
        )
        assert "part-0.parquet" in client.get("/s3", params={"prefix": "scores/"}).text
        landing = client.get("/s3/object/landing/trades/business_date=2031-07-08/trades.csv.gz")
        assert landing.content == b"y"


def test_a_key_with_relative_parts_is_a_400_naming_the_rule() -> None:
    client = TestClient(
        create_app(
            connect=lambda: None, require_user=lambda: "ana", authorize=allow_all, artifacts=no_artifacts()
        )
    )
    for response in (
        client.get("/s3/object", params={"key": "reports/recon/./breaks.csv"}),
        client.get("/s3", params={"prefix": "scores/../landing/"}),
    ):
        assert response.status_code == 400
        assert "may not contain" in response.json()["detail"]


def test_security_headers_on_pages_errors_and_data() -> None:
    client = TestClient(
        create_app(
            connect=lambda: None, require_user=lambda: "ana", authorize=allow_all, artifacts=no_artifacts()
        )
    )
    for response in (
        client.get("/api/summary", params={"business_date": "x"}),
        client.get("/s3", params={"prefix": "secrets/"}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "SAMEORIGIN"
        assert response.headers["cache-control"] == "no-store"
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'self'" in policy
        assert "script-src" not in policy


def unreachable_s3() -> object:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})
    return boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        aws_access_key_id="k",
        aws_secret_access_key="s",  # pragma: allowlist secret
        region_name="us-east-1",
        config=config,
    )


def test_unreachable_services_answer_503_naming_them() -> None:
    import psycopg

    def warehouse() -> object:
        return psycopg.connect("host=127.0.0.1 port=9 dbname=x user=x connect_timeout=1")

    s3 = unreachable_s3()  # built before any timing: creating a client is slow on a busy machine
    sources = ArtifactSources(
        s3_client=lambda: s3,
        bucket=lambda: "markets-ops",
        kafka_config=lambda: {"bootstrap.servers": "127.0.0.1:9"},
    )
    client = TestClient(
        create_app(connect=warehouse, require_user=lambda: "ana", authorize=allow_all, artifacts=sources)
    )
    cases = {
        "/api/summary": "the warehouse is unavailable",
        "/s3?prefix=scores/": "S3 is unavailable",
        "/s3/object?key=scores/x.parquet": "S3 is unavailable",
        "/kafka?topic=ops.alerts": "Kafka is unavailable",
    }
    for path, message in cases.items():
        started = time.monotonic()
        response = client.get(path)
        assert response.status_code == 503, (path, response.text)
        assert message in response.json()["detail"]
        if path.startswith("/kafka"):  # the page's own bound (S3's and the warehouse's are the clients')
            assert time.monotonic() - started < 6
