"""The SDK repository's plain reads of a publish run, asked in one GraphQL query.

Three checks each read one thing of the SDK repository that GitHub can also
answer in a single GraphQL request: its default branch (checks.landing), the
configuration on the merge target (checks.config_and_plan) and where the
release's tag points (the github target, before anything publishes), and the
rules of the merge target's active rulesets (branch_rules.read; rules_query reads
them as REST lists them): of the branch the request names, else of the default
branch, asked with its name. This
module builds that query and reads its answer; it does no I/O (publish_api's
SdkAPI sends it, and each check takes its part from there).

Reading the configuration ahead is not using it: whether the merge target is a
source of configuration is decided by branch_rules exactly as before, and a
refused branch's configuration is never parsed. Each part of the answer either
says what the REST read would have said (``Known``), or it is ``None`` and that
check makes its REST read: a part GitHub answered with an error (``errors``
with a ``path``), a shape this module does not know, a blob GraphQL cannot give
as the REST API would (binary, truncated), a tag of a tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from valet import rules_query
from valet.blob_text import exact_text

T = TypeVar("T")

_CONFIG = (" config: object(expression: $configExpr) { __typename"
           " ... on Blob { text isBinary isTruncated byteSize } }")
_TAG = (" tag: ref(qualifiedName: $tagRef) { name target { __typename oid"
        " ... on Tag { target { __typename oid } } } }")
PARTS = ("defaultBranchRef", "config", "tag", "rules")
_OID = re.compile(r"^[0-9a-f]{40}$")
_VERSION_TAIL = re.compile(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$")


def query(*, tag: bool, target: bool = False) -> str:
    """The query text (every value in ``variables``); ``tag``: ask for the tag's ref too;
    ``target``: the request names the merge target (``variables``' ``branchRef``), whose
    rules are asked; without one the default branch is the merge target, and its rules
    are asked with its name."""
    head = "query($owner: String!, $name: String!, $configExpr: String!" + (
        ", $tagRef: String!" if tag else "") + (", $branchRef: String!" if target else "") + ")"
    rules = rules_query.selection()
    if target:
        default, part = "name", f" rules: ref(qualifiedName: $branchRef) {{ {rules} }}"
    else:
        default, part = rules, ""  # (``selection`` asks for the name)
    return (head + " { repository(owner: $owner, name: $name) {"
            f" defaultBranchRef {{ {default} }}" + _CONFIG + (_TAG if tag else "") + part
            + " } }")


def config_expression(merge_target: str | None, config_path: str) -> str:
    """``refs/heads/<target>:<path>``: the branch by its full name, so that a tag that
    happens to share the branch's name is never read instead (git resolves a bare
    name to ``refs/tags/`` before ``refs/heads/``); ``HEAD:<path>`` (the default
    branch) when the request names no merge target."""
    return f"refs/heads/{merge_target}:{config_path}" if merge_target else f"HEAD:{config_path}"


def variables(repo: str, *, merge_target: str | None, config_path: str,
              tag: str | None) -> dict[str, Any]:
    owner, _, name = repo.partition("/")
    out: dict[str, Any] = {"owner": owner, "name": name,
                           "configExpr": config_expression(merge_target, config_path)}
    if tag is not None:
        out["tagRef"] = f"refs/tags/{tag}"
    if merge_target:  # the branch by its full name, as for the configuration
        out["branchRef"] = f"refs/heads/{merge_target}"
    return out


def tag_guess(*, path: str, version: str, previous: str | None) -> str:
    """The release's tag as the request lets one guess it before the configuration is
    read (version.tag_name needs its ``tag_prefix``): the previous release's tag with
    this version in place of its own (``v1.2.2`` -> ``v1.2.3``), else the default one
    (``<path>/`` in a monorepo, then the version). Only a guess of what to ask: the tag
    check takes the answer only for the name it then reads (``Answer.tag``)."""
    head = "" if (path or ".").strip("/") in ("", ".") else path.strip("/") + "/"
    match = _VERSION_TAIL.search(previous or "")
    if previous and match is not None and previous.startswith(head):
        return previous[: match.start()] + version
    return head + version


@dataclass(frozen=True)
class Known(Generic[T]):
    """What GitHub answered for one part (``value`` None: there is none, as a 404)."""

    value: T


@dataclass(frozen=True)
class Answer:
    """The parts of one answer; ``None``: that part's check reads REST instead."""

    default_branch: Known[str | None] | None = None
    config: Known[str | None] | None = None
    tag: Known[str | None] | None = None
    # the merge target's, as REST lists them (without a named target: the default branch's)
    rules: Known[list[dict[str, Any]]] | None = None


def parse(body: Any, *, tag: str | None = None, branch: str | None = None) -> Answer:
    """The parts of a GraphQL answer (the JSON GitHub sent) to ``query``; ``tag``: the
    tag asked for (without ``refs/tags/``); ``branch``: the merge target the request
    names (None: the rules are the default branch's, asked on ``defaultBranchRef``)."""
    if not isinstance(body, dict):
        return Answer()
    data = body.get("data")
    repo = data.get("repository") if isinstance(data, dict) else None
    if not isinstance(repo, dict):
        return Answer()  # no data, or no repository: every check reads REST
    failed = _failed_parts(body.get("errors"))
    if failed is None:
        return Answer()
    default_branch = None if "defaultBranchRef" in failed else _default_branch(repo)
    if branch is not None:
        rules = None if "rules" in failed else _rules(repo.get("rules"), branch)
    elif default_branch is not None and default_branch.value:
        rules = _rules(repo.get("defaultBranchRef"), default_branch.value)
    else:
        rules = None
    return Answer(
        default_branch=default_branch,
        config=None if "config" in failed else _config(repo),
        tag=None if "tag" in failed or tag is None else _tag(repo, tag),
        rules=rules)


def _failed_parts(errors: Any) -> set[str] | None:
    """The parts GitHub answered with an error; None when an error names no part (then
    nothing in the answer is taken)."""
    if not errors:
        return set()
    if not isinstance(errors, list):
        return None
    out: set[str] = set()
    for err in errors:
        path = err.get("path") if isinstance(err, dict) else None
        if not isinstance(path, list) or len(path) < 2 or path[0] != "repository" \
                or path[1] not in PARTS:
            return None
        out.add(str(path[1]))
    return out


def _default_branch(repo: dict[str, Any]) -> Known[str | None] | None:
    if "defaultBranchRef" not in repo:
        return None
    ref = repo["defaultBranchRef"]
    if ref is None:
        return Known(None)  # an empty repository: no default branch
    name = ref.get("name") if isinstance(ref, dict) else None
    return Known(name) if isinstance(name, str) and name else None


def _config(repo: dict[str, Any]) -> Known[str | None] | None:
    if "config" not in repo:
        return None
    obj = repo["config"]
    if obj is None:
        return Known(None)  # no such file (or no such branch): the contents API's 404
    if not isinstance(obj, dict):
        return None
    kind = obj.get("__typename")
    if kind == "Tree":
        return Known(None)  # a directory: the contents API lists it, no file
    text = exact_text(obj)  # binary, cut short, transcoded, a link's path: None
    return None if text is None else Known(text)


def _tag(repo: dict[str, Any], tag: str) -> Known[str | None] | None:
    if "tag" not in repo:
        return None
    ref = repo["tag"]
    if ref is None:
        return Known(None)  # no such tag: the REST read's 404
    if not isinstance(ref, dict) or ref.get("name") != tag:
        return None
    target = ref.get("target")
    if not isinstance(target, dict):
        return None
    if target.get("__typename") == "Tag":  # annotated: the object it tags
        target = target.get("target")
        if not isinstance(target, dict) or target.get("__typename") == "Tag":
            return None  # a tag of a tag: releases peels it through REST
    oid = target.get("oid")
    return Known(oid) if isinstance(oid, str) and _OID.match(oid) else None


def _rules(ref: Any, branch: str) -> Known[list[dict[str, Any]]] | None:
    found = rules_query.translate(ref, branch)
    return None if found is None else Known(found)
