"""What a publish repository releases: its ``valet-publish.yml`` (pure: parse and decide).

The file sits at the root of the publish repository and is read from its default
branch (publish.served), never from the event, the issue or an SDK repository: the
SDK side can write those, and they would then decide where the registry tokens go.
It lists the SDK repositories the publish repository serves and, per repository,
the target kinds it may use and the packages, repositories and buckets they may
write to; hosts beyond each target's official registry are allowed by name.

    repos:
      acme/sdk-python:
        targets: [pypi, npm, github]
        packages:                 # per target kind: names, fnmatch globs allowed
          pypi: [acme-sdk]
          npm: ["@acme/*"]
        repositories:             # GitHub owner/name written to (gh-pages, brew, ...)
          brew: [acme/homebrew-tap]
        buckets:
          gcs: ["gs://acme-releases"]
        hosts:                    # per target kind, for this repository only
          pypi: [pypi.internal.example]
    hosts:                        # per target kind, for every repository
      npm: [npm.internal.example]

What a release would write to comes from each target's ``destinations()``
(targets.base.Destination): the decision here is which of those the file allows.
A missing file serves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from valet.errors import ConfigError, NotServedError

POLICY_FILE = "valet-publish.yml"

# Each target kind's official registry: allowed without a `hosts:` entry.
OFFICIAL_HOSTS: dict[str, tuple[str, ...]] = {
    "pypi": ("upload.pypi.org",),
    "npm": ("registry.npmjs.org",),
    "crates": ("crates.io",),
    "docker": ("docker.io",),
    "gcs": ("storage.googleapis.com",),
    "aws-lambda-layer": ("lambda.*.amazonaws.com",),
}
# destination kind -> the key of valet-publish.yml that allows it
KEYS = {"package": "packages", "repository": "repositories", "bucket": "buckets",
        "host": "hosts"}


def _fold(kind: str, name: str) -> str:
    """How a registry compares names: PyPI by its PEP 503 form, crates.io with `-` and `_`
    alike, everything else without case."""
    name = name.strip().lower()
    if kind == "pypi":
        return re.sub(r"[-_.]+", "-", name)
    if kind == "crates":
        return name.replace("_", "-")
    return name


def _matches(kind: str, value: str, patterns: Iterable[str]) -> bool:
    folded = _fold(kind, value)
    return any(fnmatchcase(folded, _fold(kind, p)) for p in patterns)


@dataclass(frozen=True)
class RepoPolicy:
    """What one SDK repository may release."""

    repo: str
    targets: frozenset[str]
    # "packages" | "repositories" | "buckets" | "hosts" -> target kind -> patterns
    allowed: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def patterns(self, key: str, kind: str) -> tuple[str, ...]:
        return tuple((self.allowed.get(key) or {}).get(kind) or ())


@dataclass(frozen=True)
class PublishPolicy:
    source: str  # "valet-publish.yml of org/publish"
    found: bool  # False: there is no file (every request is refused)
    repos: tuple[RepoPolicy, ...] = ()
    hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # for every repo

    def repo(self, name: str) -> RepoPolicy | None:
        """Repository names compare without case, as GitHub's do."""
        for rp in self.repos:
            if rp.repo.lower() == name.lower():
                return rp
        return None


def parse(text: str | None, publish_repo: str) -> PublishPolicy:
    """The file's text (None: absent) -> the policy; ConfigError naming the file, what is
    wrong and the YAML that is right."""
    from valet import schemas
    from valet.config_load import load_yaml

    source = f"{POLICY_FILE} of {publish_repo}"
    if text is None:
        return PublishPolicy(source=source, found=False)
    data = load_yaml(text, source)
    if data is None:
        data = {}
    schemas.validate("publish-policy", data, error=ConfigError, what=source,
                     hint=f"the file looks like this (on the default branch of {publish_repo}):"
                          f"\n{example('acme/sdk', ['pypi', 'github'])}")
    repos = []
    for name, raw in (data.get("repos") or {}).items():
        allowed = {key: {kind: tuple(v) for kind, v in (raw.get(key) or {}).items()}
                   for key in KEYS.values()}
        repos.append(RepoPolicy(repo=name, targets=frozenset(raw.get("targets") or ()),
                                allowed=allowed))
    names = [r.repo.lower() for r in repos]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{source} lists {', '.join(twice)} more than once (names compare "
                          "without case)", hint="keep one entry per repository")
    hosts = {kind: tuple(v) for kind, v in (data.get("hosts") or {}).items()}
    return PublishPolicy(source=source, found=True, repos=tuple(repos), hosts=hosts)


# -- the decisions ------------------------------------------------------------------------


def kinds_of(target_ids: Iterable[str]) -> list[str]:
    """``npm[@acme/x]`` -> ``npm``: the kinds of a request's target ids, sorted."""
    return sorted({t.split("[", 1)[0] for t in target_ids})


def check_served(policy: PublishPolicy, repo: str, publish_repo: str,
                 target_ids: Iterable[str]) -> RepoPolicy:
    """The repository's entry, or NotServedError with the YAML that would add it."""
    kinds = kinds_of(target_ids)
    rp = policy.repo(repo) if policy.found else None
    if rp is not None:
        return rp
    where = f"valet-publish.yml at the root of {publish_repo}, on its default branch"
    if not policy.found:
        raise NotServedError(
            f"{publish_repo} has no valet-publish.yml, so it serves no repository: {repo} "
            "cannot be released from it",
            hint=f"if {publish_repo} should release {repo}, add {where}:\n"
                 f"{example(repo, kinds)}")
    raise NotServedError(
        f"{repo} is not served by {publish_repo}: its valet-publish.yml does not list it",
        hint=f"if {publish_repo} should release {repo}, add it under `repos:` in {where} "
             f"(a person with write access to {publish_repo} decides):\n{example(repo, kinds)}")


@dataclass(frozen=True)
class Item:
    """One target of the plan and where it would write (from its ``destinations()``)."""

    key: str  # npm[@acme/x]
    kind: str  # npm
    destinations: tuple[tuple[str, str], ...]  # (destination kind, value)


def refusals(policy: PublishPolicy, rp: RepoPolicy, items: Iterable[Item], *,
             github_hosts: Iterable[str]) -> list[tuple[str, str, str]]:
    """Everything the plan would do that the policy does not allow, as
    (target kind, key of the file, value): an empty list allows it.

    ``github_hosts``: the GitHub this run is on (its API and git hosts), which every
    target may write to; a GitHub repository is always allowed to write to itself."""
    out: list[tuple[str, str, str]] = []
    own_hosts = {h.lower() for h in github_hosts}
    for item in items:
        if item.kind.lower() not in {t.lower() for t in rp.targets}:
            out.append((item.kind, "targets", item.kind))
            continue
        for what, value in item.destinations:
            key = KEYS.get(what)
            if key is None:  # a destination kind this file has no key for
                out.append((item.kind, what, value))
                continue
            if what == "host":
                if value.lower() in own_hosts:
                    continue
                allowed = (*OFFICIAL_HOSTS.get(item.kind, ()), *policy.hosts.get(item.kind, ()),
                           *rp.patterns("hosts", item.kind))
            elif what == "repository":
                if value.lower() == rp.repo.lower():
                    continue
                allowed = rp.patterns(key, item.kind)
            else:
                allowed = rp.patterns(key, item.kind)
            if not _matches(item.kind, value, allowed):
                out.append((item.kind, key, value))
    return out


def refusal(policy: PublishPolicy, rp: RepoPolicy, publish_repo: str,
            found: list[tuple[str, str, str]]) -> NotServedError:
    """The refusal of ``refusals``, with the YAML that would allow what it found."""
    lines = []
    for kind, key, value in found:
        if key == "targets":
            lines.append(f"the target {kind} is not one {publish_repo} releases for {rp.repo}")
        elif key == "hosts":
            lines.append(f"{kind}: the host {value} is not allowed (only the official "
                         f"registry{_listed(OFFICIAL_HOSTS.get(kind, ()))} and the hosts "
                         "the file lists)")
        else:
            noun = {"packages": "package", "repositories": "repository",
                    "buckets": "bucket"}.get(key, key)
            lines.append(f"{kind}: the {noun} {value} is not listed for {rp.repo}")
    return NotServedError(
        f"{publish_repo} does not release this: " + "; ".join(lines),
        hint=f"if it should, a person with write access to {publish_repo} adds it to its "
             "valet-publish.yml (on the default branch); if it should not, the SDK's "
             f"configuration on its merge target changed: check who changed it. The entry "
             f"would read:\n{_widened(policy, rp, found)}")


def _listed(hosts: tuple[str, ...]) -> str:
    return f" {', '.join(hosts)}" if hosts else ""


def _widened(policy: PublishPolicy, rp: RepoPolicy,
             found: list[tuple[str, str, str]]) -> str:
    """The repository's entry with what ``found`` names added (hosts: under the entry)."""
    targets = set(rp.targets)
    allowed: dict[str, dict[str, list[str]]] = {
        key: {kind: list(v) for kind, v in kinds.items()} for key, kinds in rp.allowed.items()}
    for kind, key, value in found:
        if key == "targets":
            targets.add(kind)
        else:
            names = allowed.setdefault(key, {}).setdefault(kind, [])
            if value not in names:
                names.append(value)
    return render({rp.repo: {"targets": sorted(targets), **{
        key: kinds for key in KEYS.values() if (kinds := allowed.get(key))}}})


# -- YAML a person can paste ----------------------------------------------------------------


def _flow(values: Iterable[str]) -> str:
    return "[" + ", ".join(_scalar(v) for v in values) + "]"


def _scalar(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(repos: Mapping[str, Mapping[str, Any]]) -> str:
    lines = ["    repos:"]
    for repo, entry in repos.items():
        lines.append(f"      {repo}:")
        lines.append(f"        targets: {_flow(entry.get('targets') or [])}")
        for key in KEYS.values():
            kinds = entry.get(key)
            if kinds:
                lines.append(f"        {key}:")
                lines += [f"          {kind}: {_flow(v)}" for kind, v in sorted(kinds.items())]
    return "\n".join(lines)


def example(repo: str, kinds: list[str]) -> str:
    """A starter entry for ``repo``: its target kinds, a package line for each kind that
    publishes packages (PACKAGE: the names the repository releases there)."""
    packaged = {k: ["PACKAGE"] for k in kinds if k in ("pypi", "npm", "crates", "docker",
                                                        "aws-lambda-layer")}
    entry: dict[str, Any] = {"targets": kinds or ["github"]}
    if packaged:
        entry["packages"] = packaged
    return render({repo: entry})
