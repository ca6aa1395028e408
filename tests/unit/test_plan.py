"""Rendering plans and outcomes (text like Terraform's, and JSON)."""

import json

from bootstrap.config import load_config
from bootstrap.plan import Outcome, Plan, render_outcome, render_plan, render_status, to_json
from bootstrap.resources.base import Change, Context, FieldChange
from tests.conftest import REPO_ROOT


def make_plan(changes, warnings=()):
    cfg = load_config(REPO_ROOT / "config" / "demo.yaml")
    ctx = Context(cfg=cfg, client=None, warnings=list(warnings))
    return Plan(ctx, changes)


CHANGES = [
    Change("project", "batcomputer", "no-op", url="http://x/batcomputer"),
    Change(
        "variable_group",
        "shared-variables",
        "create",
        [
            FieldChange("variables.A", None, "1"),
            FieldChange("secrets.ACR_PASSWORD", None, "(sensitive)", True),
        ],
    ),
    Change(
        "pipeline",
        "titanic-training",
        "update",
        [FieldChange("yaml", "old.yml", "pipelines/titanic-training.yml")],
    ),
    Change("pipeline", "old", "delete"),
]


def test_plan_render_text_symbols_fields_and_summary():
    text = render_plan(make_plan(CHANGES, ["double trigger"]))
    assert "  + variable_group shared-variables" in text
    assert "      variables.A: 1" in text
    assert "      secrets.ACR_PASSWORD: (sensitive)" in text
    assert "  ~ pipeline titanic-training" in text
    assert "      yaml: old.yml -> pipelines/titanic-training.yml" in text
    assert "  - pipeline old" in text
    assert "warning: double trigger" in text
    assert text.splitlines()[-1] == "Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged."


def test_plan_render_no_changes_counts_unchanged():
    text = render_plan(make_plan([CHANGES[0]]))
    assert text.splitlines()[-1] == "No changes: 1 resources up to date."


def test_plan_json_one_object_with_changes_and_summary():
    data = json.loads(to_json(make_plan(CHANGES).as_dict()))
    assert data["summary"] == {"create": 1, "update": 1, "delete": 1, "unchanged": 1}
    assert [c["action"] for c in data["changes"]] == ["create", "update", "delete"]
    secret = data["changes"][0]["changed_fields"][1]
    assert secret == {
        "field": "secrets.ACR_PASSWORD",
        "old": None,
        "new": "(sensitive)",
        "sensitive": True,
    }
    assert data["unchanged"] == [
        {"kind": "project", "name": "batcomputer", "url": "http://x/batcomputer"}
    ]


def test_plan_sensitive_field_never_renders_a_value():
    leaky = Change(
        "variable_group",
        "g",
        "update",
        [FieldChange("secrets.S", "old-secret-value", "new-secret-value", True)],
    )
    text = render_plan(make_plan([leaky]))
    blob = to_json(make_plan([leaky]).as_dict())
    for out in (text, blob):
        assert "secret-value" not in out
    assert "secrets.S: (sensitive) -> (sensitive)" in text


def test_plan_render_outcome_with_links_and_notes():
    done = [
        Change("pipeline", "p", "create", url="http://x/_build?definitionId=1"),
        Change("pipeline", "q", "delete", url="http://x/_build?definitionId=2"),
    ]
    text = render_outcome(Outcome(done, ["add a federated credential"]))
    assert "created pipeline p  http://x/_build?definitionId=1" in text
    assert "deleted pipeline q" in text and "definitionId=2" not in text
    assert "note: add a federated credential" in text


def test_plan_render_status_rows():
    rows = [
        {
            "kind": "pipeline",
            "name": "p",
            "state": "drifted",
            "url": "http://x",
            "drift": [{"field": "yaml", "old": "a", "new": "b"}],
            "notes": [],
        },
        {
            "kind": "variable_group",
            "name": "g",
            "state": "missing",
            "url": None,
            "drift": [],
            "notes": [],
        },
    ]
    text = render_status(rows)
    assert "pipeline p" in text and "drifted" in text and "yaml: a -> b" in text
    assert "missing" in text
