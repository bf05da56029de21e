"""Security headers on every response of the dashboard (an ASGI middleware, so streamed
downloads pass through untouched).

The pages are server-rendered HTML with an inline <style>, inline SVG charts and a GET form: no
script, no external resource. So the policy allows inline styles and same-origin form targets
and nothing else. Airflow's UI shows the dashboard in an iframe (the plugin's nav entry), so
framing is allowed from the same origin only. Nothing is cached: every page is data (trades,
scores, breaks) that the next user of a shared browser must not find in its cache.
S3 objects set their own, stricter policy (artifacts.OBJECT_CSP): a header already set by a
route is kept.
"""

from __future__ import annotations

from typing import Any

PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'self'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
