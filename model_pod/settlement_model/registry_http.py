"""The model registry over MLflow's REST API, for the scoring job: the version an alias points
to, and files of a registered version (its ``MLmodel``, the compiled trees saved with it).

Plain HTTP with the standard library: a scoring shard then starts without importing MLflow
(two seconds on an idle node, several on a busy one, for each of the night's shards).
Authentication as MLflow's own client reads it from the environment: MLFLOW_TRACKING_TOKEN
(bearer) or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic).
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

from settlement_model import timeouts

# As MLflow's own client is bounded (timeouts.py): a restarting server is retried with backoff
# (1 s, then 2 s), a hung one fails the lookup in about 63 s.
TIMEOUT_SECONDS = timeouts.MLFLOW_REQUEST_TIMEOUT_SECONDS
ATTEMPTS = 1 + timeouts.MLFLOW_REQUEST_MAX_RETRIES
BACKOFF_SECONDS = float(timeouts.MLFLOW_BACKOFF_FACTOR_SECONDS)


class RegistryHttpError(RuntimeError):
    """An answer of the registry other than success: ``error_code`` as MLflow names it."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(f"MLflow answered {status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class Registry:
    tracking_uri: str

    def __post_init__(self) -> None:
        if urlsplit(self.tracking_uri).scheme not in ("http", "https"):
            raise ValueError(f"the MLflow tracking URI must be http(s), got {self.tracking_uri!r}")

    def model_version(
        self, name: str, alias: str | None = None, version: str | None = None
    ) -> dict[str, Any]:
        """The registry's record of a version (its number, run id, tags), by alias or number."""
        if bool(alias) == bool(version):
            raise ValueError("give exactly one of a model alias or a model version")
        if version:
            answer = self._get("api/2.0/mlflow/model-versions/get", {"name": name, "version": version})
        else:
            answer = self._get("api/2.0/mlflow/registered-models/alias", {"name": name, "alias": alias})
        record: dict[str, Any] = json.loads(answer)["model_version"]
        return record

    def model_file(self, name: str, version: str, path: str) -> bytes:
        """A file of the version's model directory, as the MLflow server serves it."""
        return self._get("model-versions/get-artifact", {"name": name, "version": version, "path": path})

    def _get(self, path: str, params: dict[str, Any]) -> bytes:
        url = f"{self.tracking_uri.rstrip('/')}/{path}?{urlencode(params)}"
        request = Request(url, headers=_auth_headers())  # noqa: S310 (scheme checked: http(s) only)
        failure: Exception | None = None
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            try:
                with urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310
                    body: bytes = response.read()
                    return body
            except HTTPError as error:
                failure = _registry_error(error)
                if error.code < 500 and error.code != 429:
                    raise failure from error  # an answer (not found, refused): retrying will not change it
            except (URLError, TimeoutError, ConnectionError) as error:
                failure = error
        raise RuntimeError(f"MLflow at {self.tracking_uri} failed {ATTEMPTS} times: {failure}") from failure


def _registry_error(error: HTTPError) -> RegistryHttpError:
    body = error.read().decode("utf-8", "replace")
    try:
        answer = json.loads(body)
        return RegistryHttpError(error.code, answer.get("error_code", ""), answer.get("message", body))
    except (ValueError, AttributeError):
        return RegistryHttpError(error.code, "", body[:500])


def _auth_headers() -> dict[str, str]:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    return {}
