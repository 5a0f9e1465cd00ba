"""JSON bodies shaped like api.github.com's (checked against the OpenAPI description).

Each function turns one state record (or git object) into GitHub's JSON for it.
``Urls`` carries the sandbox's base URLs so every ``url`` field points back at
the sandbox.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from valet.sandbox.gitrepo import CommitInfo, FileChange
from valet.sandbox.state import Record, State, perm_at_least

Json = dict[str, Any]


@dataclass(frozen=True)
class Urls:
    server: str   # http://127.0.0.1:P
    api: str      # http://127.0.0.1:P/api/v3
    uploads: str  # http://127.0.0.1:P/api/uploads


def node_id(kind: str, ident: object) -> str:
    return base64.b64encode(f"{kind}:{ident}".encode()).decode().rstrip("=")


NO_VERIFICATION: Json = {"verified": False, "reason": "unsigned", "signature": None,
                         "payload": None, "verified_at": None}


def user(u: Urls, rec: Record) -> Json:
    login = rec["login"]
    api = f"{u.api}/users/{login}"
    return {
        "login": login, "id": rec["id"], "node_id": node_id("User", rec["id"]),
        "avatar_url": f"{u.server}/avatars/{login}", "gravatar_id": "",
        "url": api, "html_url": f"{u.server}/{login}",
        "followers_url": f"{api}/followers", "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}", "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions", "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events", "type": rec["type"],
        "user_view_type": "public", "site_admin": False,
    }


def user_full(u: Urls, rec: Record, state: State, *, private: bool = False) -> Json:
    out = user(u, rec)
    owned = [r for r in state.repos.values() if r["owner"].lower() == rec["login"].lower()]
    out.update({
        "name": rec.get("name"), "company": None, "blog": "", "location": None,
        "email": rec.get("email"), "hireable": None, "bio": None, "twitter_username": None,
        "public_repos": sum(1 for r in owned if not r["private"]), "public_gists": 0,
        "followers": 0, "following": 0, "created_at": rec["created_at"],
        "updated_at": rec["created_at"],
    })
    if private:
        n_private = sum(1 for r in owned if r["private"])
        out.update({"private_gists": 0, "total_private_repos": n_private,
                    "owned_private_repos": n_private, "disk_usage": 0, "collaborators": 0,
                    "two_factor_authentication": False})
    return out


def repo(u: Urls, state: State, rec: Record, perm: str | None = None) -> Json:
    full = rec["full_name"]
    api = f"{u.api}/repos/{full}"
    owner = state.user(rec["owner"])
    out: Json = {
        "id": rec["id"], "node_id": node_id("Repository", rec["id"]), "name": rec["name"],
        "full_name": full, "owner": user(u, owner) if owner else None,
        "private": rec["private"], "html_url": f"{u.server}/{full}",
        "description": rec.get("description"), "fork": False, "url": api,
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "assignees_url": f"{api}/assignees{{/user}}", "blobs_url": f"{api}/git/blobs{{/sha}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "comments_url": f"{api}/comments{{/number}}", "commits_url": f"{api}/commits{{/sha}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "contents_url": f"{api}/contents/{{+path}}", "contributors_url": f"{api}/contributors",
        "deployments_url": f"{api}/deployments", "downloads_url": f"{api}/downloads",
        "events_url": f"{api}/events", "forks_url": f"{api}/forks",
        "git_commits_url": f"{api}/git/commits{{/sha}}", "git_refs_url": f"{api}/git/refs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}", "git_url": f"git://{u.server.split('://')[1]}/{full}.git",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "issues_url": f"{api}/issues{{/number}}", "keys_url": f"{api}/keys{{/key_id}}",
        "labels_url": f"{api}/labels{{/name}}", "languages_url": f"{api}/languages",
        "merges_url": f"{api}/merges", "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "pulls_url": f"{api}/pulls{{/number}}", "releases_url": f"{api}/releases{{/id}}",
        "ssh_url": f"git@{u.server.split('://')[1].split(':')[0]}:{full}.git",
        "stargazers_url": f"{api}/stargazers", "statuses_url": f"{api}/statuses/{{sha}}",
        "subscribers_url": f"{api}/subscribers", "subscription_url": f"{api}/subscription",
        "tags_url": f"{api}/tags", "teams_url": f"{api}/teams", "trees_url": f"{api}/git/trees{{/sha}}",
        "clone_url": f"{u.server}/{full}.git", "mirror_url": None, "hooks_url": f"{api}/hooks",
        "svn_url": f"{u.server}/{full}", "homepage": None, "language": None,
        "forks_count": 0, "forks": 0, "stargazers_count": 0, "watchers_count": 0, "watchers": 0,
        "size": 0, "default_branch": rec["default_branch"],
        "open_issues_count": sum(1 for i in rec["issues"].values() if i["state"] == "open"),
        "open_issues": sum(1 for i in rec["issues"].values() if i["state"] == "open"),
        "is_template": False, "topics": [], "has_issues": True, "has_projects": False,
        "has_wiki": False, "has_pages": False, "has_downloads": True, "has_discussions": False,
        "archived": False, "disabled": False,
        "visibility": "private" if rec["private"] else "public",
        "pushed_at": rec.get("pushed_at", rec["created_at"]), "created_at": rec["created_at"],
        "updated_at": rec.get("updated_at", rec["created_at"]), "allow_forking": True,
        "web_commit_signoff_required": False, "license": None,
        "network_count": 0, "subscribers_count": 0,
    }
    if perm is not None:
        out["permissions"] = {
            "admin": perm_at_least(perm, "admin"), "maintain": perm_at_least(perm, "maintain"),
            "push": perm_at_least(perm, "write"), "triage": perm_at_least(perm, "triage"),
            "pull": perm_at_least(perm, "read"),
        }
    return out


def _git_person(name: str, email: str, date: str) -> Json:
    return {"name": name, "email": email, "date": date}


def _gh_user(u: Urls, state: State, email: str) -> Json | None:
    rec = state.user_by_email(email)
    return user(u, rec) if rec else None


def commit(u: Urls, state: State, full: str, c: CommitInfo,
           files: list[FileChange] | None = None) -> Json:
    api = f"{u.api}/repos/{full}"
    out: Json = {
        "sha": c.sha, "node_id": node_id("Commit", c.sha),
        "url": f"{api}/commits/{c.sha}", "html_url": f"{u.server}/{full}/commit/{c.sha}",
        "comments_url": f"{api}/commits/{c.sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{c.sha}",
            "author": _git_person(c.author_name, c.author_email, c.author_date),
            "committer": _git_person(c.committer_name, c.committer_email, c.committer_date),
            "message": c.message, "comment_count": 0,
            "tree": {"sha": c.tree, "url": f"{api}/git/trees/{c.tree}"},
            "verification": dict(NO_VERIFICATION),
        },
        "author": _gh_user(u, state, c.author_email),
        "committer": _gh_user(u, state, c.committer_email),
        "parents": [{"sha": p, "url": f"{api}/commits/{p}",
                     "html_url": f"{u.server}/{full}/commit/{p}"} for p in c.parents],
    }
    if files is not None:
        out["files"] = [diff_entry(u, full, c.sha, f) for f in files]
        adds = sum(f.additions for f in files)
        dels = sum(f.deletions for f in files)
        out["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
    return out


def diff_entry(u: Urls, full: str, ref: str, f: FileChange) -> Json:
    out: Json = {
        "sha": f.sha, "filename": f.filename, "status": f.status, "additions": f.additions,
        "deletions": f.deletions, "changes": f.additions + f.deletions,
        "blob_url": f"{u.server}/{full}/blob/{ref}/{f.filename}",
        "raw_url": f"{u.server}/{full}/raw/{ref}/{f.filename}",
        "contents_url": f"{u.api}/repos/{full}/contents/{f.filename}?ref={ref}",
    }
    if f.previous_filename:
        out["previous_filename"] = f.previous_filename
    return out


def git_commit(u: Urls, full: str, c: CommitInfo) -> Json:
    api = f"{u.api}/repos/{full}"
    return {
        "sha": c.sha, "node_id": node_id("Commit", c.sha), "url": f"{api}/git/commits/{c.sha}",
        "html_url": f"{u.server}/{full}/commit/{c.sha}",
        "author": _git_person(c.author_name, c.author_email, c.author_date),
        "committer": _git_person(c.committer_name, c.committer_email, c.committer_date),
        "tree": {"sha": c.tree, "url": f"{api}/git/trees/{c.tree}"},
        "message": c.message,
        "parents": [{"sha": p, "url": f"{api}/git/commits/{p}",
                     "html_url": f"{u.server}/{full}/commit/{p}"} for p in c.parents],
        "verification": dict(NO_VERIFICATION),
    }


def git_ref(u: Urls, full: str, ref: str, sha: str, kind: str) -> Json:
    api = f"{u.api}/repos/{full}"
    sub = "tags" if kind == "tag" else kind + "s"
    return {"ref": ref, "node_id": node_id("Ref", f"{full}:{ref}"), "url": f"{api}/git/{ref}",
            "object": {"sha": sha, "type": kind, "url": f"{api}/git/{sub}/{sha}"}}


def short_branch(u: Urls, full: str, name: str, sha: str) -> Json:
    return {"name": name, "commit": {"sha": sha, "url": f"{u.api}/repos/{full}/commits/{sha}"},
            "protected": False}


def branch(u: Urls, state: State, full: str, name: str, c: CommitInfo) -> Json:
    api = f"{u.api}/repos/{full}"
    return {
        "name": name, "commit": commit(u, state, full, c),
        "_links": {"self": f"{api}/branches/{name}", "html": f"{u.server}/{full}/tree/{name}"},
        "protected": False,
        "protection": {"enabled": False, "required_status_checks": {
            "enforcement_level": "off", "contexts": [], "checks": []}},
        "protection_url": f"{api}/branches/{name}/protection",
    }


def tag(u: Urls, full: str, name: str, sha: str) -> Json:
    return {"name": name, "commit": {"sha": sha, "url": f"{u.api}/repos/{full}/commits/{sha}"},
            "zipball_url": f"{u.api}/repos/{full}/zipball/refs/tags/{name}",
            "tarball_url": f"{u.api}/repos/{full}/tarball/refs/tags/{name}",
            "node_id": node_id("Tag", f"{full}:{name}")}


def content_entry(u: Urls, full: str, ref: str, path: str, name: str, kind: str, sha: str,
                  size: int) -> Json:
    api = f"{u.api}/repos/{full}"
    git_kind = "trees" if kind == "dir" else "blobs"
    html_kind = "tree" if kind == "dir" else "blob"
    self_url = f"{api}/contents/{path}?ref={ref}"
    html = f"{u.server}/{full}/{html_kind}/{ref}/{path}"
    git_url = f"{api}/git/{git_kind}/{sha}"
    return {
        "type": kind, "size": size, "name": name, "path": path, "sha": sha, "url": self_url,
        "git_url": git_url, "html_url": html,
        "download_url": f"{u.server}/{full}/raw/{ref}/{path}" if kind == "file" else None,
        "_links": {"self": self_url, "git": git_url, "html": html},
    }
