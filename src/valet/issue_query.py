"""The publish repository's reads of a run's start, as one GraphQL query (pure).

A run reads, on the publish repository, who its token is, the issue itself, its
body's edit history, valet-publish.yml from the default branch, the approver's membership of
each approver team and the ids of the labels the close adds. ``build`` asks for all
of them in one query; the ``*_of`` helpers read one part of the answer and return
what the REST read of it returns, or ``REST`` when the answer does not settle it
(that part failed, or says something REST could say otherwise): the caller then
reads it through REST, as it would without the query. A failed part never decides
another: GitHub answers partial ``data`` with ``errors`` that carry a ``path``.

Every value goes in ``variables``; the aliases (``t0``, ``l0``) are numbered here,
never taken from data.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from valet.blob_text import exact_text

BOT = "[bot]"  # REST's suffix of an App's account
EDITS_LIMIT = 100  # GraphQL's page limit; the newest this many edits are read
MEMBERS_LIMIT = 100  # one page of a team's members matching the login
LABELS_LIMIT = 100  # one page of the issue's labels; a longer list is read through REST
# ``__typename``: GraphQL names a Bot by its slug ("my-app", REST's "my-app[bot]"), and a
# person may own the login "my-app": only a Bot's login is read as "<slug>[bot]".
_EDITS = (f"userContentEdits(first: {EDITS_LIMIT}) {{ totalCount nodes {{ editedAt editor"
          " { __typename login } diff } }")
# What a run's consumers read of the issue (``issue_of`` turns it into REST's shape).
ISSUE_FIELDS = ("id number title body state stateReason createdAt author { __typename login }"
                f" labels(first: {LABELS_LIMIT}) {{ pageInfo {{ hasNextPage }} nodes {{ id name }} }}")
EDITS_QUERY = (
    "query($owner: String!, $name: String!, $number: Int!) {"
    f" repository(owner: $owner, name: $name) {{ issue(number: $number) {{ {_EDITS} }}"
    " } }")
VIEWER_QUERY = "query { viewer { login } }"
# Both in one request: a run that learns who its token is and checks an issue's edits
# asks GitHub once for the two.
VIEWER_EDITS_QUERY = EDITS_QUERY.replace(" repository(", " viewer { login } repository(", 1)

# The policy is only ever read from the default branch (HEAD), never from a ref an
# event or an issue names.
POLICY_EXPRESSION = "HEAD:{path}"


class Fallback(enum.Enum):
    REST = "rest"


REST = Fallback.REST  # the answer does not settle this part: read it through REST


def build(owner: str, name: str, number: int, *, viewer: bool = False, issue: bool = False,
          policy_path: str | None = None, teams: Sequence[tuple[str, str]] = (),
          login: str | None = None, labels: Sequence[str] = ()
          ) -> tuple[str, dict[str, Any]]:
    """(query, variables): the edits of issue ``number``; with ``issue`` the issue
    itself (``issue_of``); with ``viewer`` who the token is; with ``policy_path`` that file's blob on the default branch; with ``login`` its
    membership of each (org, slug) of ``teams`` (aliases t0, t1, ...); each of
    ``labels`` (aliases l0, l1, ...). Without extras it is EDITS_QUERY or
    VIEWER_EDITS_QUERY, byte for byte."""
    variables: dict[str, Any] = {"owner": owner, "name": name, "number": number}
    decls = ["$owner: String!", "$name: String!", "$number: Int!"]
    fields = f"{_EDITS} {ISSUE_FIELDS}" if issue else _EDITS
    repo = [f"issue(number: $number) {{ {fields} }}"]
    if policy_path is not None:
        decls.append("$policyExpr: String!")
        variables["policyExpr"] = POLICY_EXPRESSION.format(path=policy_path)
        repo.append("policy: object(expression: $policyExpr) { __typename"
                    " ... on Blob { text isBinary isTruncated byteSize } }")
    for i, label in enumerate(labels):
        decls.append(f"$label{i}: String!")
        variables[f"label{i}"] = label
        repo.append(f"l{i}: label(name: $label{i}) {{ id name }}")
    top = ["viewer { login }"] if viewer else []
    top.append(f"repository(owner: $owner, name: $name) {{ {' '.join(repo)} }}")
    if login is not None and teams:
        decls.append("$login: String!")
        variables["login"] = login
        for i, (org, slug) in enumerate(teams):
            decls += [f"$org{i}: String!", f"$slug{i}: String!"]
            variables[f"org{i}"], variables[f"slug{i}"] = org, slug
            top.append(f"t{i}: organization(login: $org{i}) {{ team(slug: $slug{i}) {{"
                       f" members(first: {MEMBERS_LIMIT}, query: $login) {{ nodes {{ login }}"
                       " } } }")
    return f"query({', '.join(decls)}) {{ {' '.join(top)} }}", variables


# -- reading the answer -----------------------------------------------------------------


def data_of(answer: Any) -> dict[str, Any] | None:
    """The answer's ``data`` (None: an error answer with none, or not GraphQL at all)."""
    data = answer.get("data") if isinstance(answer, dict) else None
    return data if isinstance(data, dict) else None


def error_at(answer: Any, *path: str) -> str | None:
    """The message of the first error that touches the part at ``path`` (an error at that
    part, inside it or around it; one without a path touches every part), else None."""
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not errors:
        return None
    for err in errors if isinstance(errors, list) else [errors]:
        where = err.get("path") if isinstance(err, dict) else None
        if isinstance(where, list) and where:
            head = [str(p) for p in where[:len(path)]]
            if head != list(path[:len(head)]):
                continue  # another part's error
        message = err.get("message") if isinstance(err, dict) else None
        return str(message or err)
    return None


def _part(answer: Any, *path: str) -> Any:
    """The value at ``path`` when nothing failed on the way (else REST)."""
    data = data_of(answer)
    if data is None or error_at(answer, *path) is not None:
        return REST
    value: Any = data
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return REST
        value = value[key]
    return value


def rest_login(actor: Any) -> str | None:
    """The REST login of a GraphQL ``Actor`` asked with ``__typename login``: a Bot is
    "<slug>[bot]" (GraphQL says "<slug>"), anyone else their login; None for no actor
    (a deleted account) or no login."""
    if not isinstance(actor, dict):
        return None
    login = actor.get("login")
    if not isinstance(login, str) or not login:
        return None
    if actor.get("__typename") == "Bot" and not login.endswith(BOT):
        return f"{login}{BOT}"
    return login


def policy_of(answer: Any) -> str | None | Fallback:
    """valet-publish.yml's text as the contents API would decode it, None when there is
    no such file, REST when in doubt (blob_text.exact_text: binary, cut short,
    transcoded, one line as a symbolic link's path is)."""
    blob = _part(answer, "repository", "policy")
    if blob is None or blob is REST:
        return blob  # type: ignore[no-any-return]
    text = exact_text(blob)
    return REST if text is None else text


def member_of(answer: Any, index: int, login: str) -> bool | Fallback:
    """Whether ``login`` is among the members of team ``t{index}``: True on an exact
    login (GitHub compares logins without case); REST for everything else (no such
    team, one this token cannot see, a list without the login, a failed part), so that
    a refusal always rests on REST's membership answer."""
    org = _part(answer, f"t{index}")
    if not isinstance(org, dict) or "team" not in org:
        return REST  # no such organization is an error on GitHub; anything else: ask
    team = org["team"]
    if team is None:
        # no such team, or one this token may not see: REST tells the two apart (404, or a
        # 403 that names the missing permission)
        return REST
    members = team.get("members") if isinstance(team, dict) else None
    nodes = members.get("nodes") if isinstance(members, dict) else None
    if not isinstance(nodes, list):
        return REST
    want = login.lower()
    if any(isinstance(n, dict) and isinstance(n.get("login"), str)
           and n["login"].lower() == want for n in nodes):
        return True
    # Only a member GitHub lists settles it: "not listed" may be the search's ranking or
    # paging, so a refusal is always REST's membership answer.
    return REST


def label_of(answer: Any, index: int, name: str) -> str | None | Fallback:
    """The node id of label ``l{index}`` (``name``), None when the repository has none."""
    label = _part(answer, "repository", f"l{index}")
    if label is None or label is REST:
        return label  # type: ignore[no-any-return]
    if not isinstance(label, dict):
        return REST
    got, node = label.get("name"), label.get("id")
    if not isinstance(got, str) or got.lower() != name.lower():
        return REST
    return node if isinstance(node, str) and node else REST


_STATES = {"OPEN": "open", "CLOSED": "closed"}
_AUTHORS = ("Bot", "User")  # REST's ``user.type`` of each; any other kind: ask REST


def issue_of(answer: Any, number: int) -> dict[str, Any] | Fallback:
    """Issue ``number`` as ``GET /repos/{o}/{n}/issues/{number}`` answers the fields a run
    reads (number, title, body, state, state_reason, created_at, node_id, user's login
    and type, labels' name and node_id), or REST when the answer does not settle it:
    the part is null or failed (a pull request's number: GraphQL's ``issue`` does not
    answer one, REST does, with ``pull_request``), the labels go on past one page, the
    author is gone (REST says who it shows instead) or of another kind, or anything is
    not of the shape asked."""
    issue = _part(answer, "repository", "issue")
    if not isinstance(issue, dict) or issue.get("number") != number \
            or isinstance(issue.get("number"), bool):
        return REST
    node, title, body, created = (issue.get(k) for k in ("id", "title", "body", "createdAt"))
    state, reason = _STATES.get(str(issue.get("state"))), issue.get("stateReason", REST)
    if (not _text(node) or not isinstance(title, str) or not isinstance(body, str)
            or not _text(created) or state is None
            or not (reason is None or _text(reason))):
        return REST
    user = _author(issue.get("author"))
    labels = _labels(issue.get("labels"))
    if user is None or labels is None:
        return REST
    return {"number": number, "title": title, "body": body, "state": state,
            "state_reason": reason.lower() if isinstance(reason, str) else None,
            "created_at": created, "node_id": node, "user": user, "labels": labels}


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _author(actor: Any) -> dict[str, str] | None:
    """REST's ``user`` (login, type) of a Bot or a User; None: not one of those."""
    kind = actor.get("__typename") if isinstance(actor, dict) else None
    login = rest_login(actor)
    if kind not in _AUTHORS or login is None:
        return None
    if kind == "User" and "[" in login:
        return None  # no person's login has brackets: not what GitHub answers
    return {"login": login, "type": str(kind)}


def _labels(connection: Any) -> list[dict[str, str]] | None:
    """REST's ``labels`` (name, node_id) when the one page holds them all, else None."""
    page = connection.get("pageInfo") if isinstance(connection, dict) else None
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    if not isinstance(page, dict) or page.get("hasNextPage") is not False \
            or not isinstance(nodes, list):
        return None
    out = []
    for node in nodes:
        if not isinstance(node, dict) or not _text(node.get("name")) \
                or not _text(node.get("id")):
            return None
        out.append({"name": node["name"], "node_id": node["id"]})
    return out
