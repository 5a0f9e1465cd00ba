"""The GitHub REST calls publish makes, in one small facade.

Publish talks to exact REST endpoints (issues, labels, events, comments,
collaborator permission, team membership, contents, statuses, check runs,
merges, refs) through PyGithub's requester, which brings the retry policy and
base URL chosen in github_client. Keeping the calls here lets the orchestration
be tested against a stub with the same methods, and lets the sandbox see the
same requests GitHub would.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from valet.errors import GitHubError
from valet.github_client import wrap

_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class NotFound(GitHubError):
    """A 404 (or 422 on a missing ref) that a caller may treat as an answer."""


@dataclass(frozen=True)
class Edit:
    """One edit of an issue body: who (None: a deleted account), when, the body after it."""

    login: str | None
    at: str
    body: str


EDITS_LIMIT = 100  # GraphQL's page limit; the newest this many edits are read
EDITS_QUERY = (
    "query($owner: String!, $name: String!, $number: Int!) {"
    " repository(owner: $owner, name: $name) { issue(number: $number) {"
    f" userContentEdits(first: {EDITS_LIMIT}) {{ totalCount nodes {{ editedAt editor {{ login }} diff }} }}"
    " } } }")
VIEWER_QUERY = "query { viewer { login } }"


class EditHistory(list[Edit]):
    """The edits of a body, oldest first; ``complete`` is False when GitHub holds more
    than were read (the oldest are missing)."""

    complete: bool = True


def graphql_url(api_url: str) -> str:
    """GITHUB_GRAPHQL_URL, else derived from the REST URL: ``https://api.github.com`` ->
    ``https://api.github.com/graphql``; GHES ``https://HOST/api/v3`` -> ``https://HOST/api/graphql``."""
    explicit = (os.environ.get("GITHUB_GRAPHQL_URL") or "").strip()
    if explicit:
        return explicit.rstrip("/")
    parts = urlsplit(api_url.rstrip("/"))
    path = parts.path[: -len("/v3")] if parts.path.endswith("/v3") else parts.path
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/graphql", "", ""))


class Rest:
    """Raw REST over one PyGithub client (one token)."""

    def __init__(self, gh: Any) -> None:
        self._requester = gh.requester
        # PyGithub keeps one connection per requester: serialize our own calls.
        self._lock = threading.Lock()

    def call(self, verb: str, path: str, *, params: dict[str, Any] | None = None,
             body: Any = None, doing: str = "") -> tuple[dict[str, Any], Any]:
        from github import GithubException

        try:
            with self._lock:
                return self._requester.requestJsonAndCheck(verb, path, parameters=params, input=body)
        except GithubException as exc:
            err = wrap(exc, doing or f"{verb} {path}")
            if exc.status == 404:
                raise NotFound(err.message, hint=err.hint) from None
            raise err from None
        except Exception as exc:  # noqa: BLE001 - network errors after retries
            raise wrap(exc, doing or f"{verb} {path}") from None

    def graphql(self, query: str, variables: dict[str, Any], doing: str) -> dict[str, Any]:
        """``data`` of a GraphQL query; GitHubError for an error answer (sent with 200).

        The token only ever goes to the REST API's host: PyGithub refuses any other
        (a GITHUB_GRAPHQL_URL elsewhere is an error here, not a leak)."""
        _, data = self.call("POST", graphql_url(self._requester.base_url),
                            body={"query": query, "variables": variables}, doing=doing)
        if not isinstance(data, dict):
            raise GitHubError(f"{doing}: GraphQL answered no JSON object")
        errors = data.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and errors else {}
            message = first.get("message") if isinstance(first, dict) else None
            raise GitHubError(f"{doing}: GraphQL error: {message or errors!r}")
        out = data.get("data")
        if not isinstance(out, dict):
            raise GitHubError(f"{doing}: GraphQL answered no data")
        return out

    def get(self, path: str, params: dict[str, Any] | None = None, doing: str = "") -> Any:
        return self.call("GET", path, params=params, doing=doing)[1]

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        url: str | None = path
        seen = 0
        while url:
            headers, data = self.call("GET", url, params=query)
            yield data
            seen += 1
            query = None  # the next link carries the query
            link = headers.get("link") or headers.get("Link") or ""
            match = _NEXT_RE.search(link)
            url = match.group(1) if match and seen < 1000 else None

    def items(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        for page in self.pages(path, params):
            if isinstance(page, list):
                yield from page


def seg(value: str) -> str:
    """One URL path segment (a label name, a login)."""
    return quote(value, safe="")


def ref_path(branch: str) -> str:
    """A branch name inside a path: slashes stay, everything else is quoted."""
    return quote(branch, safe="/")


class IssueAPI:
    """Calls on the publish repository (github-token)."""

    def __init__(self, rest: Rest, repo: str) -> None:
        self.rest = rest
        self.repo = repo

    def issue(self, number: int) -> dict[str, Any]:
        return self.rest.get(f"/repos/{self.repo}/issues/{number}", doing=f"reading issue #{number}")

    def events(self, number: int) -> list[dict[str, Any]]:
        return list(self.rest.items(f"/repos/{self.repo}/issues/{number}/events"))

    def comments(self, number: int) -> list[dict[str, Any]]:
        return list(self.rest.items(f"/repos/{self.repo}/issues/{number}/comments"))

    def viewer_login(self) -> str:
        """Who this token acts as: an App installation token is the App's bot.

        GraphQL's ``viewer``: REST's ``GET /user`` answers 403 to an installation token."""
        data = self.rest.graphql(VIEWER_QUERY, {}, "asking GitHub who the github-token is")
        login = (data.get("viewer") or {}).get("login") if isinstance(data, dict) else None
        if not isinstance(login, str) or not login:
            raise GitHubError("GitHub did not say who the github-token is (GraphQL viewer)")
        return login

    def app(self, slug: str) -> dict[str, Any] | None:
        """The GitHub App ``slug`` (``GET /apps/{slug}``); None when there is none."""
        try:
            data = self.rest.get(f"/apps/{seg(slug)}", doing=f"looking up the GitHub App {slug}")
        except NotFound:
            return None
        return data if isinstance(data, dict) else None

    def body_edits(self, number: int) -> EditHistory:
        """The edits of the issue body, oldest first (GraphQL: REST has no edit history).

        At most the newest EDITS_LIMIT; the creator's first body is not an edit (GitHub
        lists it as the oldest node once the body was edited: it is kept, as an edit by
        the author). Raises GitHubError when GraphQL fails or answers something else."""
        owner, _, name = self.repo.partition("/")
        doing = f"reading the edit history of #{number}"
        data = self.rest.graphql(EDITS_QUERY, {"owner": owner, "name": name, "number": number},
                                 doing)
        try:
            history = data["repository"]["issue"]["userContentEdits"]
            nodes = history["nodes"]
        except (KeyError, TypeError):
            raise GitHubError(f"{doing}: GraphQL answered an unexpected shape") from None
        edits = EditHistory()
        for node in nodes if isinstance(nodes, list) else []:
            if not isinstance(node, dict) or not isinstance(node.get("diff"), str):
                continue  # a deleted revision has no text
            editor = node.get("editor")
            login = editor.get("login") if isinstance(editor, dict) else None
            edits.append(Edit(login if isinstance(login, str) else None,
                              str(node.get("editedAt") or ""), node["diff"]))
        edits.reverse()  # GitHub lists the newest first
        total = history.get("totalCount") if isinstance(history, dict) else None
        edits.complete = isinstance(total, int) and total <= len(nodes)
        return edits

    def comment(self, number: int, body: str) -> None:
        self.rest.call("POST", f"/repos/{self.repo}/issues/{number}/comments", body={"body": body},
                       doing=f"commenting on #{number}")

    def set_body(self, number: int, body: str) -> dict[str, Any]:
        """Write the body; returns the issue as GitHub answers it (labels included)."""
        _, data = self.rest.call("PATCH", f"/repos/{self.repo}/issues/{number}",
                                 body={"body": body}, doing=f"updating the body of #{number}")
        return data if isinstance(data, dict) else {}

    def close(self, number: int, labels: list[str] | None = None) -> None:
        """Close as completed; with `labels`, set the final labels in the same call."""
        payload: dict[str, Any] = {"state": "closed", "state_reason": "completed"}
        if labels is not None:
            payload["labels"] = labels
        self.rest.call("PATCH", f"/repos/{self.repo}/issues/{number}", body=payload,
                       doing=f"closing #{number}")

    def add_labels(self, number: int, labels: list[str]) -> None:
        if labels:
            self.rest.call("POST", f"/repos/{self.repo}/issues/{number}/labels",
                           body={"labels": labels}, doing=f"labelling #{number}")

    def remove_label(self, number: int, label: str) -> None:
        try:
            self.rest.call("DELETE", f"/repos/{self.repo}/issues/{number}/labels/{seg(label)}",
                           doing=f"removing label {label} from #{number}")
        except NotFound:
            pass  # already gone: the state we wanted

    def all_issues(self, since: str | None = None) -> Iterator[dict[str, Any]]:
        """Every issue (open and closed, pull requests left out), newest first; with
        ``since`` (ISO 8601), only those updated at or after it."""
        params: dict[str, Any] = {"state": "all", "sort": "created", "direction": "desc"}
        if since:
            params["since"] = since
        for item in self.rest.items(f"/repos/{self.repo}/issues", params):
            if isinstance(item, dict) and "pull_request" not in item:
                yield item

    def open_issues_with(self, labels: list[str]) -> list[dict[str, Any]]:
        wanted = set(labels)
        found = []
        for item in self.rest.items(f"/repos/{self.repo}/issues",
                                    {"state": "open", "labels": ",".join(labels)}):
            if not isinstance(item, dict) or "pull_request" in item:
                continue
            names = {x.get("name") for x in item.get("labels") or [] if isinstance(x, dict)}
            if wanted <= names:  # the filter is an AND on GitHub; check it ourselves anyway
                found.append(item)
        return found

    # -- authz.AuthzAPI ----------------------------------------------------

    def team_member(self, org: str, slug: str, login: str) -> bool:
        try:
            data = self.rest.get(f"/orgs/{seg(org)}/teams/{seg(slug)}/memberships/{seg(login)}",
                                 doing=f"checking {login}'s membership of {org}/{slug}")
        except NotFound:
            return False
        return isinstance(data, dict) and data.get("state") == "active"

    def repo_role(self, repo: str, login: str) -> str:
        try:
            data = self.rest.get(f"/repos/{repo}/collaborators/{seg(login)}/permission",
                                 doing=f"reading {login}'s permission on {repo}")
        except NotFound:
            return "none"
        if not isinstance(data, dict):
            return "none"
        role = data.get("role_name") or data.get("permission") or "none"
        return str(role).lower()


class SdkAPI:
    """Calls on the SDK repository (sdk-token)."""

    def __init__(self, rest: Rest, repo: str) -> None:
        self.rest = rest
        self.repo = repo

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        return self.rest.pages(path, params)

    def default_branch(self) -> str:
        data = self.rest.get(f"/repos/{self.repo}", doing=f"reading {self.repo}")
        branch = data.get("default_branch") if isinstance(data, dict) else None
        if not isinstance(branch, str) or not branch:
            raise GitHubError(f"{self.repo} reports no default branch")
        return branch

    def workflow_run(self, run_id: int) -> dict[str, Any] | None:
        """A workflow run of this repository as GitHub recorded it; None when there is none."""
        try:
            data = self.rest.get(f"/repos/{self.repo}/actions/runs/{int(run_id)}",
                                 doing=f"reading workflow run {run_id} of {self.repo}")
        except NotFound:
            return None
        return data if isinstance(data, dict) else None

    def contains(self, ancestor: str, sha: str) -> bool:
        """Whether commit ``sha`` has ``ancestor`` in its history (or is it)."""
        try:
            data = self.rest.get(f"/repos/{self.repo}/compare/{seg(ancestor)}...{seg(sha)}",
                                 doing=f"comparing {ancestor} with {sha} in {self.repo}")
        except NotFound:
            return False
        return isinstance(data, dict) and data.get("status") in ("ahead", "identical")

    def branch_protected(self, branch: str) -> bool | None:
        """Whether ``branch`` is protected (a rule or a ruleset); None when it does not exist.

        ``GET /branches/{branch}`` shows ``protected`` to anyone who can read the repo;
        the protection endpoint itself needs admin, which an App token rarely has.
        """
        try:
            data = self.rest.get(f"/repos/{self.repo}/branches/{ref_path(branch)}",
                                 doing=f"reading branch {branch} of {self.repo}")
        except NotFound:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("protected"), bool):
            raise GitHubError(f"branch {branch} of {self.repo} came back without `protected`")
        return bool(data["protected"])

    # -- branch_rules.RulesAPI -------------------------------------------------

    def branch_rules(self, branch: str) -> list[dict[str, Any]]:
        """The rules of every active ruleset for ``branch`` (Metadata: read suffices)."""
        return [r for r in self.rest.items(f"/repos/{self.repo}/rules/branches/{ref_path(branch)}")
                if isinstance(r, dict)]

    def ruleset(self, ruleset_id: int) -> dict[str, Any]:
        """One ruleset; ``current_user_can_bypass`` says whether this token may bypass it."""
        data = self.rest.get(f"/repos/{self.repo}/rulesets/{int(ruleset_id)}",
                             doing=f"reading ruleset {ruleset_id} of {self.repo}")
        return data if isinstance(data, dict) else {}

    def protection_rule(self, branch: str) -> tuple[bool, dict[str, Any] | None]:
        """``(readable, rule)`` of the branch protection rule: ``(True, None)`` when there is
        none, ``(False, None)`` when this token may not read it (no Administration)."""
        try:
            data = self.rest.get(f"/repos/{self.repo}/branches/{ref_path(branch)}/protection",
                                 doing=f"reading the protection rule of {branch} in {self.repo}")
        except NotFound as exc:
            # "Branch not protected" is an answer; a bare 404 is GitHub hiding it from us
            return ("not protected" in exc.message.lower(), None)
        except GitHubError as exc:
            if "HTTP 403" in exc.message:
                return (False, None)
            raise
        return (True, data if isinstance(data, dict) else None)

    def changed_files(self, base: str, head: str) -> list[str]:
        """Paths that differ between ``base`` and ``head`` from their merge base (compare)."""
        data = self.rest.get(f"/repos/{self.repo}/compare/{ref_path(base)}...{ref_path(head)}",
                             doing=f"comparing {base}...{head}")
        files = data.get("files") if isinstance(data, dict) else None
        return [str(f.get("filename")) for f in files or [] if isinstance(f, dict)]

    def already_in(self, base: str, sha: str) -> bool:
        """Whether ``sha`` is already in ``base`` (compare: nothing ahead)."""
        data = self.rest.get(f"/repos/{self.repo}/compare/{ref_path(base)}...{ref_path(sha)}",
                             doing=f"comparing {base}...{sha}")
        return isinstance(data, dict) and data.get("ahead_by") == 0

    def touch_release(self, release_id: int) -> bool:
        """An empty edit of a release: False when GitHub answers 404 for it, as it does for
        a token without Workflows: write when the release's commit changes workflows."""
        try:
            self.rest.call("PATCH", f"/repos/{self.repo}/releases/{int(release_id)}", body={},
                           doing=f"checking access to release {release_id} of {self.repo}")
        except NotFound:
            return False
        return True

    def open_pull_request(self, base: str, head: str, title: str, body: str) -> dict[str, Any]:
        """Open (or find the open) pull request from ``head`` into ``base``."""
        owner = self.repo.split("/", 1)[0]
        for pr in self.rest.items(f"/repos/{self.repo}/pulls",
                                  {"state": "open", "head": f"{owner}:{head}", "base": base}):
            if isinstance(pr, dict):
                return pr
        _, data = self.rest.call("POST", f"/repos/{self.repo}/pulls",
                                 body={"base": base, "head": head, "title": title, "body": body},
                                 doing=f"opening a pull request from {head} into {base}")
        return data if isinstance(data, dict) else {}

    def file(self, path: str, ref: str) -> str | None:
        """A file's text at ref through the contents API; None when absent."""
        import base64

        try:
            data = self.rest.get(f"/repos/{self.repo}/contents/{quote(path, safe='/')}",
                                 {"ref": ref}, doing=f"reading {path} at {ref} in {self.repo}")
        except NotFound:
            return None
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        content = data.get("content") or ""
        if data.get("encoding", "base64") != "base64":
            raise GitHubError(f"{path} in {self.repo} came back in an unexpected encoding")
        try:
            return base64.b64decode(content).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise GitHubError(f"{path} in {self.repo} at {ref} is not UTF-8 text") from None

    def merge(self, base: str, head: str, message: str) -> str:
        """Merge head into base with a merge commit: 'merged' or 'up-to-date'."""
        headers, data = self.rest.call("POST", f"/repos/{self.repo}/merges",
                                       body={"base": base, "head": head, "commit_message": message},
                                       doing=f"merging {head} into {base} in {self.repo}")
        return "merged" if data else "up-to-date"

    def delete_branch(self, branch: str) -> bool:
        try:
            self.rest.call("DELETE", f"/repos/{self.repo}/git/refs/heads/{ref_path(branch)}",
                           doing=f"deleting branch {branch} in {self.repo}")
        except NotFound:
            return False
        except GitHubError as exc:
            if "HTTP 422" in exc.message:  # the reference does not exist
                return False
            raise
        return True
