"""The operations dashboard as a FastAPI app, mounted in Airflow's api-server by plugins/ops_dashboard.py.

Plugin apps are not protected by Airflow's auth unless they ask for it, so the caller passes in
Airflow's user dependency (every route needs a logged-in user) and an ``authorize`` callback
(Airflow's auth manager): each page, prefix and topic is readable only with the permission on
the DAG that produces it (access.py). No API docs routes; security headers on every response
(headers.py); failures of the warehouse, S3 or Kafka answer 503 with what failed, bad input 4xx.
"""

# No `from __future__ import annotations`: the routes' Annotated dependencies name the caller's
# `require_user`, which FastAPI can only see in annotations evaluated where they are written.
import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from include.markets_ops.dashboard import access


@dataclass(frozen=True)
class ArtifactSources:
    """Where the S3 and Kafka pages (the extra links' targets) read from."""

    s3_client: Callable[[], Any]
    bucket: Callable[[], str]
    kafka_config: Callable[[], dict[str, Any]]


def create_app(
    connect: Callable[[], Any],
    require_user: Callable[..., Any],
    authorize: access.Authorize,
    artifacts: ArtifactSources | None = None,
) -> Any:
    """``connect`` opens a psycopg 3 connection as the read-only reporting role;
    ``require_user`` is a FastAPI dependency that returns the user or rejects the request (401);
    ``authorize(user, requirement)`` says whether the user has a permission on a DAG;
    ``artifacts`` enables the /s3 and /kafka pages."""
    from fastapi import Depends, FastAPI, Query
    from fastapi.responses import HTMLResponse

    from include.markets_ops.dashboard.data import load_dashboard
    from include.markets_ops.dashboard.headers import SecurityHeaders
    from include.markets_ops.dashboard.render import render_dashboard

    # No /docs, /redoc or /openapi.json: the api-server's own API is documented; this is a UI.
    app = FastAPI(
        title="Markets Operations dashboard",
        dependencies=[Depends(require_user)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(SecurityHeaders)

    def dashboard_reader(user: Annotated[Any, Depends(require_user)]) -> Any:
        require(authorize, user, access.DASHBOARD_REQUIREMENTS, "the operations dashboard")
        return user

    def board_for(business_date: str | None) -> Any:
        day = parse_date(business_date)
        with unavailable_as_503("the warehouse"), connect() as connection:
            return load_dashboard(connection, day)

    @app.get("/", response_class=HTMLResponse, dependencies=[Depends(dashboard_reader)])
    def dashboard_page(business_date: str | None = Query(default=None)) -> str:
        return render_dashboard(board_for(business_date))

    @app.get("/api/summary", dependencies=[Depends(dashboard_reader)])
    def dashboard_summary(business_date: str | None = Query(default=None)) -> dict[str, Any]:
        return dict(board_for(business_date).as_json())

    if artifacts is not None:
        _add_artifact_pages(app, artifacts, require_user, authorize)
    return app


def parse_date(value: str | None) -> dt.date | None:
    from fastapi import HTTPException

    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError as error:
        raise HTTPException(status_code=422, detail="business_date must be YYYY-MM-DD") from error


def require(
    authorize: access.Authorize, user: Any, needed: tuple[access.Requirement, ...], what: str
) -> None:
    from fastapi import HTTPException

    refused = access.missing(authorize, user, needed)
    if refused:
        raise HTTPException(status_code=403, detail=access.refusal(user, what, refused))


@contextlib.contextmanager
def unavailable_as_503(service: str) -> Iterator[None]:
    """Failures to reach a backing service (connection refused, timeouts, server errors) become
    503 naming the service; HTTPExceptions and the dashboard's own refusals pass through."""
    from fastapi import HTTPException

    try:
        yield
    except HTTPException:
        raise
    except Exception as error:
        if not _is_unavailable(error):
            raise
        raise HTTPException(
            status_code=503, detail=f"{service} is unavailable: {type(error).__name__}: {error}"
        ) from error


def _is_unavailable(error: BaseException) -> bool:
    """Failures to reach or use a backing service: psycopg's OperationalError (connection, server
    shutdown, statement timeout), any botocore error (connection, timeout, an S3 refusal of the
    dashboard's own credentials), a timeout or socket error. Programming errors are not: they
    stay 500 and get fixed."""
    import botocore.exceptions
    import psycopg

    return isinstance(
        error,
        psycopg.OperationalError
        | botocore.exceptions.BotoCoreError
        | botocore.exceptions.ClientError
        | TimeoutError
        | ConnectionError,
    )


def _add_artifact_pages(
    app: Any, sources: ArtifactSources, require_user: Callable[..., Any], authorize: access.Authorize
) -> None:
    from fastapi import Depends, HTTPException, Query
    from fastapi.responses import HTMLResponse, StreamingResponse

    from include.markets_ops.dashboard import artifacts

    CurrentUser = Annotated[Any, Depends(require_user)]  # noqa: N806 - a type alias

    def own_bucket(bucket: str | None) -> str:
        configured = sources.bucket()
        if bucket not in (None, configured):
            raise HTTPException(status_code=404, detail=f"bucket {bucket!r} is not the pipelines' bucket")
        return configured

    def checked_prefix(prefix: str, user: Any, what: str) -> str:
        """The key or prefix, well-formed (400), in the allow-list (404) and readable by the user (403)."""
        try:
            artifacts.check_prefix(prefix)
            needed = access.requirements_for_prefix(prefix)
        except artifacts.MalformedKeyError as error:
            raise HTTPException(status_code=400, detail=str(error)) from error
        except (artifacts.NotBrowsableError, access.NoAreaError) as error:
            raise HTTPException(status_code=404, detail=str(error)) from error
        require(authorize, user, needed, what)
        return prefix

    @app.get("/s3", response_class=HTMLResponse)
    def s3_prefix_page(
        user: CurrentUser, prefix: str = Query(...), bucket: str | None = Query(default=None)
    ) -> str:
        name = own_bucket(bucket)
        checked_prefix(prefix, user, f"s3://{name}/{prefix}")
        with unavailable_as_503("S3"):
            objects = artifacts.list_objects(sources.s3_client(), name, prefix)
        return artifacts.render_objects(name, prefix, objects)

    def s3_object(key: str, bucket: str | None, user: Any) -> Any:
        name = own_bucket(bucket)
        checked_prefix(key, user, f"s3://{name}/{key}")
        with unavailable_as_503("S3"):
            try:
                body = sources.s3_client().get_object(Bucket=name, Key=key)["Body"]
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
    def s3_object_by_query(
        user: CurrentUser, key: str = Query(...), bucket: str | None = Query(default=None)
    ) -> Any:
        return s3_object(key, bucket, user)

    # The same object by path: a report's relative links (report.html -> breaks.csv) resolve to
    # its neighbours in the folder.
    @app.get("/s3/object/{key:path}")
    def s3_object_by_path(key: str, user: CurrentUser, bucket: str | None = Query(default=None)) -> Any:
        return s3_object(key, bucket, user)

    _add_kafka_page(app, sources, require_user, authorize)


def _add_kafka_page(
    app: Any, sources: ArtifactSources, require_user: Callable[..., Any], authorize: access.Authorize
) -> None:
    from fastapi import Depends, HTTPException, Query
    from fastapi.responses import HTMLResponse

    from include.markets_ops.dashboard import artifacts
    from include.markets_ops.dashboard.kafka_page import KafkaPageReader, KafkaUnavailableError, ReadKey

    def read_topic(read_key: ReadKey) -> list[Any]:
        topic, day, message_key = read_key
        return artifacts.latest_messages(sources.kafka_config(), topic, day, message_key)

    reader = KafkaPageReader(read_topic)

    def topic_reader(user: Annotated[Any, Depends(require_user)], topic: str = Query(...)) -> str:
        """Sync, so FastAPI runs the auth manager's check (a database query with FAB) off the loop."""
        try:
            artifacts.check_topic(topic)
            needed = access.requirement_for_topic(topic)
        except (artifacts.NotBrowsableError, access.NoAreaError) as error:
            raise HTTPException(status_code=404, detail=str(error)) from error
        require(authorize, user, (needed,), f"Kafka topic {topic}")
        return topic

    # Async: the read runs in the reader's own threads, awaited with a deadline (kafka_page.py).
    @app.get("/kafka", response_class=HTMLResponse)
    async def kafka_topic_page(
        topic: Annotated[str, Depends(topic_reader)],
        business_date: str | None = Query(default=None),
        key: str | None = Query(default=None),
    ) -> str:
        parsed = parse_date(business_date)
        day = parsed.isoformat() if parsed else None
        try:
            messages = await reader.messages((topic, day, key))
        except KafkaUnavailableError as error:
            raise HTTPException(status_code=503, detail=f"Kafka is unavailable: {error}") from error
        return artifacts.render_messages(topic, day, key, messages)
