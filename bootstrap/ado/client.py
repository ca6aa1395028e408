"""AdoClient: every Azure DevOps call the product makes, as plain REST JSON dicts.

Requests travel through the unmodified azure-devops 7.1 SDK (its clients, URL discovery, api
version negotiation and on-disk discovery cache) but through ``Client._send`` with the SDK's
own location ids, so answers stay the service's JSON rather than lossy msrest models. Three
things are taken over from the SDK, each for a reason:

- msrest's own retries are switched off: :mod:`bootstrap.ado.retry` owns the policy (msrest
  would repeat a POST after a 5xx, which can duplicate a resource, and never honours 429).
- non-2xx answers raise :class:`HttpFailure` (status, Retry-After, the service's message and
  typeKey) instead of the SDK's exceptions, which drop the status code.
- a 2xx answer that is an HTML page (a sign-in page: the PAT was not accepted) is an error.

Every write goes through :meth:`AdoClient.write`, which logs the method and path (never the
body) and counts it; ``--dry-run`` never reaches it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from bootstrap.ado.retry import CREATE, DELETE, READ, UPDATE, Failure, RetryPolicy, decide
from bootstrap.errors import ApiError, AuthError, BootstrapError, Conflict, NotFound, RateLimited

log = logging.getLogger("bootstrap.ado")

PAT_SCOPES = (
    "Build (read & execute), Service Connections (read, query & manage), "
    "Variable Groups (read, create & manage), Project and Team (read), Code (read)"
)

# (SDK v7_1 client factory method, location id, api version) per REST resource.
_PROJECTS = ("get_core_client", "603fe2ac-9723-48b9-88ad-09305aa6c6e1", "7.1-preview.4")
_OPERATIONS = ("get_operations_client", "9a1b74b4-2ca8-4a9f-8470-c2f2e6fdc949", "7.1-preview.1")
_REPOSITORIES = ("get_git_client", "225f7195-f9c7-4d14-ab28-a83f7ff77e1f", "7.1-preview.1")
_ITEMS = ("get_git_client", "fb93c0db-47ed-4a31-8c20-47552878fb44", "7.1-preview.1")
_DEFINITIONS = ("get_build_client", "dbeaf647-6167-421a-bda9-c9327b25e2e6", "7.1-preview.7")
_QUEUES = ("get_task_agent_client", "900fa995-c559-4923-aae7-f8424fe4fbea", "7.1-preview.1")
_GROUPS_BY_PROJECT = (
    "get_task_agent_client",
    "f5b09dd5-9d54-45a1-8b5a-1c8287d634cc",
    "7.1-preview.2",
)
_GROUPS = ("get_task_agent_client", "ef5b7057-ffc3-4c77-bbad-c10b4a4abcc7", "7.1-preview.2")
_ENDPOINTS_BY_PROJECT = (
    "get_service_endpoint_client",
    "e85f1c62-adfc-4b74-b618-11a150fb195e",
    "7.1-preview.4",
)
_ENDPOINTS = (
    "get_service_endpoint_client",
    "14e48fdc-2c8b-41ce-a0c3-e26f6cc55bd0",
    "7.1-preview.4",
)
_PERMISSIONS = (
    "get_pipeline_permissions_client",
    "b5b9a4a4-e6cd-4096-853c-ab7d8b0c4eb2",
    "7.1-preview.1",
)


class HttpFailure(Exception):
    """A non-2xx answer, with what the retry policy and the error translation need."""

    def __init__(self, response) -> None:
        self.status = response.status_code
        self.retry_after = _retry_after(response.headers.get("Retry-After"))
        self.message, self.type_key = "", None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            self.message = str(body.get("message") or "")
            self.type_key = body.get("typeKey")
        super().__init__(f"HTTP {self.status} {self.type_key or ''} {self.message}".strip())


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _is_conflict(exc: HttpFailure) -> bool:
    """A name already taken. Some controllers answer it with 500 (a duplicate service
    connection is ``500 DuplicateServiceConnectionException``), so the type key decides."""
    key = exc.type_key or ""
    return "Exists" in key or "Duplicate" in key


def _raise_http_failure(_request, response) -> None:
    raise HttpFailure(response)


class AdoClient:
    """One organisation, one PAT. Thread-safe: resources read concurrently through it."""

    def __init__(
        self,
        org_url: str,
        pat: str,
        *,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from azure.devops.connection import Connection
        from msrest.authentication import BasicAuthentication

        self.org_url = org_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self._creds = BasicAuthentication("", pat)
        self._connection = Connection(base_url=self.org_url, creds=self._creds)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._discovery_error: NotFound | None = None  # an unknown organisation, once known
        self._count_lock = threading.Lock()
        self.writes = 0  # write requests sent (attempts included): `up` reports it

    # ---- plumbing -------------------------------------------------------------------------

    def _configure(self, sdk_client) -> None:
        sdk_client.config.retry_policy.retries = 0
        sdk_client.config.retry_policy.policy.connect = 0
        sdk_client.config.retry_policy.policy.read = 0
        sdk_client.config.retry_policy.policy.status_forcelist = set()
        sdk_client.config.connection.timeout = self.timeout
        # HTTP traces (method, URL, headers, bodies) exactly when --debug turned DEBUG on;
        # every record is redacted as it is created (bootstrap.redaction).
        sdk_client.config.enable_http_logger = logging.getLogger("msrest.http_logger").isEnabledFor(
            logging.DEBUG
        )
        sdk_client._handle_error = _raise_http_failure

    def _discover(self) -> None:
        """Fill the connection's resource areas from the SDK's disk cache or one request."""
        from azure.devops._file_cache import RESOURCE_CACHE
        from azure.devops.v7_1.location.location_client import LocationClient

        if self._connection._resource_areas is not None:
            return
        location = LocationClient(self.org_url, self._creds)
        self._configure(location)
        cached = RESOURCE_CACHE.get(location.normalized_url)
        if cached:
            areas = location._base_deserialize.deserialize_data(cached, "[ResourceAreaInfo]")
        else:
            areas = self._call(
                READ, "discover the organisation's services", location.get_resource_areas
            )
            areas = areas or []
            RESOURCE_CACHE[location.normalized_url] = location._base_serialize.serialize_data(
                areas, "[ResourceAreaInfo]"
            )
        self._connection._resource_areas = areas

    def _client(self, resource):
        """The SDK client for ``resource``, created once, its location table loaded.

        Under the lock, so threads reading concurrently share one discovery (the SDK keeps
        the location table per URL for the process, and on disk for 12 hours).
        """
        factory, location_id, _version = resource
        with self._lock:
            if self._discovery_error is not None:
                raise self._discovery_error
            client = self._clients.get(factory)
            if client is None:
                try:
                    self._discover()
                    client = getattr(self._connection.clients_v7_1, factory)()
                    self._configure(client)
                    self._call(
                        READ,
                        "discover the organisation's services",
                        lambda: client._get_resource_location(client.normalized_url, location_id),
                    )
                except NotFound as exc:
                    self._discovery_error = NotFound(
                        f"organisation {self.org_url} not found",
                        hint="check the organisation URL (--org or organization: in config)",
                        status=404,
                    )
                    raise self._discovery_error from exc
                self._clients[factory] = client
            return client

    def _request(self, resource, method, route=None, query=None, body=None):
        """The SDK's response to one request; a web page instead of JSON is an AuthError."""
        _factory, location_id, version = resource
        client = self._client(resource)
        query = {k: v for k, v in (query or {}).items() if v is not None}
        response = client._send(
            http_method=method,
            location_id=location_id,
            version=version,
            route_values=dict(route or {}),
            query_parameters=query,
            content=body,
        )
        content_type = response.headers.get("Content-Type", "")
        if "html" in content_type or response.content[:1] == b"<":
            raise AuthError(
                f"{self.org_url} answered with a web page (a sign-in page) instead of JSON: "
                "the personal access token was not accepted",
                hint=f"create a PAT with the scopes {PAT_SCOPES}",
                status=response.status_code,
            )
        return response

    def _send(self, resource, method, route=None, query=None, body=None):
        response = self._request(resource, method, route, query, body)
        return response.json() if response.content else None

    def _classify(self, exc: Exception, describe: str) -> Failure:
        """A transient failure to retry, or raise the translated BootstrapError."""
        from msrest.exceptions import ClientRequestError

        if isinstance(exc, HttpFailure):
            failure = Failure(exc.status, exc.retry_after, exc.message or exc.type_key or "")
            if failure.transient and not _is_conflict(exc):
                return failure
            raise self._translate(exc, describe) from exc
        if isinstance(exc, ClientRequestError):
            text = str(exc)
            if "Connection refused" in text or "Failed to resolve" in text:
                raise ApiError(
                    f"cannot connect to {self.org_url}",
                    hint="check the organisation URL (--org) and your network",
                ) from exc
            return Failure(None, detail=type(getattr(exc, "inner_exception", exc)).__name__)
        raise exc

    def _translate(self, exc: HttpFailure, describe: str) -> BootstrapError:
        detail = exc.message or f"HTTP {exc.status}"
        kwargs = {"status": exc.status, "type_key": exc.type_key}
        if exc.status == 401:
            return AuthError(
                f"{self.org_url} rejected the personal access token",
                hint=f"create a PAT with the scopes {PAT_SCOPES}",
                **kwargs,
            )
        if exc.status == 403:
            return AuthError(
                f"access denied while trying to {describe}: {detail}",
                hint=f"the PAT needs the scopes {PAT_SCOPES}",
                **kwargs,
            )
        if exc.status == 404:
            return NotFound(f"cannot {describe}: {detail}", **kwargs)
        if exc.status == 409 or _is_conflict(exc):
            return Conflict(f"cannot {describe}: {detail}", **kwargs)
        return ApiError(f"cannot {describe}: {detail} (HTTP {exc.status})", **kwargs)

    def _call(self, kind: str, describe: str, fn: Callable[[], Any], reread=None) -> Any:
        """Run ``fn`` under the retry policy; ``reread`` finds a create's result by name."""
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except BootstrapError:
                raise
            except Exception as exc:
                try:
                    failure = self._classify(exc, describe)
                except Conflict:
                    # Someone else (another `up`, or our own earlier attempt whose answer
                    # was lost) created it meanwhile: adopt it rather than fail.
                    found = reread() if kind == CREATE and reread is not None else None
                    if found is None:
                        raise
                    log.info("%s: it exists already (created concurrently); using it", describe)
                    return found
                elapsed = time.monotonic() - start
                decision = decide(self.policy, kind, failure, attempt, elapsed)
                if decision.action == "fail":
                    error_cls = RateLimited if failure.status == 429 else ApiError
                    raise error_cls(
                        f"cannot {describe}: gave up after {attempt} attempt"
                        f"{'s' if attempt > 1 else ''} in {elapsed:.1f} s, "
                        f"last: {failure.describe()}",
                        hint="Azure DevOps is unavailable or throttling; run the command again",
                        status=failure.status,
                    ) from exc
                log.info(
                    "%s: %s; %s in %.2f s",
                    describe,
                    failure.describe(),
                    "looking it up by name" if decision.action == "reread" else "retrying",
                    decision.wait,
                )
                self._sleep(decision.wait)
                if decision.action == "reread":
                    found = reread()
                    if found is not None:
                        log.info("%s: it had been created; using it", describe)
                        return found

    def read(self, describe: str, resource, route=None, query=None) -> Any:
        return self._call(READ, describe, lambda: self._send(resource, "GET", route, query))

    def read_all(self, describe: str, resource, route=None, query=None) -> list[dict]:
        """Every item of a paged collection, following ``x-ms-continuationtoken`` to the end
        (each page retried on its own)."""
        items: list[dict] = []
        token = None
        while True:
            page_query = {**(query or {}), "continuationToken": token}
            response = self._call(
                READ, describe, lambda q=page_query: self._request(resource, "GET", route, q)
            )
            items.extend((response.json() if response.content else {}).get("value", []))
            token = response.headers.get("x-ms-continuationtoken")
            if not token:
                return items

    def read_or_none(self, describe: str, resource, route=None, query=None) -> Any:
        """Like :meth:`read`, but a 404 is None (the thing does not exist). An unknown
        organisation is still an error: discovery happens first, outside that rule."""
        self._client(resource)
        try:
            return self.read(describe, resource, route, query)
        except NotFound:
            return None

    def write(
        self,
        kind: str,
        describe: str,
        resource,
        method: str,
        route=None,
        query=None,
        body=None,
        reread=None,
    ) -> Any:
        """The one function every remote write goes through: logged (no body) and counted."""
        path = f"{method} {resource[0].removeprefix('get_').removesuffix('_client')} {describe}"

        def attempt():
            with self._count_lock:
                self.writes += 1
            log.info("write: %s", path)
            return self._send(resource, method, route, query, body)

        return self._call(kind, describe, attempt, reread=reread)

    # ---- projects -------------------------------------------------------------------------

    def get_project(self, name: str) -> dict | None:
        return self.read_or_none(f"read project {name}", _PROJECTS, {"projectId": name})

    def list_projects(self) -> list[dict]:
        return self.read("list projects", _PROJECTS)["value"]

    def create_project(self, body: dict) -> dict:
        """Queue the creation; returns the operation reference (poll :meth:`get_operation`)."""
        name = body["name"]
        return self.write(
            CREATE,
            f"create project {name}",
            _PROJECTS,
            "POST",
            body=body,
            reread=lambda: {"status": "succeeded"} if self.get_project(name) else None,
        )

    def get_operation(self, operation_id: str) -> dict:
        return self.read("read operation", _OPERATIONS, {"operationId": operation_id})

    # ---- repositories ---------------------------------------------------------------------

    def get_repository(self, project: str, name: str) -> dict | None:
        return self.read_or_none(
            f"read repository {name}", _REPOSITORIES, {"project": project, "repositoryId": name}
        )

    def list_items(self, project: str, repository_id: str, scope: str, branch: str) -> list[dict]:
        """Every item under ``scope`` at ``branch`` (recursively); [] when the path is absent."""
        items = self.read_or_none(
            f"list {scope} on branch {branch}",
            _ITEMS,
            {"project": project, "repositoryId": repository_id},
            {
                "scopePath": scope,
                "recursionLevel": "Full",
                "versionDescriptor.version": branch,
                "versionDescriptor.versionType": "branch",
            },
        )
        return (items or {}).get("value", [])

    def get_item_content(
        self, project: str, repository_id: str, path: str, branch: str
    ) -> str | None:
        item = self.read_or_none(
            f"read {path} on branch {branch}",
            _ITEMS,
            {"project": project, "repositoryId": repository_id},
            {
                "path": path,
                "includeContent": "true",
                "versionDescriptor.version": branch,
                "versionDescriptor.versionType": "branch",
            },
        )
        return None if item is None else item.get("content")

    # ---- queues ---------------------------------------------------------------------------

    def get_queue(self, project: str, name: str) -> dict | None:
        queues = self.read(
            f"read agent queue {name}", _QUEUES, {"project": project}, {"queueName": name}
        )
        return next((q for q in queues.get("value", []) if q.get("name") == name), None)

    # ---- service endpoints ----------------------------------------------------------------

    def get_service_endpoint(self, project: str, name: str) -> dict | None:
        found = self.read(
            f"read service connection {name}",
            _ENDPOINTS_BY_PROJECT,
            {"project": project},
            {"endpointNames": name},
        )
        return next(
            (e for e in found.get("value", []) if e.get("name", "").lower() == name.lower()),
            None,
        )

    def list_service_endpoints(self, project: str) -> list[dict]:
        found = self.read("list service connections", _ENDPOINTS_BY_PROJECT, {"project": project})
        return found.get("value", [])

    def create_service_endpoint(self, project: str, body: dict) -> dict:
        name = body["name"]
        return self.write(
            CREATE,
            f"create service connection {name}",
            _ENDPOINTS,
            "POST",
            body=body,
            reread=lambda: self.get_service_endpoint(project, name),
        )

    def update_service_endpoint(self, endpoint_id: str, body: dict) -> dict:
        return self.write(
            UPDATE,
            f"update service connection {body.get('name', endpoint_id)}",
            _ENDPOINTS,
            "PUT",
            {"endpointId": endpoint_id},
            body=body,
        )

    def delete_service_endpoint(self, endpoint_id: str, project_ids: list[str]) -> None:
        self._delete(
            "service connection",
            _ENDPOINTS,
            {"endpointId": endpoint_id},
            {"projectIds": ",".join(project_ids)},
        )

    # ---- variable groups ------------------------------------------------------------------

    def get_variable_group(self, project: str, name: str) -> dict | None:
        found = self.read(
            f"read variable group {name}",
            _GROUPS_BY_PROJECT,
            {"project": project},
            {"groupName": name},
        )
        return next(
            (g for g in found.get("value", []) if g.get("name", "").lower() == name.lower()),
            None,
        )

    def get_variable_group_by_id(self, project: str, group_id: int) -> dict | None:
        """The group with its ``variableGroupProjectReferences``, which a read by name (the
        list shape) leaves out; a PUT must carry them all or the group leaves those projects."""
        return self.read_or_none(
            f"read variable group {group_id}",
            _GROUPS_BY_PROJECT,
            {"project": project, "groupId": group_id},
        )

    def create_variable_group(self, project: str, body: dict) -> dict:
        name = body["name"]
        return self.write(
            CREATE,
            f"create variable group {name}",
            _GROUPS,
            "POST",
            body=body,
            reread=lambda: self.get_variable_group(project, name),
        )

    def update_variable_group(self, group_id: int, body: dict) -> dict:
        """PUT the whole group (variables are replaced as a set; secrets without a value keep
        their stored value)."""
        return self.write(
            UPDATE,
            f"update variable group {body.get('name', group_id)}",
            _GROUPS,
            "PUT",
            {"groupId": group_id},
            body=body,
        )

    def delete_variable_group(self, group_id: int, project_ids: list[str]) -> None:
        self._delete(
            "variable group",
            _GROUPS,
            {"groupId": group_id},
            {"projectIds": ",".join(project_ids)},
        )

    # ---- build definitions ----------------------------------------------------------------

    def list_definitions(self, project: str, *, path: str | None = None) -> list[dict]:
        """Full definitions (``includeAllProperties``) in ``path`` (all folders when None)."""
        return self.read_all(
            f"list pipelines in {path or 'the project'}",
            _DEFINITIONS,
            {"project": project},
            {"path": path, "includeAllProperties": "true"},
        )

    def get_definition(self, project: str, definition_id: int) -> dict | None:
        return self.read_or_none(
            f"read pipeline {definition_id}",
            _DEFINITIONS,
            {"project": project, "definitionId": definition_id},
        )

    def _find_definition(self, project: str, name: str, folder: str) -> dict | None:
        found = self.read(
            f"look up pipeline {name}",
            _DEFINITIONS,
            {"project": project},
            {"name": name, "path": folder, "includeAllProperties": "true"},
        )
        return next((d for d in found.get("value", []) if d.get("name") == name), None)

    def create_definition(self, project: str, body: dict) -> dict:
        name, folder = body["name"], body.get("path", "\\")
        return self.write(
            CREATE,
            f"create pipeline {name}",
            _DEFINITIONS,
            "POST",
            {"project": project},
            body=body,
            reread=lambda: self._find_definition(project, name, folder),
        )

    def update_definition(self, project: str, definition_id: int, body: dict) -> dict:
        return self.write(
            UPDATE,
            f"update pipeline {body.get('name', definition_id)}",
            _DEFINITIONS,
            "PUT",
            {"project": project, "definitionId": definition_id},
            body=body,
        )

    def delete_definition(self, project: str, definition_id: int) -> None:
        self._delete("pipeline", _DEFINITIONS, {"project": project, "definitionId": definition_id})

    # ---- pipeline permissions -------------------------------------------------------------

    def get_pipeline_permissions(self, project: str, resource_type: str, resource_id) -> dict:
        return self.read(
            f"read pipeline permissions of {resource_type} {resource_id}",
            _PERMISSIONS,
            {"project": project, "resourceType": resource_type, "resourceId": str(resource_id)},
        )

    def update_pipeline_permissions(self, project: str, changes: list[dict]) -> list[dict]:
        """PATCH several resources' permissions at once; returns their resulting permissions."""
        names = ", ".join(f"{c['resource']['type']} {c['resource']['id']}" for c in changes)
        found = self.write(
            UPDATE,
            f"update pipeline permissions of {names}",
            _PERMISSIONS,
            "PATCH",
            {"project": project},
            body=changes,
        )
        return found.get("value", []) if isinstance(found, dict) else (found or [])

    # ---- helpers --------------------------------------------------------------------------

    def _delete(self, what: str, resource, route: dict, query: dict | None = None) -> None:
        ident = next(iter(route.values())) if len(route) == 1 else route.get("definitionId")
        try:
            self.write(DELETE, f"delete {what} {ident}", resource, "DELETE", route, query)
        except NotFound:
            log.info("%s %s was already gone", what, ident)

    def web_url(self, project: str, kind: str, ident) -> str:
        """The web UI page of a resource, for the report."""
        base = f"{self.org_url}/{quote(project)}"
        return {
            "project": base,
            "service_connection": f"{base}/_settings/adminservices?resourceId={ident}",
            "variable_group": f"{base}/_library?itemType=VariableGroups"
            f"&view=VariableGroupView&variableGroupId={ident}",
            "pipeline": f"{base}/_build?definitionId={ident}",
        }[kind]
