"""The operations dashboard as a FastAPI app, mounted in Airflow's api-server by plugins/ops_dashboard.py.

Every route requires an authenticated Airflow user: plugin apps are not protected by Airflow's
auth unless they ask for it, so the caller passes Airflow's user dependency in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArtifactSources:
    """Where the S3 and Kafka pages (the extra links' targets) read from."""

    s3_client: Callable[[], Any]
    bucket: Callable[[], str]
    kafka_config: Callable[[], dict[str, Any]]


def create_app(
    connect: Callable[[], Any], require_user: Callable[..., Any], artifacts: ArtifactSources | None = None
) -> Any:
    """``connect`` opens a psycopg 3 connection as the read-only reporting role;
    ``require_user`` is a FastAPI dependency that rejects anonymous requests;
    ``artifacts`` enables the /s3 and /kafka pages."""
    from fastapi import Depends, FastAPI, HTTPException, Query
    from fastapi.responses import HTMLResponse

    from include.markets_ops.dashboard.data import load_dashboard
    from include.markets_ops.dashboard.render import render_dashboard

    app = FastAPI(title="Markets Operations dashboard", dependencies=[Depends(require_user)])

    def board_for(business_date: str | None) -> Any:
        try:
            day = dt.date.fromisoformat(business_date) if business_date else None
        except ValueError as error:
            raise HTTPException(status_code=422, detail="business_date must be YYYY-MM-DD") from error
        with connect() as connection:
            return load_dashboard(connection, day)

    @app.get("/", response_class=HTMLResponse)
    def dashboard_page(business_date: str | None = Query(default=None)) -> str:
        return render_dashboard(board_for(business_date))

    @app.get("/api/summary")
    def dashboard_summary(business_date: str | None = Query(default=None)) -> dict[str, Any]:
        return dict(board_for(business_date).as_json())

    if artifacts is not None:
        _add_artifact_pages(app, artifacts)
    return app


def _add_artifact_pages(app: Any, sources: ArtifactSources) -> None:
    from fastapi import HTTPException, Query
    from fastapi.responses import HTMLResponse, StreamingResponse

    from include.markets_ops.dashboard import artifacts

    def own_bucket(bucket: str | None) -> str:
        configured = sources.bucket()
        if bucket not in (None, configured):
            raise HTTPException(status_code=404, detail=f"bucket {bucket!r} is not the pipelines' bucket")
        return configured

    def business_date_or_none(value: str | None) -> str | None:
        try:
            return dt.date.fromisoformat(value).isoformat() if value else None
        except ValueError as error:
            raise HTTPException(status_code=422, detail="business_date must be YYYY-MM-DD") from error

    @app.get("/s3", response_class=HTMLResponse)
    def s3_prefix_page(prefix: str = Query(...), bucket: str | None = Query(default=None)) -> str:
        name = own_bucket(bucket)
        try:
            objects = artifacts.list_objects(sources.s3_client(), name, prefix)
        except artifacts.NotBrowsableError as error:
            raise HTTPException(status_code=404, detail=str(error)) from error
        return artifacts.render_objects(name, prefix, objects)

    def s3_object(key: str, bucket: str | None) -> Any:
        name = own_bucket(bucket)
        try:
            artifacts.check_prefix(key)
            body = sources.s3_client().get_object(Bucket=name, Key=key)["Body"]
        except artifacts.NotBrowsableError as error:
            raise HTTPException(status_code=404, detail=str(error)) from error
        except Exception as error:  # botocore's NoSuchKey is generated per client: match by code
            if getattr(error, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise HTTPException(status_code=404, detail=f"no object {key!r}") from error
            raise
        return StreamingResponse(
            body.iter_chunks(1 << 16),
            media_type=artifacts.object_media_type(key),
            headers=artifacts.object_headers(key),
        )

    @app.get("/s3/object")
    def s3_object_by_query(key: str = Query(...), bucket: str | None = Query(default=None)) -> Any:
        return s3_object(key, bucket)

    # The same object by path: a report's relative links (report.html -> breaks.csv) resolve to
    # its neighbours in the folder.
    @app.get("/s3/object/{key:path}")
    def s3_object_by_path(key: str, bucket: str | None = Query(default=None)) -> Any:
        return s3_object(key, bucket)

    @app.get("/kafka", response_class=HTMLResponse)
    def kafka_topic_page(
        topic: str = Query(...),
        business_date: str | None = Query(default=None),
        key: str | None = Query(default=None),
    ) -> str:
        day = business_date_or_none(business_date)
        try:
            messages = artifacts.latest_messages(sources.kafka_config(), topic, day, key)
        except artifacts.NotBrowsableError as error:
            raise HTTPException(status_code=404, detail=str(error)) from error
        return artifacts.render_messages(topic, day, key, messages)
