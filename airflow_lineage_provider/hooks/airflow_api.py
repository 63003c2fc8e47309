"""A small client for Airflow's REST API (v2): find DAGs scheduled on an asset, pause and unpause DAGs, list
Variables by key prefix, read a task instance's state.

Credentials come from an Airflow connection: ``host``/``port``/``schema`` (``http``/``https``) give the
base URL (or a full URL in ``host``); ``login``/``password`` are exchanged for a JWT at ``/auth/token``, or
extra ``{"token": "..."}`` is used as is. Secrets are never logged.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from airflow_lineage_provider.exceptions import LineageProviderError

log = logging.getLogger(__name__)

_TIMEOUT = 10.0


class AirflowApiError(LineageProviderError):
    """The Airflow REST API refused or failed a call (message without credentials)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AirflowApiClient:
    """Pause/unpause DAGs through ``/api/v2`` with credentials from connection ``conn_id``."""

    def __init__(self, conn_id: str) -> None:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
        host = (conn.host or "localhost").rstrip("/")
        if "://" in host:
            self.base_url = host
        else:
            scheme = conn.schema if conn.schema in ("http", "https") else "http"
            self.base_url = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
        self._login = conn.login
        self._password = conn.password
        self._token: str | None = (conn.extra_dejson or {}).get("token")

    def _client(self) -> Any:
        import httpx

        return httpx.Client(base_url=self.base_url, timeout=_TIMEOUT)

    def _headers(self, client: Any) -> dict[str, str]:
        if self._token is None:
            response = client.post("/auth/token", json={"username": self._login, "password": self._password})
            self._check(response, "POST /auth/token")
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    @staticmethod
    def _check(response: Any, what: str) -> None:
        if response.status_code >= 400:
            msg = f"Airflow REST API {what} answered HTTP {response.status_code}: {response.text[:200]}"
            raise AirflowApiError(msg, response.status_code)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._client() as client:
            response = client.request(method, path, headers=self._headers(client), **kwargs)
            self._check(response, f"{method} {path}")
            return response.json()

    def check(self) -> None:
        """Sign in and read the API version: raises ``AirflowApiError`` (``status`` 401/403: credentials)."""
        self._call("GET", "/api/v2/version")

    def dags_scheduled_on(self, dataset: Any, *, exclude: str | None = None) -> list[str]:
        """DAG ids scheduled on any asset whose URI names ``dataset`` (a ``naming.DatasetId``)."""
        from airflow_lineage_provider.naming import dataset_from_uri

        dag_ids: list[str] = []
        offset = 0
        while True:
            page = self._call("GET", "/api/v2/assets", params={"limit": 100, "offset": offset})
            assets = page.get("assets") or []
            for asset in assets:
                try:
                    same = dataset_from_uri(asset["uri"]) == dataset
                except ValueError:
                    continue
                if same:
                    dag_ids.extend(ref["dag_id"] for ref in asset.get("scheduled_dags") or [])
            offset += len(assets)
            if not assets or offset >= int(page.get("total_entries") or 0):
                break
        return sorted({d for d in dag_ids if d != exclude})

    def variables(self, prefix: str) -> dict[str, str]:
        """Every Variable whose key starts with ``prefix``: ``{key: value}`` (values as stored, JSON text)."""
        found: dict[str, str] = {}
        offset = 0
        params = {"variable_key_prefix_pattern": prefix, "variable_key_pattern": prefix, "limit": 100}
        while True:
            page = self._call("GET", "/api/v2/variables", params={**params, "offset": offset})
            rows = page.get("variables") or []
            for row in rows:
                key = str(row.get("key") or "")
                if key.startswith(prefix):  # the server's pattern is a LIKE search: "_" matches anything
                    found[key] = str(row.get("value") or "")
            offset += len(rows)
            if not rows or offset >= int(page.get("total_entries") or 0):
                return found

    def task_instance(self, ref: Any) -> tuple[str | None, int] | None:
        """``(state, try_number)`` of task instance ``ref`` (a ``pause_ledger.TaskRef``); ``None`` if gone.

        Gone means the API answers 404 for the task instance (its DAG run was deleted, or the task removed)
        while it still knows the DAG: a 404 for the DAG too (or for a wrong base URL) raises instead, so a
        misconfigured connection never makes a waiting run look finished.
        """
        dag = quote(ref.dag_id, safe="")
        path = f"/api/v2/dags/{dag}/dagRuns/{quote(ref.run_id, safe='')}/taskInstances/"
        path += quote(ref.task_id, safe="") + (f"/{int(ref.map_index)}" if ref.map_index >= 0 else "")
        try:
            found = self._call("GET", path)
        except AirflowApiError as exc:
            if exc.status != 404:
                raise
            self._call("GET", f"/api/v2/dags/{dag}")  # raises unless the DAG is known
            return None
        return found.get("state"), int(found.get("try_number") or 0)

    def _set_paused(self, dag_ids: list[str], paused: bool) -> tuple[list[str], list[str]]:
        """Set ``is_paused`` on the DAGs not already in that state; (ids changed, ids that could not be).

        A DAG that cannot be changed (unknown id, no permission, network) is skipped with one warning, so
        the ids that did change are always returned and can be undone, and the failures can be retried.
        """
        changed, failed = [], []
        for dag_id in dag_ids:
            try:
                dag = self._call("GET", f"/api/v2/dags/{quote(dag_id, safe='')}")
                if bool(dag.get("is_paused")) == paused:
                    continue
                self._call("PATCH", f"/api/v2/dags/{quote(dag_id, safe='')}", json={"is_paused": paused})
            except Exception as exc:  # refused, or the network: report it and carry on with the others
                log.warning("could not %s DAG %s: %s", "pause" if paused else "unpause", dag_id, exc)
                failed.append(dag_id)
                continue
            changed.append(dag_id)
        return changed, failed

    def pause(self, dag_ids: list[str]) -> list[str]:
        """Pause the running DAGs among ``dag_ids``; the ids this call paused."""
        return self._set_paused(dag_ids, True)[0]

    def unpause(self, dag_ids: list[str]) -> tuple[list[str], list[str]]:
        """Unpause the paused DAGs among ``dag_ids``; (ids unpaused, ids that could not be unpaused)."""
        return self._set_paused(dag_ids, False)
