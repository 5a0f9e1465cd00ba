"""Real GitHub webhook payloads, rewritten to the sandbox's repos, issues and users.

The templates are the examples GitHub's own tooling publishes
(npm ``@octokit/webhooks-examples``, ``api.github.com/index.json``). A payload
keeps every field of the real example, in the example's order; the values come
from the sandbox's REST answers (``GET /repos/{o}/{r}``, ``GET .../issues/{n}``,
``GET /users/{login}``, the label), and fields the sandbox does not serve keep
the example's value with its URLs and names rewritten to the sandbox (api
base, server base, repo full name, login). Fields the sandbox serves that the
(2019) example lacks (``state_reason``, ``timeline_url``...) are added after
them, as today's GitHub sends them.

``organization`` is present when the repository's owner is an Organization,
as on GitHub; ``installation`` is never present (repository webhooks, as the
``issues`` trigger of a workflow sees them).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from valet.errors import SandboxError
from valet.sandbox.registries import node_tools_dir

Json = Any
Pairs = tuple[tuple[str, str], ...]

ISSUE_ACTIONS = ("opened", "labeled", "unlabeled", "edited", "closed", "reopened")


def examples_path() -> Path:
    override = os.environ.get("VALET_WEBHOOK_EXAMPLES")
    if override:
        return Path(override)
    return (node_tools_dir() / "node_modules" / "@octokit" / "webhooks-examples"
            / "api.github.com" / "index.json")


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, list[dict[str, Json]]]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SandboxError(f"cannot read the webhook examples at {path}: {exc}",
                           hint="run `make setup` (npm ci in tools/node)") from exc
    return {entry["name"]: entry["examples"] for entry in data}


def example(event: str, action: str | None = None, *, with_org: bool = False,
            ) -> dict[str, Json]:
    """A deep copy of the real example of ``event`` (and ``action``), preferring one
    with (or without) ``organization`` and without an ``edited``-style ``changes``."""
    examples = _load(str(examples_path())).get(event, [])
    candidates = [e for e in examples if action is None or e.get("action") == action]
    if not candidates:
        raise SandboxError(f"no {event}/{action} example in {examples_path()}")

    def rank(e: Mapping[str, Json]) -> tuple[int, int]:
        return (("organization" in e) != with_org, "changes" in e)

    return copy.deepcopy(sorted(candidates, key=rank)[0])


# --------------------------------------------------------------------------- rewriting
def _require(obj: Mapping[str, Json], what: str, **fields: type) -> None:
    for name, typ in fields.items():
        if not isinstance(obj.get(name), typ):
            raise SandboxError(f"the {what} given for the webhook payload has no {name} "
                               f"(got keys {sorted(obj)[:8]}): pass the sandbox's REST answer")


def _bases(repo: Mapping[str, Json]) -> tuple[str, str]:
    """(api base, server base) of the sandbox, read from the repo's own URLs."""
    _require(repo, "repository", full_name=str, url=str, html_url=str)
    full = str(repo["full_name"])
    api = str(repo.get("url", ""))
    html = str(repo.get("html_url", ""))
    suffix_api, suffix_html = f"/repos/{full}", f"/{full}"
    if not api.endswith(suffix_api) or not html.endswith(suffix_html):
        raise SandboxError(f"repository {full} has no url/html_url to rewrite the payload with")
    return api[: -len(suffix_api)], html[: -len(suffix_html)]


def _host_pairs(api: str, server: str) -> Pairs:
    host = server.split("://", 1)[-1]
    return (("https://api.github.com", api), ("https://github.com", server),
            ("git://github.com/", f"git://{host}/"), ("git@github.com:", f"git@{host}:"))


def _rewrite(value: Json, pairs: Pairs) -> Json:
    if isinstance(value, str):
        for old, new in pairs:
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_rewrite(v, pairs) for v in value]
    if isinstance(value, dict):
        return {k: _rewrite(v, pairs) for k, v in value.items()}
    return value


def merge(template: Json, actual: Json, pairs: Pairs) -> Json:
    """``template``'s shape with ``actual``'s values (see the module docstring)."""
    if isinstance(template, dict) and isinstance(actual, Mapping):
        local = pairs
        if isinstance(template.get("full_name"), str) and isinstance(actual.get("full_name"), str):
            local = ((template["full_name"], actual["full_name"]),) + local
        if isinstance(template.get("login"), str) and isinstance(actual.get("login"), str):
            local = local + ((template["login"], actual["login"]),)
        out = {k: merge(v, actual[k], local) if k in actual else _rewrite(v, local)
               for k, v in template.items()}
        out.update({k: copy.deepcopy(v) for k, v in actual.items() if k not in template})
        return out
    if isinstance(template, list) and isinstance(actual, list):
        if template and isinstance(template[0], dict):
            return [merge(template[0], item, pairs) for item in actual]
        return copy.deepcopy(actual)
    return copy.deepcopy(actual)


def _organization(repo: Mapping[str, Json], pairs: Pairs) -> dict[str, Json] | None:
    owner = repo.get("owner")
    if not isinstance(owner, Mapping) or owner.get("type") != "Organization":
        return None
    for name in ("issues", "workflow_dispatch"):
        for e in _load(str(examples_path())).get(name, []):
            if isinstance(e.get("organization"), dict):
                template = e["organization"]
                org = merge(template, {k: owner[k] for k in ("login", "id", "node_id",
                                                             "url", "avatar_url")
                                       if k in owner}, pairs)
                return dict(org)
    return None


def _common(template: dict[str, Json], repo: Mapping[str, Json], sender: Mapping[str, Json],
            pairs: Pairs) -> dict[str, Json]:
    """The template's top level with repository, sender and organization rewritten."""
    org = _organization(repo, pairs)
    out: dict[str, Json] = {}
    for key, value in template.items():
        if key == "repository":
            if org is not None and "organization" not in template:
                out["organization"] = org  # GitHub sends it just before the repository
            out[key] = merge(value, repo, pairs)
        elif key == "sender":
            out[key] = merge(value, sender, pairs)
        elif key == "organization":
            if org is not None:
                out[key] = org
        else:
            out[key] = value
    return out


def issue_event(action: str, *, repo: Mapping[str, Json], issue: Mapping[str, Json],
                sender: Mapping[str, Json], label: Mapping[str, Json] | None = None,
                ) -> dict[str, Json]:
    """An ``issues`` webhook payload (``opened``, ``labeled``...) for the sandbox.

    ``repo``/``issue``/``sender``/``label``: the sandbox's REST answers. For
    ``labeled``/``unlabeled`` the label is required (it is the event's subject)."""
    if action in ("labeled", "unlabeled") and label is None:
        raise SandboxError(f"an issues/{action} event needs the label")
    _require(issue, "issue", number=int, title=str)
    _require(sender, "sender", login=str)
    if label is not None:
        _require(label, "label", name=str)
    api, server = _bases(repo)
    owner = repo.get("owner")
    with_org = isinstance(owner, Mapping) and owner.get("type") == "Organization"
    try:
        template = example("issues", action, with_org=with_org)
    except SandboxError:
        template = example("issues", "labeled", with_org=with_org)
        template["action"] = action
        template.pop("label", None)
    template.pop("changes", None)
    # Example values the sandbox does not override still name the example's repo.
    pairs = ((str(template["repository"]["full_name"]), str(repo["full_name"])),
             *_host_pairs(api, server))
    payload = _common(template, repo, sender, pairs)
    payload["action"] = action
    ex_number = template["issue"].get("number")
    issue_pairs = ((f"/issues/{ex_number}", f"/issues/{issue['number']}"), *pairs)
    payload["issue"] = merge(template["issue"], issue, issue_pairs)
    if label is not None:
        label_template = template.get("label") or example("issues", "labeled")["label"]
        merged = merge(label_template, label, pairs)
        # The label sits right after the issue, as GitHub sends it.
        head = {k: payload[k] for k in ("action", "issue")}
        tail = {k: v for k, v in payload.items() if k not in ("action", "issue", "label")}
        payload = {**head, "label": merged, **tail}
    else:
        payload.pop("label", None)
    return payload


def dispatch_event(inputs: Mapping[str, str] | None = None, *, repo: Mapping[str, Json],
                   sender: Mapping[str, Json], ref: str | None = None,
                   workflow: str = ".github/workflows/publish.yml") -> dict[str, Json]:
    """A ``workflow_dispatch`` payload (inputs as strings, as GitHub sends them)."""
    _require(sender, "sender", login=str)
    api, server = _bases(repo)
    owner = repo.get("owner")
    with_org = isinstance(owner, Mapping) and owner.get("type") == "Organization"
    template = example("workflow_dispatch", with_org=with_org)
    pairs = ((str(template["repository"]["full_name"]), str(repo["full_name"])),
             *_host_pairs(api, server))
    payload = _common(template, repo, sender, pairs)
    payload["inputs"] = {str(k): str(v) for k, v in (inputs or {}).items()}
    payload["ref"] = ref or f"refs/heads/{repo.get('default_branch', 'main')}"
    payload["workflow"] = workflow
    return payload


def schedule_event(cron: str = "*/15 * * * *") -> dict[str, Json]:
    """A ``schedule`` payload: GitHub sends only the cron expression that fired."""
    return {"schedule": cron}
