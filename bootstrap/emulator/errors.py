"""Error answers shaped exactly like the real service's.

Azure DevOps serialises a server exception as a ``WrappedException``::

    {"$id": "1", "innerException": null, "message": "...", "typeName": "<CLR type>, <assembly>",
     "typeKey": "<short type>", "errorCode": 0, "eventId": 3000}

Handlers raise :class:`ApiFailure`; the server turns it into that body with the status code the
real controller maps the exception to. Type names, status codes and messages come from the
reference material where it has them; the rest are judgement calls listed in
``/work/notes/emulator-judgement.md`` (and marked "judgement" below).
"""

from __future__ import annotations

import uuid
from typing import Any

CORE = "Microsoft.TeamFoundation.Core.WebApi"
BUILD = "Microsoft.TeamFoundation.Build.WebApi"
BUILD_ASSEMBLY = "Microsoft.TeamFoundation.Build2.WebApi"
TASK = "Microsoft.TeamFoundation.DistributedTask.WebApi"
ENDPOINTS = "Microsoft.VisualStudio.Services.ServiceEndpoints.WebApi"
GIT = "Microsoft.TeamFoundation.Git.Server"
WEBAPI = "Microsoft.VisualStudio.Services.WebApi"


class ApiFailure(Exception):
    """An error answer: status, ``typeKey`` and message (the type name is derived)."""

    def __init__(
        self,
        status: int,
        type_key: str,
        message: str,
        *,
        namespace: str = "System",
        assembly: str | None = None,
        event_id: int = 3000,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type_key = type_key
        self.message = message
        assembly = assembly or ("mscorlib" if namespace == "System" else namespace)
        self.type_name = f"{namespace}.{type_key}, {assembly}"
        self.event_id = event_id
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "$id": "1",
            "innerException": None,
            "message": self.message,
            "typeName": self.type_name,
            "typeKey": self.type_key,
            "errorCode": 0,
            "eventId": self.event_id,
        }


def argument_null(parameter: str) -> ApiFailure:
    """What a controller answers for a missing body or required member (.NET Framework text)."""
    return ApiFailure(
        400, "ArgumentNullException", f"Value cannot be null.\r\nParameter name: {parameter}"
    )


def argument(message: str, parameter: str | None = None) -> ApiFailure:
    text = f"{message}\r\nParameter name: {parameter}" if parameter else message
    return ApiFailure(400, "ArgumentException", text)


def project_not_found(name_or_id: str) -> ApiFailure:
    """TF200016, as the service answers for a project name (or id) that does not exist."""
    message = (
        f"TF200016: The following project does not exist: {name_or_id}. Verify that the name "
        "of the project is correct and that the project exists on the specified Azure DevOps "
        "Server."
    )
    return ApiFailure(404, "ProjectDoesNotExistWithNameException", message, namespace=CORE)


def project_exists(name: str) -> ApiFailure:
    """TF200019 (judgement: status 409)."""
    message = (
        f"TF200019: The following project already exists on the Azure DevOps Server: {name}. "
        "You cannot create a new project with the same name as an existing project. Provide "
        "a different name."
    )
    return ApiFailure(409, "ProjectAlreadyExistsException", message, namespace=CORE)


def project_create_invalid() -> ApiFailure:
    """The text the service gives when a project create lacks a required capability."""
    message = (
        "The project information supplied to project create is not valid. You must provide "
        "all and only these properties/capabilities: name, description, visibility, "
        "capabilities.versioncontrol.sourceControlType, "
        "capabilities.processTemplate.templateTypeId."
    )
    return ApiFailure(400, "ProjectWorkflowPolicyViolationException", message, namespace=CORE)


def operation_not_found(operation_id: str) -> ApiFailure:
    return ApiFailure(
        404,
        "OperationNotFoundException",
        f"The operation with id {operation_id} was not found.",
        namespace="Microsoft.VisualStudio.Services.Operations",
        assembly=WEBAPI,
    )


def repository_not_found(name_or_id: str) -> ApiFailure:
    message = (
        f"TF401019: The Git repository with name or identifier {name_or_id} does not exist "
        "or you do not have permissions for the operation you are attempting."
    )
    return ApiFailure(404, "GitRepositoryNotFoundException", message, namespace=GIT)


def item_not_found(path: str, repository: str, version: str, commit: str | None) -> ApiFailure:
    resolved = f" (resolved to commit '{commit}')" if commit else ""
    message = (
        f"TF401174: The item '{path}' could not be found in the repository '{repository}' at "
        f"the version specified by '<Branch: {version} >'{resolved}."
    )
    return ApiFailure(404, "GitItemNotFoundException", message, namespace=GIT)


def build_failure(status: int, type_key: str, message: str) -> ApiFailure:
    return ApiFailure(status, type_key, message, namespace=BUILD, assembly=BUILD_ASSEMBLY)


def definition_not_found(definition_id: Any) -> ApiFailure:
    return build_failure(
        404, "DefinitionNotFoundException", f"Build pipeline {definition_id} was not found."
    )


def definition_exists(name: str, path: str) -> ApiFailure:
    """400 DefinitionExistsException (status from the Build controller's exception map)."""
    return build_failure(
        400,
        "DefinitionExistsException",
        f"The pipeline name {name} is already in use in the folder {path}. "
        "Choose a different name.",
    )


def task_failure(status: int, type_key: str, message: str) -> ApiFailure:
    return ApiFailure(status, type_key, message, namespace=TASK)


def variable_group_exists(name: str) -> ApiFailure:
    return task_failure(
        409, "VariableGroupExistsException", f"Variable group with name {name} already exists."
    )


def variable_group_not_found(group_id: Any) -> ApiFailure:
    return task_failure(
        404, "VariableGroupNotFoundException", f"Variable group with id {group_id} does not exist."
    )


def duplicate_service_endpoint(name: str) -> ApiFailure:
    """500 DuplicateServiceConnectionException.

    The current endpoints controller does not map this exception to a status code (only the
    deprecated controllers map it to 409), so the service answers 500; client code in the
    wild checks for exactly that. The message text is a judgement.
    """
    return ApiFailure(
        500,
        "DuplicateServiceConnectionException",
        f"Service connection with name {name} already exists. Use a different name for the "
        "service connection.",
        namespace=ENDPOINTS,
    )


def endpoint_not_found(endpoint_id: str) -> ApiFailure:
    return ApiFailure(
        404,
        "ServiceEndpointNotFoundException",
        f"Service connection with id {endpoint_id} does not exist or you do not have permissions.",
        namespace=ENDPOINTS,
    )


def controller_not_found(path: str) -> ApiFailure:
    """The ASP.NET answer for a path no controller serves."""
    return ApiFailure(
        404,
        "HttpException",
        f"The controller for path '{path}' was not found or does not implement IController.",
        namespace="System.Web",
        assembly="System.Web",
        event_id=0,
    )


def method_not_allowed(method: str) -> ApiFailure:
    return ApiFailure(
        405,
        "HttpException",
        f"The requested resource does not support http method '{method}'.",
        namespace="System.Web",
        assembly="System.Web",
        event_id=0,
    )


def version_not_specified(method: str) -> ApiFailure:
    message = (
        f'No api-version was supplied for the "{method}" request. The version must be supplied '
        'either as part of the Accept header (e.g. "application/json; api-version=1.0") or as '
        'a query parameter (e.g. "?api-version=1.0").'
    )
    return ApiFailure(400, "VssVersionNotSpecifiedException", message, namespace=WEBAPI)


def version_out_of_range(requested: str, latest: str) -> ApiFailure:
    message = (
        f"The requested REST API version of {requested} is out of range for this server. The "
        f"latest REST API version this server supports is {latest}."
    )
    return ApiFailure(400, "VssVersionOutOfRangeException", message, namespace=WEBAPI)


def preview_required(requested: str) -> ApiFailure:
    message = (
        f'The requested version "{requested}" of the resource is under preview. The -preview '
        "flag must be supplied in the api-version for such requests. For example: "
        f'"{requested}-preview"'
    )
    return ApiFailure(400, "VssInvalidPreviewVersionException", message, namespace=WEBAPI)


def rate_limited(delay_seconds: int) -> ApiFailure:
    """429 as the throttling module answers (TF400733); headers are added by the server."""
    message = (
        "TF400733: The request has been canceled: Request was blocked due to exceeding usage "
        f"of resource 'ATCPU' in namespace 'User'. Retry after {delay_seconds} seconds."
    )
    return ApiFailure(
        429,
        "RequestBlockedException",
        message,
        namespace="Microsoft.TeamFoundation.Framework.Server",
        assembly="Microsoft.TeamFoundation.Framework.Server",
    )


def internal_error() -> ApiFailure:
    """TF400898, the service's generic 500 text (type key: judgement)."""
    return ApiFailure(
        500,
        "TeamFoundationServiceException",
        f"TF400898: An Internal Error Occurred. Activity Id: {uuid.uuid4()}.",
        namespace="Microsoft.TeamFoundation.Framework.Server",
        assembly="Microsoft.TeamFoundation.Framework.Server",
    )


def service_unavailable() -> ApiFailure:
    """503 while the service is degraded (text and type key: judgement)."""
    return ApiFailure(
        503,
        "ServiceUnavailableException",
        "TF400716: The service is temporarily unavailable. Try again later. "
        f"Activity Id: {uuid.uuid4()}.",
        namespace="Microsoft.TeamFoundation.Framework.Server",
        assembly="Microsoft.TeamFoundation.Framework.Server",
    )
