"""Plain-HTTP behaviour: authentication, api-version, routing, collections, status codes."""

from __future__ import annotations

import base64

import pytest
import requests
from azure.devops.exceptions import AzureDevOpsAuthenticationError

from tests.emulator.helpers import auth_headers, call, clients


def _basic(user: str, pat: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pat}".encode()).decode()


@pytest.mark.parametrize("authorization", [None, _basic("", "wrong"), "Bearer abc", "Basic !!!"])
def test_auth_missing_or_wrong_answers_401_with_empty_body(emulator, authorization):
    headers = {"X-TFS-FedAuthRedirect": "Suppress"}
    if authorization:
        headers["Authorization"] = authorization
    answer = requests.get(f"{emulator.url}/_apis/projects", headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.content == b""
    challenges = answer.raw.headers.getlist("WWW-Authenticate")
    assert challenges[0].startswith("Bearer authorization_uri=")
    assert challenges[1].startswith("Basic realm=")
    assert challenges[2] == "TFS-Federated"


def test_auth_without_suppress_header_answers_203_sign_in_page(emulator):
    answer = requests.get(f"{emulator.url}/_apis/projects", timeout=5)
    assert answer.status_code == 203
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "Sign In" in answer.text
    wrong = requests.get(
        f"{emulator.url}/_apis/projects", headers={"Authorization": _basic("", "x")}, timeout=5
    )
    assert wrong.status_code == 401


def test_auth_any_user_name_with_an_accepted_pat_is_let_in(emulator_factory):
    emu = emulator_factory(pats=("one", "two"))
    answer = requests.get(
        f"{emu.url}/_apis/projects", headers={"Authorization": _basic("anyone", "two")}, timeout=5
    )
    assert answer.status_code == 200


def test_auth_sdk_with_wrong_pat_raises_authentication_error(emulator):
    with pytest.raises(AzureDevOpsAuthenticationError):
        clients(emulator, pat="wrong").get_core_client().get_projects()


def test_api_version_from_query_string_and_content_type_echo(emulator):
    answer = requests.get(
        f"{emulator.url}/_apis/projects",
        params={"api-version": "7.1"},
        headers=auth_headers(api_version=None),
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8; api-version=7.1"


@pytest.mark.parametrize(
    ("method", "version", "type_key"),
    [
        ("POST", None, "VssVersionNotSpecifiedException"),
        ("GET", "9.0", "VssVersionOutOfRangeException"),
        ("GET", "7.1", "VssInvalidPreviewVersionException"),
        ("GET", "banana", "ArgumentException"),
    ],
)
def test_api_version_refused_as_the_service_does(emulator, method, version, type_key):
    answer = call(emulator, method, "batcomputer/_apis/build/folders", json={}, api_version=version)
    assert (answer.status_code, answer.json()["typeKey"]) == (400, type_key)


def test_routes_are_case_insensitive_and_segments_percent_decoded(emulator):
    assert (
        call(emulator, "GET", "BatComputer/_APIS/Build/Definitions", api_version="7.1").status_code
        == 200
    )
    created = call(
        emulator,
        "PUT",
        "batcomputer/_apis/build/folders/%5Ca%5Cb",
        json={},
        api_version="7.1-preview.2",
    )
    assert created.json()["path"] == "\\a\\b"
    project = call(emulator, "GET", "_apis/projects/bat%63omputer", api_version="7.1").json()
    assert project["name"] == "batcomputer"


def test_unknown_route_and_method_answer_404_and_405(emulator):
    unknown = call(emulator, "GET", "_apis/nothing/here")
    assert (unknown.status_code, unknown.json()["typeKey"]) == (404, "HttpException")
    wrong_method = call(emulator, "DELETE", "_apis/ConnectionData")
    assert wrong_method.status_code == 405
    other_org = requests.get(
        emulator.url.rsplit("/", 1)[0] + "/other/_apis/projects", headers=auth_headers(), timeout=5
    )
    assert other_org.status_code == 404


def test_collections_are_wrapped_with_count_and_value(emulator):
    body = call(emulator, "GET", "batcomputer/_apis/distributedtask/queues").json()
    assert set(body) == {"count", "value"}
    assert body["count"] == len(body["value"]) == 2


def test_invalid_json_body_answers_400(emulator):
    answer = requests.post(
        f"{emulator.url}/_apis/projects",
        data=b"{nope",
        headers={**auth_headers(api_version="7.1"), "Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 400


def test_keep_alive_serves_several_requests_on_one_connection(emulator):
    with requests.Session() as session:
        session.headers.update(auth_headers())
        for _ in range(3):
            assert session.get(f"{emulator.url}/_apis/projects", timeout=5).status_code == 200
        assert (
            session.get(f"{emulator.url}/_apis/projects", timeout=5).headers.get("Connection")
            != "close"
        )


def test_observer_receives_decoded_exchanges(emulator_factory):
    seen = []
    emu = emulator_factory(observer=seen.append)
    call(emu, "GET", "batcomputer/_apis/build/folders/%5Cx", api_version="7.1-preview.2")
    exchange = seen[-1]
    assert (exchange.method, exchange.status, exchange.route) == ("GET", 200, "build.folders.get")
    assert exchange.path.endswith("/_apis/build/folders/\\x")
    assert exchange.response_json == {"count": 0, "value": []}
