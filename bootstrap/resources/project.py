"""The Azure DevOps project: must exist; created (and waited for) only when config says so.

Key: the project name. Nothing of an existing project is managed (``down`` never deletes it),
so an existing project never shows a diff.
"""

from __future__ import annotations

from bootstrap.config import PROCESS_TEMPLATES
from bootstrap.errors import ApiError, NotFound
from bootstrap.resources.base import Context, wait_until

KIND = "project"


def keys(cfg) -> list[str]:
    return [cfg.project.name]


def view(project: dict) -> dict:
    return {"name": project["name"]}


def desired(cfg) -> dict:
    return {"name": cfg.project.name}


def to_body(cfg) -> dict:
    """The create-project body for ``cfg.project`` (pure)."""
    return {
        "name": cfg.project.name,
        "description": cfg.project.description,
        "visibility": cfg.project.visibility,
        "capabilities": {
            "versioncontrol": {"sourceControlType": "Git"},
            "processTemplate": {"templateTypeId": PROCESS_TEMPLATES[cfg.project.process]},
        },
    }


def read(ctx: Context) -> dict | None:
    return ctx.client.get_project(ctx.project_name)


def missing_error(ctx: Context) -> NotFound:
    """The error for a missing project that config does not let us create."""
    try:
        names = sorted(p["name"] for p in ctx.client.list_projects())
    except ApiError:
        names = []
    visible = ", ".join(names) if names else "none"
    return NotFound(
        f"project {ctx.project_name} not found in {ctx.client.org_url} "
        f"(projects this PAT can see: {visible})",
        hint="fix project.name (or --project), or set project.create_if_missing: true",
    )


def create(ctx: Context) -> dict:
    operation = ctx.client.create_project(to_body(ctx.cfg))

    def done():
        if operation.get("id"):
            status = ctx.client.get_operation(operation["id"]).get("status")
            if status in ("failed", "cancelled"):
                raise ApiError(f"creating project {ctx.project_name} {status}")
            if status != "succeeded":
                return None
        return ctx.client.get_project(ctx.project_name)

    return wait_until(done, what=f"project {ctx.project_name} is created")
