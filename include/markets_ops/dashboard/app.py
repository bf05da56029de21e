"""The operations dashboard as a FastAPI app, mounted in Airflow's api-server by plugins/ops_dashboard.py.

Every route requires an authenticated Airflow user: plugin apps are not protected by Airflow's
auth unless they ask for it, so the caller passes Airflow's user dependency in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any


def create_app(connect: Callable[[], Any], require_user: Callable[..., Any]) -> Any:
    """``connect`` opens a psycopg 3 connection as the read-only reporting role;
    ``require_user`` is a FastAPI dependency that rejects anonymous requests."""
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

    return app
