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
from valet.sandbox.teams import is_member

Json = dict[str, Any]


@dataclass(frozen=True)
class Urls:
    server: str   # http://127.0.0.1:P
    api: str      # http://127.0.0.1:P/api/v3
    uploads: str  # http://127.0.0.1:P/api/uploads
    storage: str = ""  # http://127.0.0.1:Q: where downloads redirect (another origin)


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
    if f.patch is not None:
        out["patch"] = f.patch
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


def short_branch(u: Urls, full: str, name: str, sha: str, protected: bool = False) -> Json:
    return {"name": name, "commit": {"sha": sha, "url": f"{u.api}/repos/{full}/commits/{sha}"},
            "protected": protected}


def branch(u: Urls, state: State, full: str, name: str, c: CommitInfo,
           protected: bool = False) -> Json:
    api = f"{u.api}/repos/{full}"
    return {
        "name": name, "commit": commit(u, state, full, c),
        "_links": {"self": f"{api}/branches/{name}", "html": f"{u.server}/{full}/tree/{name}"},
        "protected": protected,
        "protection": {"enabled": protected, "required_status_checks": {
            "enforcement_level": "off", "contexts": [], "checks": []}},
        "protection_url": f"{api}/branches/{name}/protection",
    }


def _team(u: Urls, state: State, key: str) -> Json | None:
    team = state.teams.get(key.lower())
    if team is None:
        return None
    api = f"{u.api}/orgs/{team['org']}/teams/{team['slug']}"
    return {"id": team["id"], "node_id": node_id("Team", team["id"]), "url": api,
            "html_url": f"{u.server}/orgs/{team['org']}/teams/{team['slug']}",
            "name": team["name"], "slug": team["slug"], "description": None,
            "privacy": "closed", "permission": "pull", "members_url": f"{api}/members{{/member}}",
            "repositories_url": f"{api}/repos", "parent": None}


def _actors(u: Urls, state: State, allow: Record) -> Json:
    users = [user(u, x) for x in (state.user(n) for n in allow.get("users", [])) if x]
    teams = [t for t in (_team(u, state, k) for k in allow.get("teams", [])) if t]
    apps = [integration(u, state, a) for a in (state.data["apps"].get(s.lower())
                                               for s in allow.get("apps", [])) if a]
    return {"users": users, "teams": teams, "apps": apps}


def branch_protection(u: Urls, state: State, full: str, name: str, rule: Record) -> Json:
    """A branch protection rule as ``GET /branches/{b}/protection`` shows it."""
    url = f"{u.api}/repos/{full}/branches/{name}/protection"

    def flag(key: str) -> Json:
        return {"enabled": bool(rule.get(key))}

    out: Json = {
        "url": url,
        "required_signatures": {"url": f"{url}/required_signatures", "enabled": False},
        "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": bool(rule.get("enforce_admins"))},
        "required_linear_history": flag("required_linear_history"),
        "allow_force_pushes": flag("allow_force_pushes"), "allow_deletions": flag("allow_deletions"),
        "block_creations": {"enabled": False}, "required_conversation_resolution": {"enabled": False},
        "lock_branch": flag("lock_branch"), "allow_fork_syncing": {"enabled": False},
    }
    checks = rule.get("required_status_checks")
    if checks is not None:
        out["required_status_checks"] = {
            "url": f"{url}/required_status_checks", "strict": checks["strict"],
            "contexts": list(checks["contexts"]) + [c["context"] for c in checks["checks"]],
            "contexts_url": f"{url}/required_status_checks/contexts",
            "checks": [{"context": c, "app_id": None} for c in checks["contexts"]]
            + [{"context": c["context"], "app_id": c.get("app_id")} for c in checks["checks"]]}
    reviews = rule.get("required_pull_request_reviews")
    if reviews is not None:
        out["required_pull_request_reviews"] = {
            "url": f"{url}/required_pull_request_reviews",
            "dismiss_stale_reviews": reviews["dismiss_stale_reviews"],
            "require_code_owner_reviews": reviews["require_code_owner_reviews"],
            "required_approving_review_count": reviews["required_approving_review_count"],
            "require_last_push_approval": reviews["require_last_push_approval"],
            "bypass_pull_request_allowances": _actors(
                u, state, reviews["bypass_pull_request_allowances"])}
    restrictions = rule.get("restrictions")
    if restrictions is not None:
        out["restrictions"] = {"url": f"{url}/restrictions", "users_url": f"{url}/restrictions/users",
                               "teams_url": f"{url}/restrictions/teams",
                               "apps_url": f"{url}/restrictions/apps",
                               **_actors(u, state, restrictions)}
    return out


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


# -- issues ----------------------------------------------------------------------


def label(u: Urls, full: str, rec: Record) -> Json:
    return {"id": rec["id"], "node_id": node_id("Label", rec["id"]),
            "url": f"{u.api}/repos/{full}/labels/{rec['name']}", "name": rec["name"],
            "color": rec["color"], "default": rec.get("default", False),
            "description": rec.get("description")}


def author_association(state: State, repo_rec: Record, login: str) -> str:
    if repo_rec["owner"].lower() == login.lower():
        return "OWNER"
    perm = repo_rec["perms"].get(login.lower(), "none")
    if perm in ("read", "none"):
        owner = state.user(repo_rec["owner"])
        if owner and owner["type"] == "Organization":
            for team in state.teams.values():
                if team["org"].lower() == owner["login"].lower() and \
                        is_member(state, team, login):
                    return "MEMBER"
        return "NONE"
    return "COLLABORATOR"


def _reactions(url: str) -> Json:
    return {"url": f"{url}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
            "confused": 0, "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0}


def issue(u: Urls, state: State, repo_rec: Record, rec: Record) -> Json:
    full = repo_rec["full_name"]
    api = f"{u.api}/repos/{full}/issues/{rec['number']}"
    author = state.user(rec["user"])
    closer = state.user(rec.get("closed_by"))
    labels = [repo_rec["labels"][n.lower()] for n in rec["labels"]
              if n.lower() in repo_rec["labels"]]
    assignees = [user(u, a) for a in (state.user(x) for x in rec.get("assignees", [])) if a]
    return {
        "id": rec["id"], "node_id": node_id("Issue", rec["id"]), "url": api,
        "repository_url": f"{u.api}/repos/{full}", "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments", "events_url": f"{api}/events",
        "html_url": f"{u.server}/{full}/issues/{rec['number']}", "number": rec["number"],
        "state": rec["state"], "state_reason": rec.get("state_reason"), "title": rec["title"],
        "body": rec.get("body"), "user": user(u, author) if author else None,
        "labels": [label(u, full, lb) for lb in labels],
        "assignee": assignees[0] if assignees else None, "assignees": assignees,
        "milestone": None, "locked": False, "active_lock_reason": None,
        "comments": sum(1 for c in repo_rec["comments"].values()
                        if c["issue"] == rec["number"]),
        "closed_at": rec.get("closed_at"), "created_at": rec["created_at"],
        "updated_at": rec["updated_at"], "closed_by": user(u, closer) if closer else None,
        "author_association": author_association(state, repo_rec, rec["user"]),
        "reactions": _reactions(api), "timeline_url": f"{api}/timeline",
        "performed_via_github_app": None,
    }


def _link(href: str) -> Json:
    return {"href": href}


def pull_as_issue(u: Urls, state: State, repo_rec: Record, rec: Record) -> Json:
    """A pull request as the issues API answers it (``GET .../issues/{n}`` of a pull
    request's number): the issue shape with ``pull_request``, its node the PullRequest's."""
    full = repo_rec["full_name"]
    html = f"{u.server}/{full}/pull/{rec['number']}"
    out = issue(u, state, repo_rec, {"closed_by": None, "assignees": [], **rec})
    out.update({"node_id": node_id("PullRequest", rec["id"]), "html_url": html,
                "state_reason": None,
                "pull_request": {"url": f"{u.api}/repos/{full}/pulls/{rec['number']}",
                                 "html_url": html, "diff_url": f"{html}.diff",
                                 "patch_url": f"{html}.patch",
                                 "merged_at": rec.get("merged_at")}})
    return out


def pull_request(u: Urls, state: State, repo_rec: Record, rec: Record, *,
                 full_record: bool = True) -> Json:
    """``pull-request`` (GET .../pulls/{n}); ``full_record=False``: ``pull-request-simple``."""
    full = repo_rec["full_name"]
    api = f"{u.api}/repos/{full}"
    n = rec["number"]
    author = state.user(rec["user"])
    merger = state.user(rec.get("merged_by"))
    owner = state.user(repo_rec["owner"])
    labels = [repo_rec["labels"][x.lower()] for x in rec["labels"]
              if x.lower() in repo_rec["labels"]]
    repo_json = repo(u, state, repo_rec)

    def side(ref: str, sha: str) -> Json:
        return {"label": f"{repo_rec['owner']}:{ref}", "ref": ref, "sha": sha,
                "user": user(u, owner) if owner else None, "repo": repo_json}

    html = f"{u.server}/{full}/pull/{n}"
    out: Json = {
        "url": f"{api}/pulls/{n}", "id": rec["id"], "node_id": node_id("PullRequest", rec["id"]),
        "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{n}", "commits_url": f"{api}/pulls/{n}/commits",
        "review_comments_url": f"{api}/pulls/{n}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{n}/comments",
        "statuses_url": f"{api}/statuses/{rec['head_sha']}", "number": n,
        "state": rec["state"], "locked": False, "title": rec["title"],
        "user": user(u, author) if author else None, "body": rec.get("body"),
        "labels": [label(u, full, lb) for lb in labels], "milestone": None,
        "active_lock_reason": None, "created_at": rec["created_at"],
        "updated_at": rec["updated_at"], "closed_at": rec.get("closed_at"),
        "merged_at": rec.get("merged_at"), "merge_commit_sha": rec.get("merge_commit_sha"),
        "assignee": None, "assignees": [], "requested_reviewers": [], "requested_teams": [],
        "head": side(rec["head_ref"], rec["head_sha"]),
        "base": side(rec["base_ref"], rec["base_sha"]),
        "_links": {"self": _link(f"{api}/pulls/{n}"), "html": _link(html),
                   "issue": _link(f"{api}/issues/{n}"),
                   "comments": _link(f"{api}/issues/{n}/comments"),
                   "review_comments": _link(f"{api}/pulls/{n}/comments"),
                   "review_comment": _link(f"{api}/pulls/comments{{/number}}"),
                   "commits": _link(f"{api}/pulls/{n}/commits"),
                   "statuses": _link(f"{api}/statuses/{rec['head_sha']}")},
        "author_association": author_association(state, repo_rec, rec["user"]),
        "auto_merge": None, "draft": False,
    }
    if full_record:
        merged = rec.get("merged_at") is not None
        out.update({"merged": merged, "mergeable": None if merged else True,
                    "rebaseable": None, "mergeable_state": "unknown" if merged else "clean",
                    "merged_by": user(u, merger) if merger else None, "comments": 0,
                    "review_comments": 0, "maintainer_can_modify": False, "commits": 1,
                    "additions": 0, "deletions": 0, "changed_files": 0})
    return out


def comment(u: Urls, state: State, repo_rec: Record, rec: Record) -> Json:
    full = repo_rec["full_name"]
    url = f"{u.api}/repos/{full}/issues/comments/{rec['id']}"
    author = state.user(rec["user"])
    return {
        "id": rec["id"], "node_id": node_id("IssueComment", rec["id"]), "url": url,
        "html_url": f"{u.server}/{full}/issues/{rec['issue']}#issuecomment-{rec['id']}",
        "body": rec["body"], "user": user(u, author) if author else None,
        "created_at": rec["created_at"], "updated_at": rec["updated_at"],
        "issue_url": f"{u.api}/repos/{full}/issues/{rec['issue']}",
        "author_association": author_association(state, repo_rec, rec["user"]),
        "performed_via_github_app": None, "reactions": _reactions(url),
    }


def integration(u: Urls, state: State, app_rec: Record) -> Json:
    bot = state.user(app_rec["bot"])
    return {
        "id": app_rec["id"], "slug": app_rec["slug"], "node_id": node_id("App", app_rec["id"]),
        "client_id": f"Iv1.{app_rec['id']:016x}", "owner": user(u, bot) if bot else None,
        "name": app_rec["slug"], "description": None,
        "external_url": f"{u.server}/apps/{app_rec['slug']}",
        "html_url": f"{u.server}/apps/{app_rec['slug']}", "created_at": app_rec["created_at"],
        "updated_at": app_rec["created_at"],
        "permissions": {"contents": "write", "issues": "write", "checks": "write",
                        "metadata": "read"},
        "events": [],
    }


def issue_event(u: Urls, state: State, repo_rec: Record, rec: Record) -> Json:
    full = repo_rec["full_name"]
    actor = state.user(rec["actor"])
    out: Json = {
        "id": rec["id"], "node_id": node_id("IssueEvent", rec["id"]),
        "url": f"{u.api}/repos/{full}/issues/events/{rec['id']}",
        "actor": user(u, actor) if actor else None, "event": rec["event"], "commit_id": None,
        "commit_url": None, "created_at": rec["created_at"], "performed_via_github_app": None,
    }
    if rec.get("label"):
        out["label"] = {"name": rec["label"]["name"], "color": rec["label"]["color"]}
    if rec["event"] in ("closed", "reopened"):
        out["state_reason"] = rec.get("state_reason")
    return out


# -- CI ----------------------------------------------------------------------------


def status(u: Urls, state: State, full: str, sha: str, rec: Record) -> Json:
    creator = state.user(rec["creator"])
    return {
        "url": f"{u.api}/repos/{full}/statuses/{sha}",
        "avatar_url": f"{u.server}/avatars/{rec['creator']}", "id": rec["id"],
        "node_id": node_id("StatusContext", rec["id"]), "state": rec["state"],
        "description": rec.get("description"), "target_url": rec.get("target_url"),
        "context": rec["context"], "created_at": rec["created_at"],
        "updated_at": rec["updated_at"], "creator": user(u, creator) if creator else None,
    }


def check_run(u: Urls, state: State, full: str, rec: Record) -> Json:
    app_rec = state.data["apps"].get(rec["app"].lower())
    out = rec.get("output") or {}
    url = f"{u.api}/repos/{full}/check-runs/{rec['id']}"
    return {
        "id": rec["id"], "head_sha": rec["head_sha"], "node_id": node_id("CheckRun", rec["id"]),
        "external_id": rec.get("external_id") or "", "url": url,
        "html_url": f"{u.server}/{full}/runs/{rec['id']}",
        "details_url": rec.get("details_url") or f"{u.server}/{full}/runs/{rec['id']}",
        "status": rec["status"], "conclusion": rec.get("conclusion"),
        "started_at": rec.get("started_at"), "completed_at": rec.get("completed_at"),
        "output": {"title": out.get("title"), "summary": out.get("summary"),
                   "text": out.get("text"), "annotations_count": 0,
                   "annotations_url": f"{url}/annotations"},
        "name": rec["name"], "check_suite": {"id": rec.get("suite_id", rec["id"])},
        "app": integration(u, state, app_rec) if app_rec else None, "pull_requests": [],
    }


_WORST = ("action_required", "cancelled", "timed_out", "failure", "startup_failure", "stale",
          "neutral", "skipped", "success")


def suite_state(suite: Record, runs: list[Record]) -> tuple[str, str | None]:
    """A suite's ``(status, conclusion)``: its own until it has runs, then theirs."""
    if not runs:
        return suite["status"], suite.get("conclusion")
    if all(r["status"] == "completed" for r in runs):
        conclusions = [r.get("conclusion") or "failure" for r in runs]
        return "completed", min(conclusions, key=lambda c: _WORST.index(c) if c in _WORST else 0)
    return ("in_progress" if any(r["status"] != "queued" for r in runs) else "queued"), None


def simple_commit(c: CommitInfo) -> Json:
    return {"id": c.sha, "tree_id": c.tree, "message": c.message, "timestamp": c.committer_date,
            "author": {"name": c.author_name, "email": c.author_email},
            "committer": {"name": c.committer_name, "email": c.committer_email}}


def check_suite(u: Urls, state: State, repo_rec: Record, rec: Record, runs: list[Record],
                head: CommitInfo) -> Json:
    full = repo_rec["full_name"]
    app_rec = state.data["apps"].get(rec["app"].lower())
    status, conclusion = suite_state(rec, runs)
    api = f"{u.api}/repos/{full}"
    return {
        "id": rec["id"], "node_id": node_id("CheckSuite", rec["id"]), "head_branch": None,
        "head_sha": rec["head_sha"], "status": status, "conclusion": conclusion,
        "url": f"{api}/check-suites/{rec['id']}", "before": None, "after": rec["head_sha"],
        "pull_requests": [], "app": integration(u, state, app_rec) if app_rec else None,
        "repository": repo(u, state, repo_rec),
        "created_at": rec["created_at"], "updated_at": rec["updated_at"],
        "head_commit": simple_commit(head), "latest_check_runs_count": len(runs),
        "check_runs_url": f"{api}/check-suites/{rec['id']}/check-runs",
        "rerequestable": True, "runs_rerequestable": True,
    }


# -- releases and artifacts ------------------------------------------------------------


def asset(u: Urls, state: State, full: str, rel: Record, rec: Record) -> Json:
    uploader = state.user(rec["uploader"])
    tag_name = rel["tag_name"] if not rel["draft"] else f"untagged-{rel['id']}"
    return {
        "url": f"{u.api}/repos/{full}/releases/assets/{rec['id']}",
        "browser_download_url": f"{u.server}/{full}/releases/download/{tag_name}/{rec['name']}",
        "id": rec["id"], "node_id": node_id("ReleaseAsset", rec["id"]), "name": rec["name"],
        "label": rec.get("label"), "state": rec.get("state", "uploaded"),
        "content_type": rec["content_type"], "size": rec["size"], "digest": rec["digest"],
        "download_count": rec.get("download_count", 0), "created_at": rec["created_at"],
        "updated_at": rec["updated_at"], "uploader": user(u, uploader) if uploader else None,
    }


def release(u: Urls, state: State, repo_rec: Record, rec: Record) -> Json:
    full = repo_rec["full_name"]
    api = f"{u.api}/repos/{full}/releases/{rec['id']}"
    author = state.user(rec["author"])
    tag_name = rec["tag_name"]
    html_tag = f"untagged-{rec['id']}" if rec["draft"] else tag_name
    assets = [repo_rec["assets"][str(a)] for a in rec["assets"] if str(a) in repo_rec["assets"]]
    return {
        "url": api, "html_url": f"{u.server}/{full}/releases/tag/{html_tag}",
        "assets_url": f"{api}/assets",
        "upload_url": f"{u.uploads}/repos/{full}/releases/{rec['id']}/assets{{?name,label}}",
        "tarball_url": f"{u.api}/repos/{full}/tarball/{tag_name}",
        "zipball_url": f"{u.api}/repos/{full}/zipball/{tag_name}", "id": rec["id"],
        "node_id": node_id("Release", rec["id"]), "tag_name": tag_name,
        "target_commitish": rec["target_commitish"], "name": rec.get("name"),
        "body": rec.get("body"), "draft": rec["draft"], "prerelease": rec["prerelease"],
        "immutable": False, "created_at": rec["created_at"],
        "published_at": rec.get("published_at"), "updated_at": rec.get("updated_at"),
        "author": user(u, author) if author else None,
        "assets": [asset(u, state, full, rec, a) for a in assets],
    }


def artifact(u: Urls, repo_rec: Record, rec: Record) -> Json:
    full = repo_rec["full_name"]
    api = f"{u.api}/repos/{full}/actions/artifacts/{rec['id']}"
    return {
        "id": rec["id"], "node_id": node_id("Artifact", rec["id"]), "name": rec["name"],
        "size_in_bytes": rec["size_in_bytes"], "url": api, "archive_download_url": f"{api}/zip",
        "expired": bool(rec.get("expired")), "created_at": rec["created_at"],
        "expires_at": rec["expires_at"],
        "updated_at": rec["updated_at"], "digest": rec.get("digest"),
        "workflow_run": {"id": rec["run_id"], "repository_id": repo_rec["id"],
                         "head_repository_id": repo_rec["id"],
                         "head_branch": rec.get("head_branch"), "head_sha": rec.get("head_sha")},
    }


def workflow_run(u: Urls, state: State, repo_rec: Record, rec: Record) -> Json:
    """A workflow run as GitHub records it: who triggered it, on what, from which file."""
    full = repo_rec["full_name"]
    api = f"{u.api}/repos/{full}/actions/runs/{rec['id']}"
    actor = state.user(rec["actor"])
    trigger = state.user(rec["triggering_actor"])
    repository = repo(u, state, repo_rec)
    return {
        "id": rec["id"], "name": rec["name"], "node_id": node_id("WorkflowRun", rec["id"]),
        "check_suite_id": rec["id"] + 1, "check_suite_node_id": node_id("CheckSuite", rec["id"] + 1),
        "head_branch": rec.get("head_branch"), "head_sha": rec["head_sha"], "path": rec["path"],
        "display_title": rec["name"], "run_number": rec["run_number"],
        "run_attempt": rec["run_attempt"], "event": rec["event"], "status": rec["status"],
        "conclusion": rec.get("conclusion"), "workflow_id": rec["workflow_id"],
        "url": api, "html_url": f"{u.server}/{full}/actions/runs/{rec['id']}",
        "pull_requests": [], "referenced_workflows": [],
        "created_at": rec["created_at"], "updated_at": rec["updated_at"],
        "run_started_at": rec["run_started_at"],
        "actor": user(u, actor) if actor else None,
        "triggering_actor": user(u, trigger) if trigger else None,
        "jobs_url": f"{api}/jobs", "logs_url": f"{api}/logs",
        "check_suite_url": f"{u.api}/repos/{full}/check-suites/{rec['id'] + 1}",
        "artifacts_url": f"{api}/artifacts", "cancel_url": f"{api}/cancel",
        "rerun_url": f"{api}/rerun",
        "previous_attempt_url": (f"{api}/attempts/{rec['run_attempt'] - 1}"
                                 if rec["run_attempt"] > 1 else None),
        "workflow_url": f"{u.api}/repos/{full}/actions/workflows/{rec['workflow_id']}",
        "head_commit": None, "repository": repository, "head_repository": repository,
        "head_repository_id": repo_rec["id"],
    }
