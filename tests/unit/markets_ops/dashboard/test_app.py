"""The dashboard app's routes: a user is required, dates are checked."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.testclient import TestClient

from include.markets_ops.dashboard.app import create_app


def test_every_route_requires_a_user() -> None:
    def refuse() -> None:
        raise HTTPException(status_code=401, detail="Not authenticated")

    client = TestClient(create_app(connect=lambda: None, require_user=refuse))
    assert client.get("/").status_code == 401
    assert client.get("/api/summary").status_code == 401


def test_a_malformed_date_is_refused_with_a_message() -> None:
    client = TestClient(create_app(connect=lambda: None, require_user=lambda: None))
    response = client.get("/api/summary", params={"business_date": "30/10/2026"})
    assert response.status_code == 422
    assert "YYYY-MM-DD" in response.text
