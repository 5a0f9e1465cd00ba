"""`brew`: a Homebrew formula rendered from the configured template, committed to a tap.

``tap: owner/name`` is the repository ``owner/homebrew-name`` (Homebrew's
naming). The formula is ``<path>/<formula>.rb`` (default ``Formula/`` and the
SDK repository's name; ``formula`` may use ``{{version}}``, ``{{major}}``,
``{{minor}}``, ``{{patch}}``). The ``template`` is filled by valet.template
(values only, an unknown name is an error) with ``version``, ``revision`` (the
release commit) and ``checksums``: the approved sha256 of each file, keyed by
the file name with the version replaced by ``__VERSION__`` (and, for names with
dots, also with every ``.`` as ``__``), as craft keys them.

The file is written through the contents API in one commit
``release: <formula> <version>`` on the tap's default branch. Pre-releases are
skipped (Homebrew has no notion of them).

Status: the formula as rendered is there -> done; a commit ``release: <formula>
<version>`` in the file's history whose content is ours -> done, another content
-> conflict; the newest such commit is for a higher version -> skipped (a
formula never goes back); otherwise -> publish.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from valet import gha
from valet.errors import ConfigError, ConflictError, GitHubError, TargetError, VersionError
from valet.github_client import server_url, wrap
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    option,
    select_files,
)
from valet.targets.git_destination import PUSH_ATTEMPTS, api_host, token_var
from valet.template import check, render
from valet.version import Version, parse_version

_TAP_RE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})/([A-Za-z0-9_.-]+)$")
_FORMULA_RE = re.compile(r"^[A-Za-z0-9@_+-][A-Za-z0-9@._+-]{0,99}$")
_PATH_RE = re.compile(r"^(?!/)(?!.*(^|/)\.\.?(/|$))[A-Za-z0-9._/@+-]{1,200}$")


class BrewTarget:
    name: ClassVar[str] = "brew"
    # The checksums of every approved file are offered to the template.
    default_include: ClassVar[re.Pattern[str]] = re.compile(r".")
    credentials: ClassVar[tuple[str, ...]] = ("BREW_GITHUB_TOKEN",)

    def preflight(self, ctx: TargetContext) -> None:
        tap_repo(ctx)
        formula_path(ctx)
        if ctx.github is None and not ctx.env.get(token_var(self.name)):
            raise TargetError(f"{ctx.key}: no GitHub client to write {tap_repo(ctx)}",
                              hint=f"pass `sdk-token`, or set {token_var(self.name)} in the "
                                   "publish step's env")
        render_formula(ctx)  # a template error stops the release before any upload

    def status(self, ctx: TargetContext) -> StatusResult:
        if _skipped(ctx):
            detail = f"skipped: {ctx.request.version} is a pre-release"
            return StatusResult(State.PUBLISHED, detail,
                                receipt=Receipt(ctx.key, None, {}, detail=detail))
        return self._look(ctx, _Api(ctx))[0]

    def publish(self, ctx: TargetContext) -> Receipt:
        api = _Api(ctx)
        repo, path = tap_repo(ctx), formula_path(ctx)
        text = render_formula(ctx)
        for _ in range(PUSH_ATTEMPTS):
            result, current_sha = self._look(ctx, api)
            if result.state is State.CONFLICT:
                raise ConflictError(f"{ctx.key}: {result.detail}", hint=_CONFLICT_HINT)
            if result.state is State.PUBLISHED:
                assert result.receipt is not None
                return result.receipt
            body: dict[str, Any] = {
                "message": f"release: {formula_name(ctx)} {ctx.request.version}",
                "content": base64.b64encode(text.encode("utf-8")).decode()}
            if current_sha:
                body["sha"] = current_sha
            status, answer = api.call("PUT", f"/repos/{repo}/contents/{quote(path)}", body)
            if status in (200, 201):
                commit = (answer.get("commit") or {}).get("sha", "")
                gha.info(f"{ctx.key}: {repo}: {path} at {ctx.request.version}")
                return self._receipt(ctx, f"{server_url()}/{repo}/commit/{commit}",
                                     f"{repo}: {path}")
            if status not in (409, 422):  # 409/422: the file changed meanwhile: look again
                raise TargetError(f"{ctx.key}: writing {path} to {repo} answered HTTP {status}: "
                                  f"{answer.get('message', '')}",
                                  hint=f"check that the token can write {repo} (contents: write)")
        raise TargetError(f"{ctx.key}: {repo}: {path} kept changing; gave up",
                          hint="add `accepted` again to retry")

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        return [api_host(ctx), Destination("repository", tap_repo(ctx))]

    # -- helpers ------------------------------------------------------------

    def _receipt(self, ctx: TargetContext, url: str | None, detail: str) -> Receipt:
        names = select_files(ctx.target, self.default_include, list(ctx.files))
        return Receipt(target=ctx.key, url=url,
                       digests={n: ctx.artifacts[n].sha256 for n in names}, detail=detail)

    def _look(self, ctx: TargetContext, api: _Api) -> tuple[StatusResult, str | None]:
        """(status, the blob sha of the formula now: the `sha` an update must name)."""
        repo, path = tap_repo(ctx), formula_path(ctx)
        ours = render_formula(ctx).encode("utf-8")
        url = f"{server_url()}/{repo}/blob/HEAD/{path}"
        current, current_sha = api.content(repo, path)
        if current == ours:
            return (StatusResult(State.PUBLISHED, f"{repo}: {path} holds the formula of "
                                 f"{ctx.request.version}",
                                 receipt=self._receipt(ctx, url, "already published")),
                    current_sha)
        pattern = re.compile(rf"^release: {re.escape(formula_name(ctx))} (\S+)$")
        newest: Version | None = None
        for commit in api.history(repo, path):
            subject = str((commit.get("commit") or {}).get("message") or "").split("\n", 1)[0]
            m = pattern.match(subject)
            if not m:
                continue
            if m.group(1) == ctx.request.version:
                then, _ = api.content(repo, path, ref=str(commit.get("sha")))
                if then == ours:
                    return (StatusResult(State.PUBLISHED, f"published in "
                                         f"{str(commit.get('sha'))[:12]}, updated since",
                                         receipt=self._receipt(ctx, url, "already published")),
                            current_sha)
                return (StatusResult(State.CONFLICT, f"{repo}: {path} was released for "
                                     f"{ctx.request.version} with other content in "
                                     f"{str(commit.get('sha'))[:12]}"), current_sha)
            try:
                seen = parse_version(m.group(1))
            except VersionError:
                continue
            newest = seen if newest is None or newest < seen else newest
        if newest is not None and parse_version(ctx.request.version) < newest:
            detail = f"skipped: {repo}: {path} holds the newer {newest}"
            gha.warning(f"{ctx.key}: {detail}; a formula never goes back")
            return StatusResult(State.PUBLISHED, detail,
                                receipt=self._receipt(ctx, url, detail)), current_sha
        return StatusResult(State.ABSENT, f"{repo}: {path} does not hold "
                            f"{ctx.request.version} yet"), current_sha


_CONFLICT_HINT = ("valet never rewrites a released formula: fix the tap by hand, or release a "
                  "new version")


class _Api:
    """The three contents/commits calls brew makes, with the tap's token."""

    def __init__(self, ctx: TargetContext) -> None:
        own = ctx.env.get(token_var(BrewTarget.name))
        if own:
            from valet.github_client import connect

            self.gh = connect(own, what=token_var(BrewTarget.name))
        else:
            self.gh = ctx.github
        self.key = ctx.key

    def call(self, verb: str, path: str, body: Any = None,
             params: dict[str, Any] | None = None) -> tuple[int, Any]:
        from github import GithubException

        try:
            _headers, data = self.gh.requester.requestJsonAndCheck(verb, path, parameters=params,
                                                                   input=body)
            return 200 if verb == "GET" else 201, data
        except GithubException as exc:
            return exc.status, exc.data if isinstance(exc.data, dict) else {}
        except Exception as exc:  # noqa: BLE001 - network errors after retries
            raise wrap(exc, f"{self.key}: {verb} {path}") from None

    def content(self, repo: str, path: str, ref: str | None = None) -> tuple[bytes | None,
                                                                             str | None]:
        status, data = self.call("GET", f"/repos/{repo}/contents/{quote(path)}",
                                 params={"ref": ref} if ref else None)
        if status == 404:
            return None, None
        if status != 200 or not isinstance(data, dict) or data.get("type") != "file":
            raise GitHubError(f"{self.key}: reading {path} in {repo} answered HTTP {status}",
                              hint=f"check that the token can read {repo}")
        raw = base64.b64decode(str(data.get("content") or ""))
        return raw, str(data.get("sha"))

    def history(self, repo: str, path: str) -> list[dict[str, Any]]:
        status, data = self.call("GET", f"/repos/{repo}/commits",
                                 params={"path": path, "per_page": 100})
        if status in (404, 409):  # 409: an empty repository
            return []
        if status != 200 or not isinstance(data, list):
            raise GitHubError(f"{self.key}: listing the commits of {path} in {repo} answered "
                              f"HTTP {status}")
        return [c for c in data if isinstance(c, dict)]


def check_options(options: Mapping[str, Any], where: str) -> list[str]:
    """The brew target's options, checked when the configuration is loaded: the tap, and
    the placeholders of the template and the formula name."""
    tap = options.get("tap")
    if not isinstance(tap, str) or not _TAP_RE.fullmatch(tap):
        raise ConfigError(f"{where}: tap {tap!r} is not owner/name",
                          hint="set `tap: OWNER/NAME` for the tap repository OWNER/homebrew-NAME")
    template = options.get("template")
    if not isinstance(template, str) or not template.strip():
        raise ConfigError(f"{where}: no formula `template` is set",
                          hint="give the formula's Ruby source as `template`")
    check(template, {"version", "revision", "checksums"}, where=f"{where}: template")
    if options.get("formula") is not None:
        check(str(options["formula"]), {"version", "major", "minor", "patch"},
              where=f"{where}: formula")
    return []


def _skipped(ctx: TargetContext) -> bool:
    try:
        return bool(parse_version(ctx.request.version).prerelease)
    except VersionError:
        return False


# -- pure helpers (unit tested) ---------------------------------------------------


def tap_repo(ctx: TargetContext) -> str:
    """``owner/name`` -> ``owner/homebrew-name`` (a name already so prefixed is kept)."""
    tap = option(ctx, "tap")
    m = _TAP_RE.fullmatch(tap) if isinstance(tap, str) else None
    if m is None:
        raise TargetError(f"{ctx.key}: tap {tap!r} is not owner/name",
                          hint="set `tap: OWNER/NAME` for the tap repository OWNER/homebrew-NAME")
    name = m.group(2).removeprefix("homebrew-")
    return f"{m.group(1)}/homebrew-{name}"


def formula_name(ctx: TargetContext) -> str:
    raw = option(ctx, "formula") or ctx.request.repo.split("/")[-1]
    values: dict[str, Any] = {"version": ctx.request.version}
    try:
        v = parse_version(ctx.request.version)
        values.update(major=v.major, minor=v.minor, patch=v.patch)
    except VersionError:
        pass
    name = render(str(raw), values, where=f"{ctx.key}: formula")
    if not _FORMULA_RE.fullmatch(name):
        raise TargetError(f"{ctx.key}: the formula name {name!r} is not a plain file name")
    return name


def formula_path(ctx: TargetContext) -> str:
    base = str(option(ctx, "path") or "Formula").strip("/")
    path = f"{base}/{formula_name(ctx)}.rb"
    if not _PATH_RE.fullmatch(path):
        raise TargetError(f"{ctx.key}: the formula path {path!r} is not a relative path "
                          "inside the tap")
    return path


def checksum_values(names: list[str], version: str, digests: dict[str, str]) -> dict[str, str]:
    """The ``checksums`` a template sees: keys with the version as ``__VERSION__`` (its
    first occurrence, as craft does) and, for dotted keys, also with ``.`` as ``__``."""
    out: dict[str, str] = {}
    for n in names:
        key = n.replace(version, "__VERSION__", 1) if version else n
        out[key] = digests[n]
        if "." in key:
            out[key.replace(".", "__")] = digests[n]
    return out


def render_formula(ctx: TargetContext) -> str:
    template = option(ctx, "template")
    if not isinstance(template, str) or not template.strip():
        raise TargetError(f"{ctx.key}: no formula `template` is set",
                          hint="give the formula's Ruby source as `template`, with "
                               "{{version}} and {{checksums.FILE}} where they belong")
    names = select_files(ctx.target, BrewTarget.default_include, list(ctx.files))
    checksums = checksum_values(names, ctx.request.version,
                                {n: ctx.artifacts[n].sha256 for n in names})
    values = {"version": ctx.request.version, "revision": ctx.request.sha or "",
              "checksums": checksums}
    return render(template, values, where=f"{ctx.key}: template")
