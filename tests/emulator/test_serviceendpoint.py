"""Service connections through the SDK: AzureRM (key and workload identity) and GitHub."""

from __future__ import annotations

import pytest
from azure.devops.exceptions import AzureDevOpsServiceError
from azure.devops.v7_1.service_endpoint.models import ServiceEndpoint

from tests.emulator.helpers import call, clients

KEY = "sp-key-never-returned"


def _azure_rm(project, name="azure", scheme="ServicePrincipal", **parameters):
    params = {"tenantid": "tenant", "serviceprincipalid": "app", **parameters}
    if scheme == "ServicePrincipal":
        params.setdefault("serviceprincipalkey", KEY)
        params.setdefault("authenticationType", "spnKey")
    return ServiceEndpoint(
        name=name,
        type="AzureRM",
        url="https://management.azure.com/",
        authorization={"scheme": scheme, "parameters": params},
        data={
            "subscriptionId": "sub",
            "subscriptionName": "Sub",
            "environment": "AzureCloud",
            "scopeLevel": "Subscription",
            "creationMode": "Manual",
        },
        service_endpoint_project_references=[
            {"projectReference": {"id": project.id, "name": project.name}, "name": name}
        ],
    )


@pytest.fixture
def sdk(emulator):
    return clients(emulator)


@pytest.fixture
def project(sdk):
    return sdk.get_core_client().get_project("batcomputer")


def test_create_service_principal_never_returns_the_key(sdk, project, emulator):
    endpoints = sdk.get_service_endpoint_client()
    created = endpoints.create_service_endpoint(_azure_rm(project))
    assert created.authorization.parameters["serviceprincipalkey"] is None
    assert created.is_ready is True
    fetched = endpoints.get_service_endpoint_details("batcomputer", created.id)
    assert fetched.authorization.parameters["serviceprincipalkey"] is None
    stored = emulator.store.state["serviceEndpoints"][created.id]
    assert stored["authorization"]["parameters"]["serviceprincipalkey"] == KEY
    raw = call(
        emulator,
        "GET",
        "batcomputer/_apis/serviceendpoint/endpoints",
        params={"endpointNames": "azure"},
    )
    assert KEY not in raw.text


def test_create_workload_identity_fills_issuer_and_subject(sdk, project, emulator):
    created = sdk.get_service_endpoint_client().create_service_endpoint(
        _azure_rm(project, scheme="WorkloadIdentityFederation")
    )
    parameters = created.authorization.parameters
    assert parameters["workloadIdentityFederationIssuer"] == (
        f"https://vstoken.dev.azure.com/{emulator.store.org['id']}"
    )
    assert parameters["workloadIdentityFederationSubject"] == "sc://demo/batcomputer/azure"


def test_create_github_with_token_hides_the_token(sdk, project):
    created = sdk.get_service_endpoint_client().create_service_endpoint(
        ServiceEndpoint(
            name="github",
            type="GitHub",
            url="https://github.com",
            authorization={"scheme": "Token", "parameters": {"AccessToken": "ghp_secret"}},
            service_endpoint_project_references=[
                {"projectReference": {"id": project.id}, "name": "github"}
            ],
        )
    )
    assert (created.authorization.scheme, created.authorization.parameters) == (
        "Token",
        {"AccessToken": None},
    )


def test_get_by_names_finds_only_the_named_ones(sdk, project):
    endpoints = sdk.get_service_endpoint_client()
    endpoints.create_service_endpoint(_azure_rm(project, "one"))
    endpoints.create_service_endpoint(_azure_rm(project, "two"))
    assert [e.name for e in endpoints.get_service_endpoints_by_names("batcomputer", ["TWO"])] == [
        "two"
    ]
    assert endpoints.get_service_endpoints_by_names("batcomputer", ["three"]) == []
    assert sorted(e.name for e in endpoints.get_service_endpoints("batcomputer")) == ["one", "two"]


def test_create_duplicate_name_fails_with_500_duplicate(sdk, project, emulator):
    sdk.get_service_endpoint_client().create_service_endpoint(_azure_rm(project))
    body = sdk.get_service_endpoint_client()._serialize.body(_azure_rm(project), "ServiceEndpoint")
    answer = call(
        emulator, "POST", "_apis/serviceendpoint/endpoints", json=body, api_version="7.1-preview.4"
    )
    assert (answer.status_code, answer.json()["typeKey"]) == (
        500,
        "DuplicateServiceConnectionException",
    )
    assert len(emulator.store.state["serviceEndpoints"]) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("serviceprincipalkey", None), ("tenantid", None)],
)
def test_create_missing_required_parameter_fails_with_400(sdk, project, emulator, field, value):
    endpoint = _azure_rm(project)
    endpoint.authorization["parameters"][field] = value
    body = sdk.get_service_endpoint_client()._serialize.body(endpoint, "ServiceEndpoint")
    answer = call(
        emulator, "POST", "_apis/serviceendpoint/endpoints", json=body, api_version="7.1-preview.4"
    )
    assert (answer.status_code, answer.json()["typeKey"]) == (400, "ArgumentException")


def test_create_without_project_references_fails_with_400(sdk, emulator):
    answer = call(
        emulator,
        "POST",
        "_apis/serviceendpoint/endpoints",
        api_version="7.1-preview.4",
        json={
            "name": "x",
            "type": "Generic",
            "url": "https://x",
            "authorization": {"scheme": "None"},
        },
    )
    assert (answer.status_code, answer.json()["typeKey"]) == (400, "ArgumentNullException")


def test_update_keeps_the_stored_key_when_none_is_sent(sdk, project, emulator):
    endpoints = sdk.get_service_endpoint_client()
    created = endpoints.create_service_endpoint(_azure_rm(project))
    created.description = "changed"
    updated = endpoints.update_service_endpoint(created, created.id)
    assert updated.description == "changed"
    assert (
        emulator.store.state["serviceEndpoints"][created.id]["authorization"]["parameters"][
            "serviceprincipalkey"
        ]
        == KEY
    )


def test_share_then_delete_per_project(sdk, project, emulator):
    core = sdk.get_core_client()
    reference = core.queue_create_project(
        {
            "name": "second",
            "capabilities": {
                "versioncontrol": {"sourceControlType": "Git"},
                "processTemplate": {"templateTypeId": "b8a3a935-7e91-48b8-a94c-606d37c3e9f2"},
            },
        }
    )
    sdk.get_operations_client().get_operation(reference.id)
    sdk.get_operations_client().get_operation(reference.id)
    second = core.get_project("second")
    endpoints = sdk.get_service_endpoint_client()
    created = endpoints.create_service_endpoint(_azure_rm(project))
    endpoints.share_service_endpoint(
        [{"projectReference": {"id": second.id}, "name": "azure"}], created.id
    )
    assert [e.name for e in endpoints.get_service_endpoints_by_names("second", ["azure"])] == [
        "azure"
    ]
    endpoints.delete_service_endpoint(created.id, [project.id])
    assert endpoints.get_service_endpoints_by_names("batcomputer", ["azure"]) == []
    assert endpoints.get_service_endpoint_details("batcomputer", created.id) is None
    endpoints.delete_service_endpoint(created.id, [second.id])
    assert emulator.store.state["serviceEndpoints"] == {}
    with pytest.raises(AzureDevOpsServiceError):
        endpoints.delete_service_endpoint(created.id, [second.id])


def test_bulk_update_changes_all_or_nothing(sdk, project, emulator):
    endpoints = sdk.get_service_endpoint_client()
    one = endpoints.create_service_endpoint(_azure_rm(project, "one"))
    two = endpoints.create_service_endpoint(_azure_rm(project, "two"))
    bodies = [endpoints._serialize.body(e, "ServiceEndpoint") for e in (one, two)]
    for body in bodies:
        body["description"] = "bulk"
    answer = call(
        emulator, "PUT", "_apis/serviceendpoint/endpoints", json=bodies, api_version="7.1-preview.4"
    )
    assert [e["description"] for e in answer.json()["value"]] == ["bulk", "bulk"]
    bodies[0]["description"] = "not kept"
    bodies[1]["name"] = "one"
    clash = call(
        emulator, "PUT", "_apis/serviceendpoint/endpoints", json=bodies, api_version="7.1-preview.4"
    )
    assert (clash.status_code, clash.json()["typeKey"]) == (
        500,
        "DuplicateServiceConnectionException",
    )
    assert emulator.store.state["serviceEndpoints"][one.id]["description"] == "bulk"
