"""The dashboard's S3 and Kafka pages: allow-lists, filters, listing (moto S3) and escaping."""

from __future__ import annotations

import pytest

from include.markets_ops.dashboard import artifacts


def allow_all(user: object, requirement: object) -> bool:
    return True


@pytest.mark.parametrize("prefix", ["reports/recon/business_date=2031-07-08/", "previews/ops_demo_feed/r/"])
def test_pipeline_prefixes_are_browsable(prefix: str) -> None:
    assert artifacts.check_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["", "secrets/", "mlflow/artifacts/"])
def test_other_prefixes_are_not(prefix: str) -> None:
    with pytest.raises(artifacts.NotBrowsableError):
        artifacts.check_prefix(prefix)


@pytest.mark.parametrize(
    "key",
    [
        "reports/../secrets/",
        "landing/./trades.csv",
        "scores/business_date=2031-07-08/..",
        "reports/recon//x",
        "reports/recon/.",
        "reports\\..\\secrets",
    ],
)
def test_keys_with_relative_parts_are_malformed_whatever_the_prefix(key: str) -> None:
    with pytest.raises(artifacts.MalformedKeyError, match="relative path parts"):
        artifacts.check_prefix(key)


def test_only_project_topics_are_browsable() -> None:
    assert artifacts.check_topic("ops.recon.summary") == "ops.recon.summary"
    with pytest.raises(artifacts.NotBrowsableError):
        artifacts.check_topic("__consumer_offsets")


def test_messages_of_a_business_date_by_value_or_key() -> None:
    assert artifacts.matches("T1", {"business_date": "2031-07-08"}, "2031-07-08", None)
    assert artifacts.matches("2031-07-08", {"open_breaks": 2}, "2031-07-08", None)
    assert not artifacts.matches("T1", {"business_date": "2031-07-09"}, "2031-07-08", None)
    assert artifacts.matches("m/run/3/promoted", {}, None, "m/run/3/promoted")
    assert not artifacts.matches("m/run/3/rejected", {}, None, "m/run/3/promoted")


def test_listing_under_a_prefix_with_moto() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="markets-ops")
        for key in (
            "reports/recon/business_date=2031-07-08/breaks.csv",
            "reports/recon/business_date=2031-07-09/x",
        ):
            s3.put_object(Bucket="markets-ops", Key=key, Body=b"abc")
        listed = artifacts.list_objects(s3, "markets-ops", "reports/recon/business_date=2031-07-08/")
    assert [(o.key, o.size) for o in listed] == [("reports/recon/business_date=2031-07-08/breaks.csv", 3)]


def test_pages_escape_keys_and_values() -> None:
    page = artifacts.render_objects("b", "reports/", [artifacts.S3Object("reports/<x>.csv", 1, "2031-07-08")])
    assert "&lt;x&gt;" in page
    assert "<x>" not in page
    message = artifacts.KafkaMessage(0, 5, "2031-07-08T00:00:00+00:00", "<k>", {"v": "<script>"})
    page = artifacts.render_messages("ops.alerts", "2031-07-08", None, [message])
    assert "<script>" not in page
    assert "&lt;k&gt;" in page
    assert "business date 2031-07-08" in page


def test_the_pages_refuse_other_buckets_and_prefixes_and_download_objects() -> None:
    import boto3
    from fastapi.testclient import TestClient
    from moto import mock_aws

    from include.markets_ops.dashboard.app import ArtifactSources, create_app

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="markets-ops")
        s3.put_object(
            Bucket="markets-ops", Key="reports/recon/business_date=2031-07-08/breaks.csv", Body=b"a,b\n"
        )
        sources = ArtifactSources(s3_client=lambda: s3, bucket=lambda: "markets-ops", kafka_config=dict)
        client = TestClient(
            create_app(
                connect=lambda: None, require_user=lambda: "user", authorize=allow_all, artifacts=sources
            )
        )

        page = client.get("/s3", params={"bucket": "markets-ops", "prefix": "reports/recon/"})
        assert page.status_code == 200
        assert "breaks.csv" in page.text
        download = client.get(
            "/s3/object", params={"key": "reports/recon/business_date=2031-07-08/breaks.csv"}
        )
        assert download.content == b"a,b\n"
        assert 'filename="breaks.csv"' in download.headers["content-disposition"]
        assert client.get("/s3/object", params={"key": "reports/recon/none.csv"}).status_code == 404
        assert client.get("/s3", params={"bucket": "other", "prefix": "reports/"}).status_code == 404
        assert client.get("/s3", params={"prefix": "secrets/"}).status_code == 404
        assert client.get("/kafka", params={"topic": "__consumer_offsets"}).status_code == 404
        assert (
            client.get("/kafka", params={"topic": "ops.alerts", "business_date": "08/07/2031"}).status_code
            == 422
        )


def test_reports_open_in_the_browser_locked_down_and_their_relative_links_resolve() -> None:
    import boto3
    from fastapi.testclient import TestClient
    from moto import mock_aws

    from include.markets_ops.dashboard.app import ArtifactSources, create_app

    folder = "reports/recon/business_date=2031-07-08/"
    page = b"<!DOCTYPE html><html><body><svg role='img'></svg><a href='breaks.csv'>csv</a></body></html>"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="markets-ops")
        for name, body in (("report.html", page), ("breaks.csv", b"a,b\n"), ("manifest.json", b"{}")):
            s3.put_object(Bucket="markets-ops", Key=f"{folder}{name}", Body=body)
        s3.put_object(Bucket="markets-ops", Key="secrets/page.html", Body=page)
        sources = ArtifactSources(s3_client=lambda: s3, bucket=lambda: "markets-ops", kafka_config=dict)
        client = TestClient(
            create_app(
                connect=lambda: None, require_user=lambda: "user", authorize=allow_all, artifacts=sources
            )
        )

        listing = client.get("/s3", params={"prefix": folder})
        assert f"href='s3/object/{folder}report.html'" in listing.text

        for report in (
            client.get("/s3/object", params={"key": f"{folder}report.html"}),
            client.get(f"/s3/object/{folder}report.html"),
        ):
            assert report.status_code == 200
            assert report.content == page
            assert report.headers["content-type"] == "text/html; charset=utf-8"
            assert report.headers["content-disposition"] == 'inline; filename="report.html"'
            assert report.headers["x-content-type-options"] == "nosniff"
            policy = report.headers["content-security-policy"]
            assert "default-src 'none'" in policy
            assert "sandbox allow-downloads" in policy  # no allow-scripts: no script runs
            assert "script-src" not in policy

        # The page's relative link, resolved against its path URL, is its neighbour, downloaded.
        csv = client.get(f"/s3/object/{folder}breaks.csv")
        assert csv.content == b"a,b\n"
        assert csv.headers["content-type"] == "text/csv; charset=utf-8"
        assert csv.headers["content-disposition"] == 'attachment; filename="breaks.csv"'
        manifest = client.get(f"/s3/object/{folder}manifest.json")
        assert manifest.headers["content-type"] == "application/json"
        assert manifest.headers["content-disposition"].startswith("inline;")

        # Only the project's prefixes, by query or by path, traversal included.
        assert client.get("/s3/object", params={"key": "secrets/page.html"}).status_code == 404
        assert client.get("/s3/object/secrets/page.html").status_code == 404
        traversal = client.get(f"/s3/object/{folder}%2e%2e/%2e%2e/%2e%2e/secrets/page.html")
        assert traversal.status_code == 400
        assert "relative path parts" in traversal.json()["detail"]
        assert client.get("/s3/object/reports/none.html").status_code == 404


@pytest.mark.parametrize(
    ("key", "media_type", "disposition"),
    [
        ("reports/alerts/business_date=2031-07-08/summary.json", "application/json", "inline"),
        ("reports/recon/business_date=2031-07-08/REPORT.HTML", "text/html; charset=utf-8", "inline"),
        ("scores/business_date=2031-07-08/part-0.parquet", "application/octet-stream", "attachment"),
        ("landing/trades/2031-07-08/trades", "application/octet-stream", "attachment"),
        ('reports/x/we"ird.html', "text/html; charset=utf-8", "inline"),
    ],
)
def test_how_each_kind_of_object_is_served(key: str, media_type: str, disposition: str) -> None:
    assert artifacts.object_media_type(key) == media_type
    headers = artifacts.object_headers(key)
    assert headers["Content-Disposition"].startswith(f"{disposition}; filename=")
    assert headers["Content-Disposition"].count('"') == 2
    assert headers["X-Content-Type-Options"] == "nosniff"
