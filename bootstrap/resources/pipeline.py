"""YAML pipelines: build definitions (``build/definitions``), one per configured pipeline.

Key: the pipeline's name (unique among the managed ones; matched in its folder first). Managed:
folder, YAML path, repository, branch, queue, that CI and PR triggers come from the YAML, and
the ``buildCompletion`` trigger (``after``) that runs a build-api pipeline when its training
pipeline completes. Everything else on a definition (variables, retention, schedules set in
the UI...) is carried over untouched on update, which sends the current ``revision``.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path, PurePosixPath

from bootstrap.errors import NotFound
from bootstrap.resources.base import Context

KIND = "pipeline"
QUEUE_NAME = "Azure Pipelines"
YAML_PROCESS = 2
FROM_YAML = 2  # settingsSourceType: the trigger's settings come from the YAML file
MANAGED_TRIGGERS = ("continuousIntegration", "pullRequest", "buildCompletion")
REPO_TYPES = {"TfsGit": "azure-repos", "GitHub": "github"}


def keys(cfg) -> list[str]:
    return [p.name for p in cfg.pipelines]


def _yaml_path(path: str | None) -> str | None:
    return path.lstrip("/") if path else path


def branch_ref(branch: str) -> str:
    return branch if branch.startswith("refs/") else f"refs/heads/{branch}"


def _after(upstream: str, branches, requires: bool) -> str:
    filters = ", ".join(branches)
    return f"{upstream} [{filters}]{'' if requires else ' (any result)'}"


def view(definition: dict, names_by_id: dict[int, str]) -> dict:
    """The managed fields of a definition as the API returns it (pure).

    ``names_by_id`` turns the completion trigger's definition id into a pipeline name, so a
    trigger pointing at the right id reads the same as config.
    """
    process = definition.get("process") or {}
    repo = definition.get("repository") or {}
    triggers = definition.get("triggers") or []

    def from_yaml(kind: str) -> bool:
        return any(
            t.get("triggerType") == kind and t.get("settingsSourceType") == FROM_YAML
            for t in triggers
        )

    after = sorted(
        _after(
            names_by_id.get((t.get("definition") or {}).get("id"))
            or f"#{(t.get('definition') or {}).get('id')}",
            t.get("branchFilters") or [],
            bool(t.get("requiresSuccessfulBuild")),
        )
        for t in triggers
        if t.get("triggerType") == "buildCompletion"
    )
    return {
        "folder": definition.get("path") or "\\",
        "yaml": _yaml_path(process.get("yamlFilename"))
        if process.get("type") == YAML_PROCESS
        else None,
        "repository": f"{REPO_TYPES.get(repo.get('type'), repo.get('type'))}:{repo.get('name')}",
        "branch": repo.get("defaultBranch"),
        "queue": (definition.get("queue") or {}).get("name"),
        "ci_trigger": "from YAML" if from_yaml("continuousIntegration") else "none",
        "pr_trigger": "from YAML" if from_yaml("pullRequest") else "none",
        "after": ", ".join(after) or None,
    }


def desired(cfg, name: str) -> dict:
    pipe = cfg.pipeline(name)
    after = sorted(
        _after(t.after, _branch_filters(t.branches), t.requires_successful_build)
        for t in cfg.triggers
        if t.pipeline == name
    )
    return {
        "folder": pipe.folder,
        "yaml": _yaml_path(pipe.yaml),
        "repository": f"{cfg.repository.type}:{cfg.repository.name}",
        "branch": branch_ref(cfg.repository.branch),
        "queue": QUEUE_NAME,
        "ci_trigger": "from YAML",
        "pr_trigger": "from YAML",
        "after": ", ".join(after) or None,
    }


def _branch_filters(branches) -> list[str]:
    return [b if b.startswith(("+", "-")) else f"+{branch_ref(b)}" for b in branches]


def triggers(cfg, name: str, ids_by_name: dict[str, int]) -> list[dict]:
    """The managed triggers of ``name`` (pure): CI and PR from YAML, completion triggers."""
    out = [
        {
            "triggerType": "continuousIntegration",
            "settingsSourceType": FROM_YAML,
            "branchFilters": [],
            "pathFilters": [],
            "batchChanges": False,
            "maxConcurrentBuildsPerBranch": 1,
        },
        {
            "triggerType": "pullRequest",
            "settingsSourceType": FROM_YAML,
            "branchFilters": [],
            "pathFilters": [],
            "forks": {"enabled": False, "allowSecrets": False},
        },
    ]
    for trig in cfg.triggers:
        if trig.pipeline == name:
            out.append(
                {
                    "triggerType": "buildCompletion",
                    "definition": {"id": ids_by_name[trig.after]},
                    "branchFilters": _branch_filters(trig.branches),
                    "requiresSuccessfulBuild": trig.requires_successful_build,
                }
            )
    return out


def repository_body(cfg, repository: dict | None, github_connection: dict | None) -> dict:
    """The definition's ``repository`` (pure): Azure Repos by id, GitHub by owner/name."""
    branch = branch_ref(cfg.repository.branch)
    if cfg.repository.type == "github":
        name = cfg.repository.name
        return {
            "id": name,
            "name": name,
            "type": "GitHub",
            "url": f"https://github.com/{name}.git",
            "defaultBranch": branch,
            "properties": {
                "connectedServiceId": github_connection["id"],
                "apiUrl": f"https://api.github.com/repos/{name}",
                "fullName": name,
            },
        }
    return {
        "id": repository["id"],
        "name": repository["name"],
        "type": "TfsGit",
        "url": repository.get("remoteUrl") or repository.get("url"),
        "defaultBranch": branch,
    }


def to_body(cfg, name: str, *, queue: dict, repository: dict, ids_by_name: dict[str, int]) -> dict:
    """A complete new definition for pipeline ``name`` (pure)."""
    pipe = cfg.pipeline(name)
    return {
        "name": name,
        "path": pipe.folder,
        "type": "build",
        "quality": "definition",
        "queue": {"id": queue["id"], "name": queue["name"]},
        "process": {"type": YAML_PROCESS, "yamlFilename": pipe.yaml},
        "repository": repository,
        "triggers": triggers(cfg, name, ids_by_name),
    }


def merged_body(actual: dict, new: dict) -> dict:
    """``actual`` with the managed fields of ``new``; unmanaged triggers and fields kept."""
    body = copy.deepcopy(actual)
    for key in ("name", "path", "queue", "process", "repository"):
        body[key] = new[key]
    kept = [t for t in actual.get("triggers") or [] if t.get("triggerType") not in MANAGED_TRIGGERS]
    body["triggers"] = kept + new["triggers"]
    for server_only in (
        "_links",
        "createdDate",
        "authoredBy",
        "latestBuild",
        "latestCompletedBuild",
        "metrics",
    ):
        body.pop(server_only, None)
    return body


def read(ctx: Context) -> list[dict]:
    """Every definition of the project, full, in one listing (not one request per pipeline);
    :func:`match` finds each managed one in it."""
    return ctx.client.list_definitions(ctx.project_name)


def match(definitions: list[dict], name: str, folder: str) -> dict | None:
    """The definition for ``name``: the one in ``folder`` first, else one elsewhere (moved)."""
    same = [d for d in definitions if d.get("name") == name]
    return next((d for d in same if (d.get("path") or "\\") == folder), None) or (
        same[0] if same else None
    )


# ---- the YAML files in the repository ---------------------------------------------------


def check_yaml(ctx: Context, names: list[str]) -> None:
    """Fail (before anything is written) unless every YAML of ``names`` exists at the branch.

    Azure Repos: one recursive Git items listing of the YAML files' common folder (whose Git
    object ids :func:`yaml_text` reuses). GitHub: the local checkout at
    ``repository.local_path``.
    """
    cfg = ctx.cfg
    wanted = {_yaml_path(cfg.pipeline(n).yaml) for n in names}
    if cfg.repository.type == "github":
        root = Path(cfg.repository.local_path)
        present = {p for p in wanted if (root / p).is_file()}
        where = f"the local checkout {root} of {cfg.repository.name}"
    else:
        scope = "/" + _common_folder(wanted)
        items = ctx.client.list_items(
            ctx.project_name, cfg.repository.name, scope, cfg.repository.branch
        )
        blobs = {
            _yaml_path(i.get("path")): i.get("objectId") for i in items if not i.get("isFolder")
        }
        with ctx.lock:
            ctx.lookups.setdefault("yaml_objects", {}).update(blobs)
        present = set(blobs)
        where = f"repository {cfg.repository.name} at branch {cfg.repository.branch}"
    missing = sorted(wanted - present)
    if missing:
        raise NotFound(
            f"YAML file{'s' if len(missing) > 1 else ''} not found in {where}: "
            + ", ".join(missing),
            hint="commit and push the file, or fix the pipeline's yaml path in config",
        )


def git_blob_id(content: bytes) -> str:
    """The Git object id of a file's content (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def yaml_text(ctx: Context, path: str) -> str | None:
    """The YAML file at ``path`` as the branch holds it.

    GitHub: the local checkout. Azure Repos: the local checkout's copy when its Git object id
    equals the one the items listing gave (same bytes, so no download), else the items API.
    """
    cfg = ctx.cfg
    local = Path(cfg.repository.local_path) / path
    content = local.read_bytes() if local.is_file() else None
    if cfg.repository.type == "github":
        return None if content is None else content.decode("utf-8", errors="replace")
    remote_id = ctx.lookups.get("yaml_objects", {}).get(path)
    if content is not None and remote_id and git_blob_id(content) == remote_id:
        return content.decode("utf-8", errors="replace")
    return ctx.client.get_item_content(
        ctx.project_name, cfg.repository.name, "/" + path, cfg.repository.branch
    )


def _common_folder(paths: set[str]) -> str:
    parents = [PurePosixPath(p).parent.parts for p in paths]
    common: list[str] = []
    for parts in zip(*parents, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common)


def warn_double_trigger(ctx: Context, name: str) -> None:
    """Warn when the YAML of a pipeline with a completion trigger also declares a
    ``resources.pipelines`` trigger: every training run would start it twice."""
    import yaml

    path = _yaml_path(ctx.cfg.pipeline(name).yaml)
    text = yaml_text(ctx, path)
    try:
        doc = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return
    resources = doc.get("resources") if isinstance(doc, dict) else None
    pipes = resources.get("pipelines") if isinstance(resources, dict) else None
    if any(isinstance(p, dict) and p.get("trigger") for p in pipes or []):
        ctx.warn(
            f"{path} declares a resources.pipelines trigger and {name} also has a completion "
            "trigger: each upstream run would start it twice; remove one of them"
        )


# ---- lookups (read-only inputs) ----------------------------------------------------------


def repository(ctx: Context) -> dict:
    if "repository" not in ctx.lookups:
        repo = ctx.client.get_repository(ctx.project_name, ctx.cfg.repository.name)
        if repo is None:
            raise NotFound(
                f"repository {ctx.cfg.repository.name} not found in project {ctx.project_name}",
                hint="fix repository.name in config",
            )
        ctx.lookups["repository"] = repo
    return ctx.lookups["repository"]


def github_connection(ctx: Context) -> dict | None:
    if ctx.cfg.repository.type != "github":
        return None
    if "github_connection" not in ctx.lookups:
        name = ctx.cfg.repository.service_connection
        found = ctx.client.get_service_endpoint(ctx.project_name, name)
        if found is None:
            raise NotFound(
                f"GitHub service connection {name} not found in project {ctx.project_name}",
                hint="create it in Project settings > Service connections, or fix "
                "repository.service_connection",
            )
        ctx.lookups["github_connection"] = found
    return ctx.lookups["github_connection"]


def queue(ctx: Context) -> dict:
    if "queue" not in ctx.lookups:
        found = ctx.client.get_queue(ctx.project_name, QUEUE_NAME)
        if found is None:
            raise NotFound(
                f"agent queue {QUEUE_NAME!r} not found in project {ctx.project_name}",
                hint="enable Microsoft-hosted agents for the project",
            )
        ctx.lookups["queue"] = found
    return ctx.lookups["queue"]


def ids_by_name(ctx: Context) -> dict[str, int]:
    return {name: d["id"] for name, d in ctx.actual.get(KIND, {}).items() if d is not None}


# ---- acting ------------------------------------------------------------------------------


def _body(ctx: Context, name: str) -> dict:
    cfg = ctx.cfg
    if cfg.repository.type == "github":
        repo = repository_body(cfg, None, github_connection(ctx))
    else:
        repo = repository_body(cfg, repository(ctx), None)
    return to_body(cfg, name, queue=queue(ctx), repository=repo, ids_by_name=ids_by_name(ctx))


def create(ctx: Context, name: str) -> dict:
    return ctx.client.create_definition(ctx.project_name, _body(ctx, name))


def update(ctx: Context, name: str, actual: dict) -> dict:
    body = merged_body(actual, _body(ctx, name))
    return ctx.client.update_definition(ctx.project_name, actual["id"], body)


def delete(ctx: Context, actual: dict) -> None:
    ctx.client.delete_definition(ctx.project_name, actual["id"])
