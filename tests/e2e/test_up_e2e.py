"""`bootstrap up/plan/status/down` against the emulator, asserting on its stored state."""

import json

import yaml

from bootstrap.ado import connect
from bootstrap.resources.service_connection import MARK
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import (
    DEMO_CONFIG,
    PIPELINES,
    assert_no_duplicates,
    definitions,
    endpoint,
    group,
    permission,
    run,
    settled_writes,
)

PREVIEW = "7.1-preview.1"  # pipeline permissions are a preview API: it must be asked for
DEMO = yaml.safe_load(DEMO_CONFIG.read_text())


def up(emu, *args, **kwargs):
    result = run(emu, "up", "--yes", *args, **kwargs)
    assert result.exit_code == 0, result.output
    return result


def plan_json(emu):
    result = run(emu, "plan", "--output", "json", "--detailed-exitcode")
    assert result.exit_code in (0, 2), result.output
    return json.loads(result.output)


def project_id(emu):
    return next(p["id"] for p in emu.store.state["projects"].values() if p["name"] == "batcomputer")


def test_up_fresh_project_creates_everything(emu, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # repository.local_path "." is this checkout
    result = up(emu)
    state = emu.store.state
    defs = definitions(emu)
    assert sorted(defs) == sorted(PIPELINES)
    repo = next(r for r in state["repositories"].values() if r["name"] == "batcomputer")
    queue = next(q for q in state["queues"].values() if q["name"] == "Azure Pipelines")
    for name, d in defs.items():
        model = name.split("-")[0]
        assert d["process"] == {"type": 2, "yamlFilename": f"pipelines/{name}.yml"}
        assert d["path"] == f"\\{model}"
        assert d["queueId"] == queue["id"]
        assert d["repository"]["id"] == repo["id"]
        assert d["repository"]["type"] == "TfsGit"
        assert d["repository"]["defaultBranch"] == "refs/heads/main"
        kinds = sorted(t["triggerType"] for t in d["triggers"])
        completion = [t for t in d["triggers"] if t["triggerType"] == "buildCompletion"]
        if name.endswith("build-api"):
            assert kinds == ["buildCompletion", "continuousIntegration", "pullRequest"]
            assert completion[0]["definitionId"] == defs[f"{model}-training"]["id"]
            assert completion[0]["branchFilters"] == ["+refs/heads/main"]
            assert completion[0]["requiresSuccessfulBuild"] is True
        else:
            assert kinds == ["continuousIntegration", "pullRequest"]
        assert all(t["settingsSourceType"] == 2 for t in d["triggers"] if t not in completion)

    g = group(emu)
    plain = {k: v["value"] for k, v in g["variables"].items() if not v.get("isSecret")}
    expected = {k: str(v) for k, v in DEMO["variable_group"]["variables"].items()}
    assert plain == {**expected, "AZURE_SVC_CONNECTION": "azure-mlops"}
    assert g["variables"]["ACR_PASSWORD"]["isSecret"] is True
    assert permission(emu, "variablegroup", g["id"])["allPipelines"]["authorized"] is True

    sc = endpoint(emu)
    assert sc["type"].lower() == "azurerm"
    assert sc["authorization"]["scheme"] == "WorkloadIdentityFederation"
    assert sc["authorization"]["parameters"]["tenantid"] == DEMO["service_connection"]["tenant_id"]
    assert sc["data"]["subscriptionId"] == DEMO["service_connection"]["subscription_id"]
    assert MARK in sc["description"]
    perm = permission(emu, "endpoint", sc["id"])
    assert not (perm.get("allPipelines") or {}).get("authorized")
    authorised = {int(i) for i, p in perm["pipelines"].items() if p["authorized"]}
    assert authorised == {d["id"] for d in defs.values()}

    contents = [e for e in emu.request_log if e["query"].get("includeContent")]
    assert contents == []  # the build-api YAMLs were read from the identical local checkout
    assert f"{emu.url}/batcomputer/_build?definitionId=" in result.output
    assert "issuer" in result.output
    assert "subject sc://demo/batcomputer/azure-mlops" in result.output
    assert_no_duplicates(emu)


def test_up_second_run_makes_zero_writes(emu):
    up(emu)
    writes = len(settled_writes(emu))
    before = len(emu.request_log)
    again = up(emu)
    assert "No changes" in again.output
    assert len(settled_writes(emu)) == writes
    assert len(emu.request_log) - before <= 8


def test_plan_shows_drift_exactly_and_up_repairs_it(emu, rest):
    up(emu)
    defs = definitions(emu)
    pid = project_id(emu)

    training = rest.call(
        "GET", f"batcomputer/_apis/build/definitions/{defs['batcomputer-training']['id']}"
    )
    training["process"]["yamlFilename"] = "pipelines/other.yml"
    rest.call("PUT", f"batcomputer/_apis/build/definitions/{training['id']}", json=training)

    api = rest.call("GET", f"batcomputer/_apis/build/definitions/{defs['titanic-build-api']['id']}")
    api["triggers"] = [t for t in api["triggers"] if t["triggerType"] != "buildCompletion"]
    rest.call("PUT", f"batcomputer/_apis/build/definitions/{api['id']}", json=api)

    g = rest.call(
        "GET",
        "batcomputer/_apis/distributedtask/variablegroups",
        params={"groupName": "shared-variables"},
    )["value"][0]
    g["variables"]["AZML_RESGRP"] = {"value": "edited-rg", "isSecret": False}
    g["variables"]["ACR_PASSWORD"] = {"isSecret": True}
    g["variableGroupProjectReferences"] = [
        {"projectReference": {"id": pid, "name": "batcomputer"}, "name": g["name"]}
    ]
    rest.call("PUT", f"_apis/distributedtask/variablegroups/{g['id']}", json=g)

    rest.call(
        "PATCH",
        f"batcomputer/_apis/pipelines/pipelinePermissions/variablegroup/{g['id']}",
        json={"allPipelines": {"authorized": False}},
        version=PREVIEW,
    )
    sc = endpoint(emu)
    revoked = defs["titanic-data-load"]["id"]
    rest.call(
        "PATCH",
        f"batcomputer/_apis/pipelines/pipelinePermissions/endpoint/{sc['id']}",
        json={"pipelines": [{"id": revoked, "authorized": False}]},
        version=PREVIEW,
    )

    plan = plan_json(emu)
    got = {
        (c["kind"], c["name"], c["action"]): [
            (f["field"], f["old"], f["new"]) for f in c["changed_fields"]
        ]
        for c in plan["changes"]
    }
    everyone = sorted(PIPELINES)
    assert got == {
        ("pipeline", "batcomputer-training", "update"): [
            ("yaml", "pipelines/other.yml", "pipelines/batcomputer-training.yml")
        ],
        ("pipeline", "titanic-build-api", "update"): [
            ("after", None, "titanic-training [+refs/heads/main]")
        ],
        ("variable_group", "shared-variables", "update"): [
            ("variables.AZML_RESGRP", "edited-rg", "demo-rg")
        ],
        ("permissions", "shared-variables (variable group)", "update"): [
            ("all_pipelines", False, True)
        ],
        ("permissions", "azure-mlops (service connection)", "update"): [
            ("pipelines", [n for n in everyone if n != "titanic-data-load"], everyone)
        ],
    }
    assert plan["summary"] == {"create": 0, "update": 5, "delete": 0, "unchanged": 6}

    up(emu)
    assert plan_json(emu)["changes"] == []
    assert definitions(emu)["batcomputer-training"]["process"]["yamlFilename"] == (
        "pipelines/batcomputer-training.yml"
    )
    assert group(emu)["variables"]["AZML_RESGRP"]["value"] == "demo-rg"
    assert_no_duplicates(emu)


def test_plan_group_deleted_shows_create_and_up_recreates(emu, rest):
    up(emu)
    g = group(emu)
    rest.call(
        "DELETE",
        f"_apis/distributedtask/variablegroups/{g['id']}",
        params={"projectIds": project_id(emu)},
    )
    plan = plan_json(emu)
    actions = {(c["kind"], c["name"]): c["action"] for c in plan["changes"]}
    assert actions == {
        ("variable_group", "shared-variables"): "create",
        ("permissions", "shared-variables (variable group)"): "create",
    }
    text = run(emu, "plan").output
    assert "+ variable_group shared-variables" in text
    assert "secrets.ACR_PASSWORD: (sensitive)" in text
    up(emu)
    g2 = group(emu)
    assert g2 is not None and g2["id"] != g["id"]
    assert permission(emu, "variablegroup", g2["id"])["allPipelines"]["authorized"] is True
    assert plan_json(emu)["changes"] == []


def test_status_reports_present_drifted_missing_with_urls(emu, rest):
    up(emu)
    sc = endpoint(emu)
    rest.call(
        "PATCH",
        f"batcomputer/_apis/pipelines/pipelinePermissions/endpoint/{sc['id']}",
        json={
            "pipelines": [{"id": definitions(emu)["titanic-training"]["id"], "authorized": False}]
        },
        version=PREVIEW,
    )
    d = definitions(emu)["batcomputer-data-load"]
    rest.call("DELETE", f"batcomputer/_apis/build/definitions/{d['id']}")
    result = run(emu, "status", "--output", "json")
    assert result.exit_code == 0, result.output
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.output)["resources"]}
    assert rows[("pipeline", "batcomputer-data-load")]["state"] == "missing"
    assert rows[("permissions", "azure-mlops (service connection)")]["state"] == "drifted"
    assert rows[("pipeline", "titanic-training")]["state"] == "present"
    assert rows[("pipeline", "titanic-training")]["url"].startswith(f"{emu.url}/batcomputer/_build")
    text = run(emu, "status").output
    assert "missing" in text and "drifted" in text


def test_down_removes_everything_bootstrap_created(emu):
    up(emu)
    result = run(emu, "down", "--yes")
    assert result.exit_code == 0, result.output
    assert definitions(emu) == {}
    assert group(emu) is None
    assert endpoint(emu) is None
    writes = len(settled_writes(emu))
    again = run(emu, "down", "--yes")
    assert again.exit_code == 0
    assert len(settled_writes(emu)) == writes


def test_down_keeps_a_service_connection_it_did_not_create(emu, tmp_path):
    cfg = dict(DEMO)
    up(emu)
    sc = endpoint(emu)
    sc_desc = sc["description"]
    emu.store.state["serviceEndpoints"][sc["id"]]["description"] = "made by hand"
    config = tmp_path / "existing.yaml"
    cfg["service_connection"] = {"name": "azure-mlops", "mode": "existing"}
    config.write_text(yaml.safe_dump(cfg))
    result = run(emu, "down", "--yes", config=config)
    assert result.exit_code == 0, result.output
    assert endpoint(emu) is not None
    assert "kept: not created by bootstrap" in result.output
    assert sc_desc != "made by hand"


def test_up_missing_yaml_fails_clearly_and_writes_nothing(emu, tmp_path):
    cfg = yaml.safe_load(DEMO_CONFIG.read_text())
    cfg["pipelines"][1]["yaml"] = "pipelines/no-such-file.yml"
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(cfg))
    result = run(emu, "up", "--yes", config=config)
    assert result.exit_code == 1
    assert (
        "YAML file not found in repository batcomputer at branch main: "
        "pipelines/no-such-file.yml" in result.output
    )
    assert "Traceback" not in result.output
    assert settled_writes(emu) == []


def test_up_without_terminal_or_yes_refuses_and_writes_nothing(emu):
    result = run(emu, "up")
    assert result.exit_code == 2
    assert "pass --yes" in result.output
    assert settled_writes(emu) == []


def test_plan_unknown_project_lists_the_visible_ones(emu):
    result = run(emu, "plan", "--project", "nope")
    assert result.exit_code == 1
    assert "project nope not found" in result.output
    assert "projects this PAT can see: batcomputer" in result.output


def test_plan_rejected_pat_names_scopes(emu):
    result = run(emu, "plan", env={"AZURE_DEVOPS_EXT_PAT": "wrong-pat"})
    assert result.exit_code == 1
    assert "Variable Groups (read, create & manage)" in result.output
    assert "wrong-pat" not in result.output


def test_plan_detailed_exitcode_and_json_summary(emu):
    fresh = run(emu, "plan", "--output", "json", "--detailed-exitcode")
    assert fresh.exit_code == 2
    data = json.loads(fresh.output)
    assert data["summary"] == {"create": 10, "update": 0, "delete": 0, "unchanged": 1}
    vg = next(c for c in data["changes"] if c["kind"] == "variable_group")
    secret = next(f for f in vg["changed_fields"] if f["field"] == "secrets.ACR_PASSWORD")
    assert secret == {
        "field": "secrets.ACR_PASSWORD",
        "old": None,
        "new": "(sensitive)",
        "sensitive": True,
    }
    assert settled_writes(emu) == []
    up(emu)
    assert run(emu, "plan", "--detailed-exitcode").exit_code == 0


def write_config(tmp_path, **changes):
    cfg = yaml.safe_load(DEMO_CONFIG.read_text())
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        cfg[section][key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_up_creates_the_project_when_configured(make_emulator, tmp_path):
    emu = make_emulator(projects=())
    config = write_config(tmp_path, project__create_if_missing=True)
    result = run(emu, "up", "--yes", config=config)
    assert result.exit_code == 0, result.output
    assert "created project batcomputer" in result.output
    assert [p["name"] for p in emu.store.state["projects"].values()] == ["batcomputer"]
    assert sorted(definitions(emu)) == sorted(PIPELINES)
    assert run(emu, "plan", "--detailed-exitcode", config=config).exit_code == 0


def test_plan_existing_service_connection_missing_names_similar_ones(emu, tmp_path):
    up(emu)
    config = write_config(tmp_path, service_connection__mode="existing")
    config.write_text(config.read_text().replace("name: azure-mlops", "name: azure-mlop"))
    result = run(emu, "plan", config=config)
    assert result.exit_code == 1
    assert "service connection azure-mlop not found" in result.output
    assert "similar: azure-mlops" in result.output


def test_plan_warns_when_yaml_also_declares_a_pipeline_resource_trigger(
    make_emulator, pipelines_repo, tmp_path
):
    import shutil
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(pipelines_repo, repo)
    api = repo / "pipelines" / "titanic-build-api.yml"
    api.write_text(
        api.read_text()
        + "\nresources:\n  pipelines:\n    - pipeline: training\n      source: titanic-training\n"
        "      trigger: true\n"
    )
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@invalid",
            "commit",
            "-qam",
            "double",
        ],
        check=True,
    )
    emu = make_emulator(repo_dir=str(repo))
    result = run(emu, "plan")
    assert result.exit_code == 0, result.output
    assert "warning: pipelines/titanic-build-api.yml declares a resources.pipelines trigger" in (
        result.output
    )
    assert "batcomputer-build-api.yml declares" not in result.output


def test_up_on_a_terminal_asks_and_applies_only_after_yes(emu):
    import os

    from tests.e2e.test_vars_tty import on_tty

    env = {**os.environ, "AZURE_DEVOPS_EXT_PAT": "demo-pat"}
    argv = ["up", "--config", str(DEMO_CONFIG), "--org", emu.url]
    code, shown = on_tty(argv, [("Apply these changes?", "n")], env)
    assert code == 2, shown
    assert "cancelled: nothing was changed" in shown
    assert settled_writes(emu) == []
    code, shown = on_tty(argv, [("Apply these changes?", "y")], env)
    assert code == 0, shown
    assert sorted(definitions(emu)) == sorted(PIPELINES)


def test_up_github_repository_uses_its_connection_and_the_local_checkout(
    emu, rest, pipelines_repo, tmp_path
):
    pid = project_id(emu)
    github = rest.call(
        "POST",
        "_apis/serviceendpoint/endpoints",
        version="7.1-preview.4",
        json={
            "name": "github-mlops",
            "type": "github",
            "url": "https://github.com",
            "authorization": {
                "scheme": "PersonalAccessToken",
                "parameters": {"accessToken": "gh-token-value"},
            },
            "serviceEndpointProjectReferences": [
                {"projectReference": {"id": pid, "name": "batcomputer"}, "name": "github-mlops"}
            ],
        },
    )
    cfg = yaml.safe_load(DEMO_CONFIG.read_text())
    cfg["repository"] = {
        "type": "github",
        "name": "contoso/mlops",
        "branch": "main",
        "service_connection": "github-mlops",
        "local_path": str(pipelines_repo),
    }
    config = tmp_path / "github.yaml"
    config.write_text(yaml.safe_dump(cfg))
    result = run(emu, "up", "--yes", config=config)
    assert result.exit_code == 0, result.output
    for d in definitions(emu).values():
        assert d["repository"]["type"] == "GitHub"
        assert d["repository"]["id"] == "contoso/mlops"
        assert d["repository"]["properties"]["connectedServiceId"] == github["id"]
    assert run(emu, "plan", "--detailed-exitcode", config=config).exit_code == 0

    cfg["repository"]["local_path"] = str(tmp_path / "elsewhere")
    cfg["pipelines"].append({"name": "extra", "folder": "x", "yaml": "pipelines/extra.yml"})
    config.write_text(yaml.safe_dump(cfg))
    writes = len(settled_writes(emu))
    missing = run(emu, "up", "--yes", config=config)
    assert missing.exit_code == 1
    assert "YAML file not found in the local checkout" in missing.output
    assert "pipelines/extra.yml" in missing.output
    assert len(settled_writes(emu)) == writes


def test_up_repairing_the_group_keeps_a_secret_pushed_by_vars_sync(emu, rest):
    up(emu)
    pushed = run(emu, "vars", "sync", "--yes", env={"BOOTSTRAP_SECRET_ACR_PASSWORD": "s3cret-acr"})
    assert pushed.exit_code == 0, pushed.output
    assert group(emu)["variables"]["ACR_PASSWORD"]["value"] == "s3cret-acr"
    g = rest.call(
        "GET",
        "batcomputer/_apis/distributedtask/variablegroups",
        params={"groupName": "shared-variables"},
    )["value"][0]
    g["variables"]["ACR_NAME"] = {"value": "edited", "isSecret": False}
    g["variables"]["ACR_PASSWORD"] = {"isSecret": True}
    g["variableGroupProjectReferences"] = [
        {"projectReference": {"id": project_id(emu), "name": "batcomputer"}, "name": g["name"]}
    ]
    rest.call("PUT", f"_apis/distributedtask/variablegroups/{g['id']}", json=g)
    result = up(emu)
    assert "variables.ACR_NAME: edited -> demoregistry" in result.output
    assert "s3cret-acr" not in result.output
    stored = group(emu)["variables"]
    assert stored["ACR_NAME"]["value"] == "demoregistry"
    assert stored["ACR_PASSWORD"] == {
        **stored["ACR_PASSWORD"],
        "isSecret": True,
        "value": "s3cret-acr",
    }


def test_plan_existing_connection_in_a_project_still_to_create_is_a_config_error(
    make_emulator, tmp_path
):
    emu = make_emulator(projects=())
    config = write_config(
        tmp_path, project__create_if_missing=True, service_connection__mode="existing"
    )
    result = run(emu, "up", "--yes", config=config)
    assert result.exit_code == 2
    assert "mode: existing) cannot exist in project batcomputer" in result.output
    assert settled_writes(emu) == []


def test_up_service_principal_key_from_secret_store_never_printed_even_with_debug(emu, tmp_path):
    config = write_config(tmp_path, service_connection__authentication="service-principal")
    secret = "sp-key-value-4821"
    result = run(
        emu,
        "up",
        "--yes",
        "--debug",
        config=config,
        env={"BOOTSTRAP_SECRET_AZURE_CLIENT_SECRET": secret},
    )
    assert result.exit_code == 0, result.output[-2000:]
    assert "Request content" in result.output  # the SDK's HTTP trace is on ...
    assert secret not in result.output  # ... and the key is masked in it
    sc = endpoint(emu)
    assert sc["authorization"]["scheme"] == "ServicePrincipal"
    assert sc["authorization"]["parameters"]["serviceprincipalkey"] == secret


def test_up_service_principal_without_key_fails_before_writing(emu, tmp_path):
    config = write_config(tmp_path, service_connection__authentication="service-principal")
    result = run(emu, "up", "--yes", config=config)
    assert result.exit_code == 2
    assert "no value for the service principal key AZURE_CLIENT_SECRET" in result.output
    assert "BOOTSTRAP_SECRET_AZURE_CLIENT_SECRET" in result.output


def test_plan_unknown_organisation_says_so(emu):
    from click.testing import CliRunner

    from bootstrap.cli import main

    result = CliRunner().invoke(
        main,
        ["plan", "--config", str(DEMO_CONFIG), "--org", emu.url.replace("/demo", "/nope")],
        env={"AZURE_DEVOPS_EXT_PAT": "demo-pat"},
    )
    assert result.exit_code == 1
    assert f"organisation {emu.url.replace('/demo', '/nope')} not found" in result.output
    assert len(emu.request_log) == 1  # asked once, not once per concurrent read


def test_up_json_output_is_one_object_with_changes_applied_and_summary(emu):
    result = run(emu, "up", "--yes", "--output", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["summary"] == {"create": 10, "update": 0, "delete": 0, "unchanged": 1}
    assert {c["kind"] for c in data["changes"]} == {
        "service_connection",
        "variable_group",
        "pipeline",
        "permissions",
    }
    assert all(c["url"] for c in data["applied"] if c["kind"] != "permissions")
    assert data["writes"] == 9
    again = json.loads(run(emu, "up", "--yes", "--output", "json").output)
    assert again["changes"] == [] and again["summary"]["unchanged"] == 11


def test_plan_detailed_exitcode_turns_config_errors_into_1(emu, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("organization: nope\n")
    assert run(emu, "plan", config=bad).exit_code == 2
    assert run(emu, "plan", "--detailed-exitcode", config=bad).exit_code == 1


def test_up_authorize_all_pipelines_and_back_to_exactly_the_managed_ones(emu, tmp_path):
    config = write_config(tmp_path, service_connection__authorize_all_pipelines=True)
    up(emu, config=config)
    sc = endpoint(emu)
    assert permission(emu, "endpoint", sc["id"])["allPipelines"]["authorized"] is True
    result = run(emu, "plan", config=DEMO_CONFIG)
    assert "all_pipelines: true -> false" in result.output
    up(emu)
    perm = permission(emu, "endpoint", sc["id"])
    assert not (perm.get("allPipelines") or {}).get("authorized")
    authorised = {int(i) for i, p in perm["pipelines"].items() if p["authorized"]}
    assert authorised == {d["id"] for d in definitions(emu).values()}


def test_variable_group_update_keeps_the_group_shared_with_other_projects(make_emulator):
    emu = make_emulator(projects=("batcomputer", "analytics"))
    assert run(emu, "up", "--yes").exit_code == 0
    client = connect(emu.url, "demo-pat")
    listed = client.get_variable_group("batcomputer", "shared-variables")
    group = client.get_variable_group_by_id("batcomputer", listed["id"])
    other = client.get_project("analytics")
    group["variableGroupProjectReferences"].append(
        {"projectReference": {"id": other["id"], "name": "analytics"}, "name": group["name"]}
    )
    group["variables"]["ACR_NAME"] = {"value": "edited-by-hand"}
    client.update_variable_group(group["id"], group)

    result = run(emu, "up", "--yes")
    assert result.exit_code == 0, result.output
    (stored,) = emu.store.state["variableGroups"].values()
    assert stored["variables"]["ACR_NAME"]["value"] == "demoregistry"
    assert {r["projectId"] for r in stored["projectReferences"]} == {
        client.get_project("batcomputer")["id"],
        other["id"],
    }
