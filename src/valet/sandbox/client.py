"""AdminClient: the Python face of the sandbox's admin API (``/_sandbox/``).

Other test fixtures, the demo and the benchmarks seed the sandbox through
these methods only; their names and signatures are a contract.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from valet.errors import SandboxError


class SandboxAdminError(RuntimeError):
    """The admin API refused a request (bad name, unknown repo, ...)."""


def _b64_files(files: dict[str, str | bytes] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for path, content in (files or {}).items():
        data = content.encode() if isinstance(content, str) else content
        out[path] = base64.b64encode(data).decode()
    return out


class AdminClient:
    def __init__(self, server_url: str, timeout: float = 60.0) -> None:
        self.base = server_url.rstrip("/") + "/_sandbox"
        self.timeout = timeout
        self._http = requests.Session()
        self._http.trust_env = False  # never through a proxy: the sandbox is on loopback

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self._http.request(method, self.base + path, json=body, timeout=self.timeout)
        if resp.status_code >= 400:
            try:
                message = resp.json().get("message", resp.text)
            except ValueError:
                message = resp.text
            raise SandboxAdminError(f"{method} /_sandbox{path}: {resp.status_code} {message}")
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    def close(self) -> None:
        self._http.close()

    # -- identities -----------------------------------------------------------------

    def create_user(self, login: str, *, type: str = "User") -> dict[str, Any]:
        """A user (or ``type="Organization"``/``"Bot"``); idempotent. Returns its simple-user JSON."""
        return self._call("POST", "/users", {"login": login, "type": type})  # type: ignore[no-any-return]

    def create_app(self, slug: str, *, repos: list[str] | None = None,
                   permission: str = "write", workflows: bool = False) -> str:
        """A GitHub App; returns a token acting as ``slug[bot]`` (type Bot).

        An app sees public repos only until given access: pass ``repos`` (each
        gets ``permission``) or call ``set_permission(repo, f"{slug}[bot]", ...)``.
        ``workflows``: the Workflows permission (write); without it pushes, ref writes
        and releases that add or change ``.github/workflows/`` files are refused.
        Calling it again for the same slug sets the permissions anew.
        """
        body = {"slug": slug, "repos": repos or [], "permission": permission,
                "workflows": workflows}
        return self._call("POST", "/apps", body)["token"]  # type: ignore[no-any-return]

    def create_token(self, login: str) -> str:
        """A new token for ``login`` (the user is created if missing)."""
        return self._call("POST", "/tokens", {"login": login})["token"]  # type: ignore[no-any-return]

    def create_org(self, login: str) -> dict[str, Any]:
        return self._call("POST", "/orgs", {"login": login})  # type: ignore[no-any-return]

    def create_team(self, org: str, slug: str, members: list[str],
                    parent: str | None = None) -> dict[str, Any]:
        """A team of ``org``; ``parent`` (a team slug) makes it a child team, whose
        members are members of the parent too."""
        body = {"org": org, "slug": slug, "members": list(members), "parent": parent}
        return self._call("POST", "/teams", body)  # type: ignore[no-any-return]

    # -- repositories ---------------------------------------------------------------

    def create_repo(self, full_name: str, *, files: dict[str, str | bytes] | None = None,
                    source_dir: Path | str | None = None, default_branch: str = "main",
                    private: bool = False, description: str | None = None) -> dict[str, Any]:
        """A repo whose default branch has one commit with ``files`` (+ ``source_dir``).

        With neither, the commit holds a README.md. The owner is created as an
        organization if it does not exist. Returns the full-repository JSON.
        """
        body = {"full_name": full_name, "files": _b64_files(files),
                "source_dir": str(Path(source_dir).resolve()) if source_dir else None,
                "default_branch": default_branch, "private": private,
                "description": description}
        return self._call("POST", "/repos", body)  # type: ignore[no-any-return]

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        """admin/maintain/write/triage/read/none for a user, or for a team as ``org/slug``."""
        self._call("PUT", f"/repos/{full_name}/permissions/{login}", {"permission": permission})

    def remove_permission(self, full_name: str, login: str) -> None:
        """Take a collaborator (or a team, as ``org/slug``) off a repository."""
        self._call("DELETE", f"/repos/{full_name}/permissions/{login}")

    def remove_team_member(self, org: str, slug: str, login: str) -> None:
        self._call("DELETE", f"/teams/{org}/{slug}/members/{login}")

    def create_run(self, full_name: str, *, path: str, event: str, actor: str, head_sha: str,
                   triggering_actor: str | None = None, head_branch: str | None = None,
                   name: str | None = None, at: str | None = None) -> dict[str, Any]:
        """Record a started workflow run (``in_progress``), as GitHub would; its record
        (``id``, ``run_attempt``, ...). ``triggering_actor`` defaults to ``actor``;
        ``at`` (ISO time) dates a run in the past."""
        body = {"path": path, "event": event, "actor": actor, "head_sha": head_sha,
                "triggering_actor": triggering_actor, "head_branch": head_branch,
                "name": name, "at": at}
        return self._call("POST", f"/repos/{full_name}/runs", body)  # type: ignore[no-any-return]

    def finish_run(self, full_name: str, run_id: int, conclusion: str,
                   at: str | None = None) -> dict[str, Any]:
        """Mark a run ``completed`` with ``conclusion`` (success, failure, cancelled, ...),
        ``at`` an ISO time (default now)."""
        return self._call("PATCH", f"/repos/{full_name}/runs/{run_id}",  # type: ignore[no-any-return]
                          {"conclusion": conclusion, "at": at})

    def rerun(self, full_name: str, run_id: int, triggering_actor: str) -> dict[str, Any]:
        """Re-run a run: the same id, the next attempt, ``triggering_actor`` is who re-ran it."""
        return self._call("POST", f"/repos/{full_name}/runs/{run_id}/rerun",  # type: ignore[no-any-return]
                          {"triggering_actor": triggering_actor})

    def protect_branch(self, full_name: str, branch: str, protected: bool = True, *,
                       reviews: int | None = 1, checks: list[str] | None = None,
                       bypass: list[str] | None = None) -> None:
        """Protect ``branch`` with a ruleset: no deletion, no force-push, changes through a
        pull request with ``reviews`` approvals (None: no pull request rule), the status
        checks ``checks`` required, the Apps (slugs) or users (logins) ``bypass`` on its
        bypass list.
        ``GET /branches/{branch}`` then reports ``protected: true`` and
        ``GET /rules/branches/{branch}`` the rules. ``protected=False`` lifts it."""
        self._call("PUT", f"/repos/{full_name}/branches/{quote(branch, safe='/')}/protection",
                   {"protected": protected, "reviews": reviews, "checks": checks,
                    "bypass": bypass})

    def set_branch_protection(self, full_name: str, branch: str,
                              rule: dict[str, Any] | None) -> None:
        """A classic branch protection rule, in the body ``PUT .../branches/{b}/protection``
        takes on GitHub (``required_pull_request_reviews`` with
        ``bypass_pull_request_allowances``, ``required_status_checks``, ``restrictions``,
        ``enforce_admins``, ``allow_force_pushes``, ...; actors as ``users`` logins,
        ``teams`` ``org/slug``, ``apps`` slugs). ``branch`` may be a pattern; None removes it.
        Only admins (for an App: the Administration permission) can read it back."""
        self._call("PUT", f"/repos/{full_name}/branches/{quote(branch, safe='/')}/protection-rule",
                   {"rule": rule})

    def add_ruleset(self, full_name: str, ruleset: dict[str, Any]) -> dict[str, Any]:
        """A repository ruleset as ``POST /repos/{o}/{r}/rulesets`` takes it (``name``,
        ``enforcement``, ``conditions.ref_name.include``, ``rules``, ``bypass_actors``; an
        actor may be named by ``actor``: App slug, login or ``org/team``). Returns it."""
        return self._call("POST", f"/repos/{full_name}/rulesets", ruleset)  # type: ignore[no-any-return]

    def set_ci(self, full_name: str, sha: str, *, statuses: list[dict[str, Any]] | None = None,
               check_runs: list[dict[str, Any]] | None = None,
               check_suites: list[dict[str, Any]] | None = None) -> str:
        """Add commit statuses ``{"context","state"[,"creator"]}`` (creator: a login, default
        the CI App's bot), check runs ``{"name","status","conclusion"[,"app"]}`` and check
        suites without runs ``{"app","status"[,"conclusion"]}`` (a queued workflow).

        ``sha`` may be a branch or tag; returns the commit sha they were added to.
        """
        body = {"sha": sha, "statuses": statuses or [], "check_runs": check_runs or [],
                "check_suites": check_suites or []}
        return self._call("POST", f"/repos/{full_name}/ci", body)["sha"]  # type: ignore[no-any-return]

    def create_pull(self, full_name: str, title: str, *, user: str,
                    labels: list[str] | None = None, head: str | None = None,
                    base: str | None = None, merged_as: str | None = None,
                    body: str | None = None) -> dict[str, Any]:
        """A pull request by ``user`` with ``labels`` (numbered with the issues). With
        ``merged_as`` (the sha or ref of the commit it landed as) it is merged; otherwise
        open, from ``head``. Returns its pull-request JSON."""
        payload = {"title": title, "user": user, "labels": labels or [], "head": head,
                   "base": base, "merged_as": merged_as, "body": body}
        return self._call("POST", f"/repos/{full_name}/pulls", payload)  # type: ignore[no-any-return]

    def add_workflow_artifact(self, full_name: str, name: str,
                              files: dict[str, bytes] | None = None, *, run_id: int | None = None,
                              zip_data: bytes | None = None, expired: bool = False) -> int:
        """A workflow-run artifact named ``name`` holding ``files`` (zipped), or the zip
        ``zip_data`` as is; of the recorded run ``run_id`` when given. Returns its id."""
        body: dict[str, Any] = {"name": name, "files": _b64_files(dict(files or {})),
                                "run_id": run_id, "expired": expired}
        if zip_data is not None:
            body["zip"] = base64.b64encode(zip_data).decode()
        return int(self._call("POST", f"/repos/{full_name}/artifacts", body)["id"])

    def seal_request(self, publish_repo: str, number: int, request: Any, body: str) -> int:
        """What the release run's request job uploads once it wrote ``body`` as issue
        ``number`` of ``publish_repo``: its seal (valet.seal), the artifact
        ``valet-request`` of the run the request names. Returns the artifact's id."""
        from valet import seal

        if request.run_id is None:
            raise SandboxError("the request names no run to seal it")
        return self.add_workflow_artifact(
            request.repo, seal.ARTIFACT, run_id=int(request.run_id),
            zip_data=seal.make(publish_repo, number, request, body).zipped())

    def create_oidc_request_token(self, repository: str, *, ref: str = "refs/heads/main",
                                  environment: str | None = None,
                                  workflow: str = "publish.yml", actor: str | None = None,
                                  sha: str | None = None) -> str:
        """A job's id-token request token bound to these claims (ACTIONS_ID_TOKEN_REQUEST_TOKEN).

        Pair it with ``Sandbox.oidc_env(token)``; the JWTs verify against
        ``{server}/_sandbox/oidc/.well-known/jwks`` (issuer ``{server}/_sandbox/oidc``).
        """
        body = {"repository": repository, "ref": ref, "environment": environment,
                "workflow": workflow, "actor": actor, "sha": sha}
        return self._call("POST", "/oidc/request-tokens", body)["token"]  # type: ignore[no-any-return]

    def add_trusted_publisher(self, registry: str, package: str, repository: str, *,
                              workflow: str = "publish.yml",
                              environment: str | None = "production") -> dict[str, Any]:
        """Register ``repository``'s ``workflow`` (run in ``environment``; None: any) as the
        trusted publisher of ``package`` on the exchange of ``registry`` (pypi, npm,
        crates), which must be running (``valet sandbox --with trusted-publishing``).
        Returns the registration as the exchange stores it (the package name normalized)."""
        body = {"registry": registry, "package": package, "repository": repository,
                "workflow": workflow, "environment": environment}
        return self._call("POST", "/trusted-publishers", body)  # type: ignore[no-any-return]

    def trusted_publishers(self) -> list[dict[str, Any]]:
        return self._call("GET", "/trusted-publishers")  # type: ignore[no-any-return]

    # -- observation ----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The whole non-git state (users, tokens, teams, repos with issues, releases, ...)."""
        return self._call("GET", "/state")  # type: ignore[no-any-return]

    def request_log(self) -> list[dict[str, Any]]:
        """Every non-admin request, oldest first.

        Each: ``method``, ``path`` (relative to its mount: ``/repos/o/r/issues`` for the
        REST API and the uploads endpoint), ``query``, ``status`` (0: dropped by a hang
        fault), ``user`` (the token's login or None), ``ms``, ``kind`` (api, uploads,
        git, web, oidc) and ``full_path`` (e.g. ``/api/v3/repos/o/r/issues``).
        """
        return self._call("GET", "/requests")  # type: ignore[no-any-return]

    def clear_request_log(self) -> None:
        self._call("DELETE", "/requests")

    # -- faults -----------------------------------------------------------------------

    def add_fault(self, *, path: str, method: str | None = None, kind: str = "status",
                  status: int = 502, count: int | None = None,
                  seconds: float = 0.0) -> dict[str, Any]:
        """Make requests whose path matches the regex ``path`` misbehave.

        kind: ``status`` (answer ``status``), ``hang`` (sleep ``seconds``, default 60, then
        drop the connection), ``ratelimit`` (403, X-RateLimit-Remaining: 0, reset in
        ``seconds``), ``secondary_ratelimit`` (403 with Retry-After: ``seconds``),
        ``latency`` (add ``seconds`` then answer normally) or ``lost`` (carry the request
        out, then drop the connection before answering). ``count`` answers are affected
        (default 1; latency: every match); ``count=0`` means forever.
        """
        body = {"path": path, "method": method, "kind": kind, "status": status, "count": count,
                "seconds": seconds}
        return self._call("POST", "/faults", body)  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")  # type: ignore[no-any-return]
