"""Security headers: added to every response, a route's own stricter ones kept."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.testclient import TestClient

from include.markets_ops.dashboard.headers import PAGE_CSP, SecurityHeaders


def app() -> FastAPI:
    application = FastAPI()
    application.add_middleware(SecurityHeaders)

    @application.get("/page", response_class=HTMLResponse)
    def page() -> str:
        return "<p>hi</p>"

    @application.get("/object")
    def object_() -> Response:
        return Response(b"x", headers={"Content-Security-Policy": "default-src 'none'; sandbox"})

    @application.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(iter([b"a", b"b"]), media_type="text/csv")

    return application


def test_every_response_gets_the_headers() -> None:
    client = TestClient(app())
    for path in ("/page", "/stream", "/missing"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == PAGE_CSP
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["cache-control"] == "no-store"
    assert client.get("/stream").content == b"ab"


def test_a_routes_own_policy_is_kept_not_doubled() -> None:
    response = TestClient(app()).get("/object")
    assert response.headers.get_list("content-security-policy") == ["default-src 'none'; sandbox"]
