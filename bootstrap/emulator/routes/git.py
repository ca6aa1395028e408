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
from bootstrap.emulator.routes import Ctx, Reply, collection, route
from bootstrap.emulator.routes.common import project_ref

REPOSITORIES = "225f7195-f9c7-4d14-ab28-a83f7ff77e1f"
ITEMS = "fb93c0db-47ed-4a31-8c20-47552878fb44"


class RepoSource:
    """Read-only view of ``--repo-dir`` by branch or commit.

    A repo dir inside a larger checkout serves that subfolder as the repository root.
    """

    def __init__(self, root: str | None) -> None:
        self.root = Path(root).resolve() if root else None
        prefix = self._git("rev-parse", "--show-prefix") if self.root else None
        self.is_git = prefix is not None
        self.prefix = prefix.decode().strip() if prefix else ""

    def _git(self, *args: str) -> bytes | None:
        result = subprocess.run(
            ["git", "-C", str(self.root), *args], capture_output=True, timeout=20, check=False
        )
        return result.stdout if result.returncode == 0 else None

    def _spec(self, commit: str, relative: str) -> str:
        """A git object name for a path of the served folder at a commit."""
        return f"{commit}:{self.prefix}{relative}".rstrip("/")

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
        if not relative or self.root is None:
            return None
        if not self.is_git:
            target = (self.root / relative).resolve()
            if self.root not in target.parents or not target.is_file():
                return None
            content = target.read_bytes()
            return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest(), content
        spec = self._spec(commit, relative)
        kind = self._git("cat-file", "-t", spec)
        if kind is None or kind.strip() != b"blob":
            return None
        object_id = self._git("rev-parse", spec)
        content = self._git("cat-file", "blob", spec)
        if object_id is None or content is None:
            return None
        return object_id.decode().strip(), content

    def entries(self, commit: str, path: str, level: str) -> list[tuple[str, str, str]] | None:
        """(path, "blob"|"tree", object id) of ``path`` and, by ``level``, what is below it.

        ``level`` is the service's ``recursionLevel``: ``none`` (the item only), ``onelevel``
        (its direct children) or ``full`` (everything below). None when ``path`` is absent.
        """
        relative = path.strip("/")
        if self.root is None:
            return None
        if not self.is_git:
            return self._directory_entries(relative, level)
        spec = self._spec(commit, relative)
        kind, object_id = self._git("cat-file", "-t", spec), self._git("rev-parse", spec)
        if kind is None or object_id is None:
            return None
        kind_name = kind.decode().strip()
        found = [("/" + relative, kind_name, object_id.decode().strip())]
        if kind_name != "tree" or level == "none":
            return found
        args = ["ls-tree", "--full-tree", *(["-r", "-t"] if level == "full" else [])]
        base = "/" + relative + "/" if relative else "/"
        for row in (self._git(*args, spec) or b"").decode().splitlines():
            meta, _, name = row.partition("\t")
            _mode, child_kind, child_id = meta.split()
            found.append((base + name, child_kind, child_id))
        return found

    def _directory_entries(self, relative: str, level: str) -> list[tuple[str, str, str]] | None:
        target = (self.root / relative).resolve()
        if target != self.root and self.root not in target.parents:
            return None
        if not target.exists():
            return None

        def entry(item: Path) -> tuple[str, str, str]:
            name = "/" + item.relative_to(self.root).as_posix() if item != self.root else "/"
            if item.is_dir():
                return name, "tree", hashlib.sha1(name.encode()).hexdigest()
            content = item.read_bytes()
            return name, "blob", hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()

        found = [entry(target)]
        if target.is_dir() and level != "none":
            children = target.rglob("*") if level == "full" else target.iterdir()
            found += [
                entry(c) for c in sorted(children) if ".git" not in c.relative_to(self.root).parts
            ]
        return found


def _find_repository(ctx: Ctx, project: dict | None, key: str) -> tuple[dict, dict]:
    """(repository, its project) by id, or by name within a project."""
    lowered = key.lower()
    for repo in ctx.store.state["repositories"].values():
        if project is None:
            if repo["id"] == lowered:
                return repo, ctx.store.state["projects"][repo["projectId"]]
        elif repo["projectId"] == project["id"] and lowered in (repo["id"], repo["name"].lower()):
            return repo, project
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
            "ssh": {"href": body["sshUrl"]},
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
@route("GET", "_apis/git/repositories/{repositoryId?}", "git.repositories.get", REPOSITORIES)
def get_repositories(ctx: Ctx) -> Reply:
    """Project-scoped by name or id; organisation-wide (no project in the URL) by id."""
    key = ctx.params.get("repositoryId")
    if key:
        repo, project = _find_repository(ctx, ctx.project, key)
        return Reply(repository_body(ctx, repo, project, links=True))
    projects = ctx.store.state["projects"]
    repos = [
        r
        for r in ctx.store.state["repositories"].values()
        if ctx.project is None or r["projectId"] == ctx.project["id"]
    ]
    return collection(
        [repository_body(ctx, r, projects[r["projectId"]], links=False) for r in repos]
    )


@route(
    "GET", "{project}/_apis/git/repositories/{repositoryId}/items/{*path}", "git.items.get", ITEMS
)
@route("GET", "_apis/git/repositories/{repositoryId}/items/{*path}", "git.items.get", ITEMS)
def get_item(ctx: Ctx) -> Reply:
    repo, project = _find_repository(ctx, ctx.project, ctx.params["repositoryId"])
    path = ctx.q("path") or ctx.params.get("path") or ctx.q("scopePath")
    level = (ctx.q("recursionLevel") or "none").lower()
    listing = level != "none" or (ctx.q("scopePath") is not None and not ctx.q("path"))
    if not path and not listing:
        raise errors.argument_null("path")
    path = "/" + (path or "/").strip("/")
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
    repo_url = f"{ctx.url}/{project['id']}/_apis/git/repositories/{repo['id']}"
    entries = source.entries(commit, path, level if listing else "none")
    if entries is None:
        raise errors.item_not_found(path, repo["name"], version, commit)
    if listing or entries[0][1] == "tree":
        items = [_item_body(repo_url, commit, version, *item) for item in entries]
        return collection(items) if listing else Reply(items[0])
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


def _item_body(
    repo_url: str, commit: str, version: str, path: str, kind: str, object_id: str
) -> dict:
    body: dict[str, Any] = {
        "objectId": object_id,
        "gitObjectType": kind,
        "commitId": commit,
        "path": path,
    }
    if kind == "tree":
        body["isFolder"] = True
    body["url"] = (
        f"{repo_url}/items?path={quote(path)}&versionType=Branch&version={quote(version)}"
        "&versionOptions=None"
    )
    return body
