"""The ado layer's retry policy and error translation, over HTTP answers from `responses`."""

import logging
import random

import pytest
import requests
import responses

from bootstrap.ado import RetryPolicy, connect
from bootstrap.ado.retry import CREATE, READ, UPDATE, Decision, Failure, decide
from bootstrap.errors import ApiError, AuthError, Conflict, NotFound, RateLimited
from tests.unit.ado_fakes import fake_org

PROJECT = "mlops"
FAST = RetryPolicy(max_attempts=4, deadline=30.0, base_delay=0.01, max_delay=0.02)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def client(org, sleeps=None, policy=FAST):
    c = connect(org, "pat-secret-value", policy=policy)
    c._sleep = sleeps.append if sleeps is not None else lambda _s: None
    return c


def groups_url(org):
    return f"{org}/{PROJECT}/_apis/distributedtask/variablegroups"


GROUP = {"id": 7, "name": "shared-variables", "variables": {}}
BODY = {"name": "shared-variables", "variables": {"A": {"value": "1"}}}


def calls(rsps, method, url_part):
    return [c for c in rsps.calls if c.request.method == method and url_part in c.request.url]


def test_ado_read_429_waits_retry_after_then_succeeds(rsps):
    org = fake_org(rsps)
    rsps.add("GET", groups_url(org), status=429, headers={"Retry-After": "3"}, json={})
    rsps.add("GET", groups_url(org), json={"count": 1, "value": [GROUP]})
    sleeps = []
    assert client(org, sleeps).get_variable_group(PROJECT, "shared-variables") == GROUP
    assert sleeps == [3.0]


def test_ado_read_429_retry_after_is_capped(rsps):
    org = fake_org(rsps)
    rsps.add("GET", groups_url(org), status=429, headers={"Retry-After": "3600"}, json={})
    rsps.add("GET", groups_url(org), json={"count": 0, "value": []})
    sleeps = []
    policy = RetryPolicy(max_retry_after=5.0, deadline=60.0)
    assert client(org, sleeps, policy).get_variable_group(PROJECT, "x") is None
    assert sleeps == [5.0]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_ado_read_5xx_retried_with_backoff_by_our_policy_only(rsps, status):
    org = fake_org(rsps)
    rsps.add("GET", groups_url(org), status=status, json={"message": "boom"})
    rsps.add("GET", groups_url(org), json={"count": 1, "value": [GROUP]})
    sleeps = []
    assert client(org, sleeps).get_variable_group(PROJECT, "shared-variables") == GROUP
    assert len(calls(rsps, "GET", "variablegroups")) == 2  # msrest did not retry on its own
    assert len(sleeps) == 1


def test_ado_read_dropped_connection_retried(rsps):
    org = fake_org(rsps)
    rsps.add("GET", groups_url(org), body=requests.ConnectionError("Connection reset by peer"))
    rsps.add("GET", groups_url(org), json={"count": 1, "value": [GROUP]})
    assert client(org).get_variable_group(PROJECT, "shared-variables") == GROUP


def test_ado_update_5xx_retried(rsps):
    org = fake_org(rsps)
    url = f"{org}/_apis/distributedtask/variablegroups/7"
    rsps.add("PUT", url, status=503, json={"message": "unavailable"})
    rsps.add("PUT", url, json=GROUP)
    c = client(org)
    assert c.update_variable_group(7, BODY) == GROUP
    assert c.writes == 2


def test_ado_create_5xx_rereads_by_name_and_never_repeats_when_found(rsps):
    org = fake_org(rsps)
    rsps.add("POST", f"{org}/_apis/distributedtask/variablegroups", status=500, json={})
    rsps.add("GET", groups_url(org), json={"count": 1, "value": [GROUP]})
    assert client(org).create_variable_group(PROJECT, BODY) == GROUP
    assert len(calls(rsps, "POST", "variablegroups")) == 1


def test_ado_create_dropped_connection_not_found_on_reread_creates_again(rsps):
    org = fake_org(rsps)
    url = f"{org}/_apis/distributedtask/variablegroups"
    rsps.add("POST", url, body=requests.ConnectionError("Connection aborted"))
    rsps.add("GET", groups_url(org), json={"count": 0, "value": []})
    rsps.add("POST", url, json=GROUP)
    assert client(org).create_variable_group(PROJECT, BODY) == GROUP
    assert len(calls(rsps, "POST", "variablegroups")) == 2
    assert len(calls(rsps, "GET", "variablegroups")) == 1


def test_ado_create_429_retried_without_reread(rsps):
    org = fake_org(rsps)
    url = f"{org}/_apis/distributedtask/variablegroups"
    rsps.add("POST", url, status=429, headers={"Retry-After": "1"}, json={})
    rsps.add("POST", url, json=GROUP)
    sleeps = []
    assert client(org, sleeps).create_variable_group(PROJECT, BODY) == GROUP
    assert sleeps == [1.0]
    assert calls(rsps, "GET", "variablegroups") == []


def test_ado_retries_bounded_final_error_says_what_happened(rsps):
    org = fake_org(rsps)
    rsps.add("GET", groups_url(org), status=503, json={"message": "down for maintenance"})
    with pytest.raises(ApiError) as info:
        client(org).get_variable_group(PROJECT, "x")
    text = str(info.value)
    assert "gave up after 4 attempts" in text
    assert "HTTP 503: down for maintenance" in text
    assert len(calls(rsps, "GET", "variablegroups")) == 4


def test_ado_429_beyond_budget_is_rate_limited(rsps):
    org = fake_org(rsps)
    rsps.add("GET", groups_url(org), status=429, headers={"Retry-After": "0"}, json={})
    with pytest.raises(RateLimited, match="HTTP 429"):
        client(org).get_variable_group(PROJECT, "x")


def test_ado_401_names_the_pat_scopes(rsps):
    org = fake_org(rsps)
    rsps.add("GET", groups_url(org), status=401, body="")
    with pytest.raises(AuthError) as info:
        client(org).get_variable_group(PROJECT, "x")
    text = str(info.value)
    assert "rejected the personal access token" in text
    for scope in (
        "Build (read & execute)",
        "Service Connections (read, query & manage)",
        "Variable Groups (read, create & manage)",
        "Project and Team (read)",
        "Code (read)",
    ):
        assert scope in text
    assert info.value.exit_code == 1


def test_ado_html_sign_in_page_is_auth_error(rsps):
    org = fake_org(rsps)
    rsps.add(
        "GET",
        groups_url(org),
        status=203,
        content_type="text/html",
        body="<html><body>Sign in to your account</body></html>",
    )
    with pytest.raises(AuthError, match=r"web page .*sign-in page.* instead of JSON"):
        client(org).get_variable_group(PROJECT, "x")


def test_ado_unknown_organisation_is_not_found(rsps):
    org = "https://dev.azure.com/no-such-org-xyz"
    rsps.add("OPTIONS", f"{org}/_apis", status=404, json={"message": "not found"})
    with pytest.raises(NotFound, match=r"organisation https://dev\.azure\.com/no-such-org-xyz"):
        client(org).get_variable_group(PROJECT, "x")


def test_ado_conflict_is_translated(rsps):
    org = fake_org(rsps)
    rsps.add(
        "POST",
        f"{org}/_apis/distributedtask/variablegroups",
        status=409,
        json={
            "message": "Variable group shared-variables already exists.",
            "typeKey": "VariableGroupExistsException",
        },
    )
    rsps.add("GET", groups_url(org), json={"count": 0, "value": []})  # not visible to us
    with pytest.raises(Conflict, match="already exists"):
        client(org).create_variable_group(PROJECT, BODY)


def test_ado_404_read_or_none_is_none(rsps):
    org = fake_org(rsps)
    rsps.add(
        "GET",
        f"{org}/_apis/projects/ghost",
        status=404,
        json={
            "message": "TF200016: project ghost does not exist",
            "typeKey": "ProjectDoesNotExistWithNameException",
        },
    )
    assert client(org).get_project("ghost") is None


def test_ado_write_is_logged_without_body_and_counted(rsps, caplog):
    org = fake_org(rsps)
    rsps.add("PUT", f"{org}/_apis/distributedtask/variablegroups/7", json=GROUP)
    c = client(org)
    with caplog.at_level(logging.INFO, logger="bootstrap.ado"):
        c.update_variable_group(7, {"name": "g", "variables": {"S": {"value": "body-value-x"}}})
    assert c.writes == 1
    assert "update variable group g" in caplog.text
    assert "body-value-x" not in caplog.text


# ---- the pure policy --------------------------------------------------------------------


def test_ado_retry_decide_create_after_5xx_rereads_first():
    d = decide(RetryPolicy(), CREATE, Failure(500), 1, 0.0, random.Random(1))
    assert d.action == "reread"


def test_ado_retry_decide_read_after_reset_retries():
    assert decide(RetryPolicy(), READ, Failure(None), 1, 0.0).action == "retry"


def test_ado_retry_decide_client_errors_fail_at_once():
    for status in (400, 401, 403, 404, 409):
        assert decide(RetryPolicy(), UPDATE, Failure(status), 1, 0.0) == Decision("fail")


def test_ado_retry_decide_respects_deadline_and_attempts():
    policy = RetryPolicy(max_attempts=3, deadline=10.0)
    assert decide(policy, READ, Failure(503), 3, 0.0).action == "fail"
    assert decide(policy, READ, Failure(429, retry_after=5.0), 1, 6.0).action == "fail"
    assert decide(policy, READ, Failure(429, retry_after=5.0), 1, 4.0) == Decision("retry", 5.0)


def test_ado_retry_backoff_grows_and_is_capped():
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(0)
    waits = [policy.backoff(n, rng) for n in range(1, 8)]
    assert all(w <= 4.0 for w in waits)
    assert waits[0] <= 0.5 < waits[3]


def test_ado_retry_policy_from_env_overrides(monkeypatch):
    from bootstrap.ado import policy_from_env
    from bootstrap.errors import UsageError

    monkeypatch.setenv("BOOTSTRAP_RETRY_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("BOOTSTRAP_RETRY_MAX_DELAY", "0.5")
    policy = policy_from_env()
    assert (policy.max_attempts, policy.max_delay, policy.max_retry_after) == (2, 0.5, 0.5)
    monkeypatch.setenv("BOOTSTRAP_RETRY_DEADLINE", "soon")
    with pytest.raises(UsageError, match="BOOTSTRAP_RETRY_DEADLINE"):
        policy_from_env()


def test_ado_create_conflict_adopts_the_existing_one(rsps):
    org = fake_org(rsps)
    rsps.add(
        "POST",
        f"{org}/{PROJECT}/_apis/build/definitions",
        status=400,
        json={
            "message": "Build pipeline x already exists.",
            "typeKey": "DefinitionExistsException",
        },
    )
    existing = {"id": 3, "name": "x", "path": "\\t"}
    rsps.add(
        "GET", f"{org}/{PROJECT}/_apis/build/definitions", json={"count": 1, "value": [existing]}
    )
    c = client(org)
    assert c.create_definition(PROJECT, {"name": "x", "path": "\\t"}) == existing
    assert len(calls(rsps, "POST", "definitions")) == 1


def test_ado_duplicate_service_connection_500_is_a_conflict_and_adopted(rsps):
    org = fake_org(rsps)
    rsps.add(
        "POST",
        f"{org}/_apis/serviceendpoint/endpoints",
        status=500,
        json={
            "message": "Service connection with name sc already exists.",
            "typeKey": "DuplicateServiceConnectionException",
        },
    )
    existing = {"id": "se-1", "name": "sc"}
    rsps.add(
        "GET",
        f"{org}/{PROJECT}/_apis/serviceendpoint/endpoints",
        json={"count": 1, "value": [existing]},
    )
    sleeps = []
    assert client(org, sleeps).create_service_endpoint(PROJECT, {"name": "sc"}) == existing
    assert len(calls(rsps, "POST", "endpoints")) == 1
    assert sleeps == []  # no pointless retry of a conflict


def test_ado_duplicate_on_update_fails_at_once_as_conflict(rsps):
    org = fake_org(rsps)
    rsps.add(
        "PUT",
        f"{org}/_apis/serviceendpoint/endpoints/se-1",
        status=500,
        json={
            "message": "Service connection with name x already exists.",
            "typeKey": "DuplicateServiceConnectionException",
        },
    )
    with pytest.raises(Conflict, match="already exists"):
        client(org).update_service_endpoint("se-1", {"name": "x"})
    assert len(calls(rsps, "PUT", "endpoints")) == 1


def test_ado_list_definitions_follows_continuation_tokens_and_retries_each_page(rsps):
    org = fake_org(rsps)
    url = f"{org}/{PROJECT}/_apis/build/definitions"
    first = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    rsps.add(
        "GET",
        url,
        json={"count": 2, "value": first},
        headers={"x-ms-continuationtoken": "page-2"},
        match=[responses.matchers.query_param_matcher({"includeAllProperties": "true"})],
    )
    page_two = [
        responses.matchers.query_param_matcher(
            {"includeAllProperties": "true", "continuationToken": "page-2"}
        )
    ]
    rsps.add("GET", url, status=503, json={}, match=page_two)
    rsps.add("GET", url, json={"count": 1, "value": [{"id": 3, "name": "c"}]}, match=page_two)
    sleeps = []
    found = client(org, sleeps).list_definitions(PROJECT)
    assert [d["id"] for d in found] == [1, 2, 3]
    assert len(calls(rsps, "GET", "/_apis/build/definitions")) == 3
    assert len(sleeps) == 1
