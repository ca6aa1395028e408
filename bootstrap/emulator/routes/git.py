"""Git: repositories (list, get by name or id) and items (a file at a branch or commit).

Every project's repository is backed by ``--repo-dir``: in a git checkout a file at branch
``B`` is ``git show B:path`` (the default branch ``main`` falls back to ``HEAD`` when the
checkout has no ``main``), so only committed content is visible, as on the server; a plain
directory serves its files as the one branch ``main``. Without a repo dir the repository is
empty and every item is absent.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bootstrap.emulator import errors
from bootstrap.emulator.routes import Ctx, Reply, collection, require_project, route
from bootstrap.emulator.routes.common import project_ref

REPOSITORIES = "225f7195-f9c7-4d14-ab28-a83f7ff77e1f"
ITEMS = "fb93c0db-47ed-4a31-8c20-47552878fb44"


class RepoSource:
    """Read-only view of ``--repo-dir`` by branch or commit."""

    def __init__(self, root: str | None) -> None:
        self.root = Path(root).resolve() if root else None
        self.is_git = bool(self.root) and self._git("rev-parse", "--git-dir") is not None

    def _git(self, *args: str) -> bytes | None:
        result = subprocess.run(
            ["git", "-C", str(self.root), *args], capture_output=True, timeout=20, check=False
        )
        return result.stdout if result.returncode == 0 else None

    def resolve(self, version: str, version_type: str) -> str | None:
        """The commit id a branch/commit/tag names, or None when it does not exist."""
        if self.root is None:
            return None
        if not self.is_git:
            return hashlib.sha1(str(self.root).encode()).hexdigest() if version == "main" else None
        ref = {"branch": f"refs/heads/{version}", "tag": f"refs/tags/{version}"}.get(
            version_type, version
        )
        out = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if out is None and version_type == "branch" and version == "main":
            out = self._git("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        return out.decode().strip() if out else None

    def read(self, commit: str, path: str) -> tuple[str, bytes] | None:
        """(object id, content) of a file at a commit, or None when it is absent."""
        relative = path.strip("/")
        if not relative:
            return None
        if not self.is_git:
            target = (self.root / relative).resolve()
            if self.root not in target.parents or not target.is_file():
                return None
            content = target.read_bytes()
            return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest(), content
        kind = self._git("cat-file", "-t", f"{commit}:{relative}")
        if kind is None or kind.strip() != b"blob":
            return None
        object_id = self._git("rev-parse", f"{commit}:{relative}")
        content = self._git("cat-file", "blob", f"{commit}:{relative}")
        if object_id is None or content is None:
            return None
        return object_id.decode().strip(), content


def _find_repository(ctx: Ctx, project: dict, key: str) -> dict:
    lowered = key.lower()
    for repo in ctx.store.state["repositories"].values():
        if repo["projectId"] == project["id"] and lowered in (repo["id"], repo["name"].lower()):
            return repo
    raise errors.repository_not_found(key)


def repository_body(ctx: Ctx, repo: dict, project: dict, *, links: bool) -> dict[str, Any]:
    base = f"{ctx.url}/{project['id']}/_apis/git/repositories/{repo['id']}"
    scheme, host = ctx.url.split("://", 1)
    names = f"{quote(project['name'])}/{quote(repo['name'])}"
    web = f"{ctx.url}/{quote(project['name'])}/_git/{quote(repo['name'])}"
    body: dict[str, Any] = {
        "id": repo["id"],
        "name": repo["name"],
        "url": base,
        "project": project_ref(ctx, project),
    }
    if ctx.repo_dir and repo.get("defaultBranch"):
        body["defaultBranch"] = repo["defaultBranch"]
    body.update(
        {
            "size": 0,
            "remoteUrl": f"{scheme}://{ctx.org}@{host}/{quote(project['name'])}/_git/{quote(repo['name'])}",
            "sshUrl": f"git@ssh.{host.split('/', 1)[0]}:v3/{ctx.org}/{names}",
            "webUrl": web,
        }
    )
    if links:
        body["_links"] = {
            "self": {"href": base},
            "project": {"href": f"vstfs:///Classification/TeamProject/{project['id']}"},
            "web": {"href": web},
            "commits": {"href": f"{base}/commits"},
            "refs": {"href": f"{base}/refs"},
            "pullRequests": {"href": f"{base}/pullRequests"},
            "items": {"href": f"{base}/items"},
            "pushes": {"href": f"{base}/pushes"},
        }
    body.update({"isDisabled": False, "isInMaintenance": False})
    return body


@route(
    "GET", "{project}/_apis/git/repositories/{repositoryId?}", "git.repositories.get", REPOSITORIES
)
def get_repositories(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    key = ctx.params.get("repositoryId")
    if key:
        return Reply(repository_body(ctx, _find_repository(ctx, project, key), project, links=True))
    repos = [r for r in ctx.store.state["repositories"].values() if r["projectId"] == project["id"]]
    return collection([repository_body(ctx, r, project, links=False) for r in repos])


@route(
    "GET", "{project}/_apis/git/repositories/{repositoryId}/items/{*path}", "git.items.get", ITEMS
)
def get_item(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    repo = _find_repository(ctx, project, ctx.params["repositoryId"])
    path = ctx.q("path") or ctx.params.get("path") or ctx.q("scopePath")
    if not path:
        raise errors.argument_null("path")
    path = "/" + path.lstrip("/")
    version_type = (ctx.q("versionDescriptor.versionType") or "branch").lower()
    default = (repo.get("defaultBranch") or "refs/heads/main").removeprefix("refs/heads/")
    version = ctx.q("versionDescriptor.version") or default
    source = RepoSource(ctx.repo_dir)
    commit = source.resolve(version, version_type)
    if commit is None:
        raise errors.ApiFailure(
            404,
            "GitUnresolvableToCommitException",
            f"TF401175:The version descriptor <Branch: {version} > could not be resolved to a "
            "version commit.",
            namespace=errors.GIT,
        )
    found = source.read(commit, path)
    if found is None:
        raise errors.item_not_found(path, repo["name"], version, commit)
    object_id, content = found
    accept = ctx.headers.get("accept", "").lower()
    if (
        "application/octet-stream" in accept
        or "text/plain" in accept
        or ctx.flag("download")
        or (ctx.q("$format") or "").lower() in ("octetstream", "text")
    ):
        return Reply(raw=content, content_type="application/octet-stream")
    repo_url = f"{ctx.url}/{project['id']}/_apis/git/repositories/{repo['id']}"
    base = f"{repo_url}/items"
    body: dict[str, Any] = {
        "objectId": object_id,
        "gitObjectType": "blob",
        "commitId": commit,
        "path": path,
        "url": f"{base}?path={quote(path)}&versionType=Branch&version={quote(version)}"
        "&versionOptions=None",
    }
    if ctx.flag("includeContent"):
        body["content"] = content.decode("utf-8", errors="replace")
    body["_links"] = {
        "self": {"href": body["url"]},
        "repository": {"href": repo_url},
        "blob": {"href": f"{repo_url}/blobs/{object_id}"},
    }
    return Reply(body)
