"""Pure conversions of each resource kind: config -> API body -> view round trips, diffs."""

import pytest

from bootstrap.config import load_config
from bootstrap.resources import permissions, pipeline, service_connection, variable_group
from bootstrap.resources.base import FieldChange, diff_views
from tests.conftest import REPO_ROOT

PROJECT = {"id": "p-1", "name": "batcomputer"}


@pytest.fixture(scope="module")
def cfg():
    return load_config(REPO_ROOT / "config" / "demo.yaml")


def ids(cfg):
    return {p.name: i for i, p in enumerate(cfg.pipelines, start=10)}


def test_pipeline_body_view_round_trip_equals_desired(cfg):
    repo = {"id": "r-1", "name": "batcomputer", "remoteUrl": "http://x/_git/batcomputer"}
    queue = {"id": 4, "name": "Azure Pipelines"}
    names = {v: k for k, v in ids(cfg).items()}
    for pipe in cfg.pipelines:
        body = pipeline.to_body(
            cfg,
            pipe.name,
            queue=queue,
            repository=pipeline.repository_body(cfg, repo, None),
            ids_by_name=ids(cfg),
        )
        assert pipeline.view(body, names) == pipeline.desired(cfg, pipe.name)


def test_pipeline_build_api_has_completion_trigger_on_training(cfg):
    body = pipeline.to_body(
        cfg,
        "titanic-build-api",
        queue={"id": 1, "name": "Azure Pipelines"},
        repository={"id": "r", "name": "batcomputer", "type": "TfsGit"},
        ids_by_name=ids(cfg),
    )
    completion = [t for t in body["triggers"] if t["triggerType"] == "buildCompletion"]
    assert completion == [
        {
            "triggerType": "buildCompletion",
            "definition": {"id": ids(cfg)["titanic-training"]},
            "branchFilters": ["+refs/heads/main"],
            "requiresSuccessfulBuild": True,
        }
    ]
    assert body["process"] == {"type": 2, "yamlFilename": "pipelines/titanic-build-api.yml"}


def test_pipeline_view_shows_unknown_upstream_by_id_and_leading_slash_is_equal(cfg):
    definition = {
        "path": "\\titanic",
        "process": {"type": 2, "yamlFilename": "/pipelines/titanic-build-api.yml"},
        "triggers": [
            {
                "triggerType": "buildCompletion",
                "definition": {"id": 99},
                "branchFilters": ["+refs/heads/main"],
                "requiresSuccessfulBuild": True,
            }
        ],
    }
    got = pipeline.view(definition, {})
    assert got["yaml"] == "pipelines/titanic-build-api.yml"
    assert got["after"] == "#99 [+refs/heads/main]"


def test_pipeline_merged_body_keeps_unmanaged_fields_and_triggers(cfg):
    actual = {
        "id": 3,
        "revision": 7,
        "name": "titanic-training",
        "variables": {"X": {"value": "1"}},
        "triggers": [
            {"triggerType": "schedule", "schedules": []},
            {"triggerType": "continuousIntegration", "settingsSourceType": 1},
        ],
        "_links": {},
        "createdDate": "2020",
    }
    new = pipeline.to_body(
        cfg,
        "titanic-training",
        queue={"id": 1, "name": "Azure Pipelines"},
        repository={"id": "r", "name": "batcomputer", "type": "TfsGit"},
        ids_by_name=ids(cfg),
    )
    merged = pipeline.merged_body(actual, new)
    assert merged["revision"] == 7 and merged["variables"] == {"X": {"value": "1"}}
    assert [t["triggerType"] for t in merged["triggers"]] == [
        "schedule",
        "continuousIntegration",
        "pullRequest",
    ]
    assert "_links" not in merged and "createdDate" not in merged


def test_pipeline_match_prefers_the_configured_folder():
    defs = [{"id": 1, "name": "a", "path": "\\old"}, {"id": 2, "name": "a", "path": "\\new"}]
    assert pipeline.match(defs, "a", "\\new")["id"] == 2
    assert pipeline.match(defs[:1], "a", "\\new")["id"] == 1
    assert pipeline.match(defs, "b", "\\new") is None


def test_pipeline_common_folder_of_yaml_paths():
    assert pipeline._common_folder({"pipelines/a.yml", "pipelines/b.yml"}) == "pipelines"
    assert pipeline._common_folder({"ci/a.yml", "pipelines/b.yml"}) == ""


def test_pipeline_github_repository_body_uses_the_connection(tmp_path):
    text = (
        (REPO_ROOT / "config" / "demo.yaml")
        .read_text()
        .replace(
            "  type: azure-repos\n  name: batcomputer\n",
            "  type: github\n  name: contoso/mlops\n  service_connection: gh\n",
        )
    )
    path = tmp_path / "gh.yaml"
    path.write_text(text)
    gh = load_config(path)
    body = pipeline.repository_body(gh, None, {"id": "se-9"})
    assert body["type"] == "GitHub" and body["properties"]["connectedServiceId"] == "se-9"
    assert pipeline.view({"repository": body}, {})["repository"] == "github:contoso/mlops"


def test_variable_group_body_view_round_trip_and_secrets_carry_no_value(cfg):
    want = variable_group.desired(cfg)
    body = variable_group.to_body(want, name="shared-variables", project=PROJECT)
    assert body["variables"]["ACR_PASSWORD"] == {"isSecret": True}
    assert body["variables"]["AZURE_SVC_CONNECTION"] == {"value": "azure-mlops", "isSecret": False}
    assert variable_group.view(body) == want
    assert body["variableGroupProjectReferences"][0]["projectReference"] == PROJECT


def test_variable_group_diff_secret_is_sensitive_and_values_named(cfg):
    want = variable_group.desired(cfg)
    have = {
        **want,
        "variables": {**want["variables"], "AZML_RESGRP": "old", "EXTRA": "x"},
        "secrets": ["OLD_SECRET"],
    }
    changes = variable_group.diff(want, have)
    assert FieldChange("variables.AZML_RESGRP", "old", "demo-rg") in changes
    assert FieldChange("variables.EXTRA", "x", None) in changes
    assert FieldChange("secrets.ACR_PASSWORD", None, "(sensitive)", True) in changes
    assert FieldChange("secrets.OLD_SECRET", "(sensitive)", None, True) in changes
    assert variable_group.diff(want, want) == []


def test_variable_group_view_ignores_secret_values():
    group = {
        "description": "d",
        "variables": {"S": {"isSecret": True, "value": None}, "P": {"value": 5}},
    }
    assert variable_group.view(group) == {
        "description": "d",
        "variables": {"P": "5"},
        "secrets": ["S"],
    }


def test_service_connection_body_view_round_trip(cfg):
    want = service_connection.desired(cfg)
    body = service_connection.to_body(want, name="azure-mlops", project=PROJECT)
    assert service_connection.view(body) == want
    assert body["authorization"]["scheme"] == "WorkloadIdentityFederation"
    assert service_connection.MARK in body["description"]
    assert body["serviceEndpointProjectReferences"][0]["projectReference"] == PROJECT


def test_service_connection_key_sent_only_for_service_principal_and_never_viewed(cfg):
    want = {**service_connection.desired(cfg), "scheme": "ServicePrincipal"}
    body = service_connection.to_body(want, name="n", project=PROJECT, secret="s3cret-key")
    assert body["authorization"]["parameters"]["serviceprincipalkey"] == "s3cret-key"
    assert "s3cret-key" not in repr(service_connection.view(body))
    wif = service_connection.to_body(
        service_connection.desired(cfg), name="n", project=PROJECT, secret="s3cret-key"
    )
    assert "serviceprincipalkey" not in wif["authorization"]["parameters"]


def test_service_connection_deletable_only_when_created_and_marked(cfg):
    marked = {"description": f"x {service_connection.MARK}"}
    assert service_connection.deletable(cfg, marked)
    assert not service_connection.deletable(cfg, {"description": "made by hand"})
    assert not service_connection.deletable(cfg, None)


def test_permissions_body_authorises_wanted_and_revokes_others(cfg):
    want = permissions.desired(cfg, permissions.ENDPOINT)
    actual = {"pipelines": [{"id": 99, "authorized": True}, {"id": 10, "authorized": True}]}
    body = permissions.to_body(want, "endpoint", "se-1", actual, ids(cfg))
    assert body["allPipelines"] == {"authorized": False}
    assert {"id": 99, "authorized": False} in body["pipelines"]
    assert sorted(p["id"] for p in body["pipelines"] if p["authorized"]) == sorted(
        ids(cfg).values()
    )
    names = {v: k for k, v in ids(cfg).items()}
    after = {"pipelines": [p for p in body["pipelines"] if p["authorized"]]}
    assert permissions.view(after, names) == want


def test_permissions_variable_group_open_to_all_by_default(cfg):
    want = permissions.desired(cfg, permissions.VARIABLE_GROUP)
    assert want == {"all_pipelines": True}
    body = permissions.to_body(want, "variablegroup", 1, None, ids(cfg))
    assert permissions.view(body, {}) == want


def test_diff_views_nested_and_flat():
    changes = diff_views({"a": 1, "m": {"x": 1, "y": 2}}, {"a": 2, "m": {"x": 1, "z": 3}})
    assert changes == [
        FieldChange("a", 2, 1),
        FieldChange("m.y", None, 2),
        FieldChange("m.z", 3, None),
    ]


def test_pipeline_git_blob_id_matches_git_hash_object(tmp_path):
    import subprocess

    path = tmp_path / "x.yml"
    path.write_bytes(b"trigger: none\nsteps: []\n")
    expected = subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert pipeline.git_blob_id(path.read_bytes()) == expected


def test_resources_every_kind_declares_kind_keys_and_conversions(cfg):
    from bootstrap.resources import KINDS

    assert [k.KIND for k in KINDS] == [
        "project",
        "service_connection",
        "variable_group",
        "pipeline",
        "permissions",
    ]
    for kind in KINDS:
        assert kind.keys(cfg), kind.KIND
        assert all(isinstance(key, str) and key for key in kind.keys(cfg))
        for name in ("view", "desired", "read"):
            assert callable(getattr(kind, name)), f"{kind.KIND}.{name}"
