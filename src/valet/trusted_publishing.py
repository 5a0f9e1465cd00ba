"""Trusted publishing: trade the publish job's OIDC identity for a short-lived registry token.

The publish job asks GitHub for an ID token (a JWT naming the repository, the
workflow file and the environment it runs in) and each registry swaps it for a
token that lives minutes and can only publish the packages whose trusted
publisher names exactly that identity. No registry secret has to exist at all.

One mode per target, ``auto`` (default) | ``always`` | ``never``, from two places
(``mode_for``): the publish workflow's ``trusted-publishing`` input (the publish
repository's admins; it wins when it says ``always`` or ``never``, per target
name or key) and the target's ``trusted_publishing`` option in the SDK's
configuration (read from the protected merge target).

- ``auto``: the registry secret when it is set, else trusted publishing when the
  job can request an ID token (``id-token: write``), else a preflight error;
- ``always``: trusted publishing, even when a secret is set; a job that cannot
  request an ID token fails in preflight, before any target uploads;
- ``never``: the secret only.

The exchanges, one per registry (each a context manager that yields the token):

- PyPI: ``GET {upload host}/_/oidc/audience`` names the audience; the ID token
  goes to ``POST /_/oidc/mint-token`` as ``{"token": ...}``; the answer is
  ``{"token": ...}`` or ``{"errors": [{"code", "description"}]}``.
- npm: audience ``npm:<registry host>``; ``POST
  {registry}-/npm/v1/oidc/token/exchange/package/<escaped name>`` with the ID
  token as bearer; ``{"token": ...}`` or ``{"message": ...}``. npm's own CLI
  swallows a failed exchange and falls back to whatever token it has; valet
  never does: a refused exchange is an error naming the registry's reason.
- crates.io: audience = the API host; ``POST {api}/api/v1/trusted_publishing/tokens``
  with ``{"jwt": ...}``; ``{"token": ...}`` or ``{"errors": [{"detail"}]}``; the
  token is revoked (``DELETE`` with it as bearer) when the target is done,
  whatever happened.

Every ID token and minted token is masked the moment it arrives, lives only in
the memory of the target that asked for it (it reaches a registry client
through that one child process's environment) and is dropped when the target
finishes. Redirects are never followed: a token goes only to the URL it was
meant for.
"""

from __future__ import annotations

import contextlib
import enum
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from valet import gha
from valet.errors import TargetError, TrustedPublishingError, UsageError

TIMEOUT = 30.0
USER_AGENT = "valet-release"
OPTION = "trusted_publishing"  # the target option in .valet.yml
INPUT_ENV = "INPUT_TRUSTED_PUBLISHING"  # the publish action's `trusted-publishing` input
REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"  # noqa: S105 - a variable name
DOCS = "docs/configuration.md#trusted-publishing"

PERMISSION_YAML = ("grant `id-token: write` to the publish job (and to no other job):\n"
                 "    jobs:\n"
                 "      publish:\n"
                 "        environment: production\n"
                 "        permissions:\n"
                 "          id-token: write\n"
                 "          issues: write\n"
                 "          contents: read")


class Mode(enum.Enum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


MODES = tuple(m.value for m in Mode)


@dataclass(frozen=True)
class Choice:
    mode: Mode
    source: str  # where the mode came from, for messages

    def describe(self) -> str:
        return f"`{self.mode.value}` ({self.source})"


# -- which credential (pure) -----------------------------------------------------


def parse_publish_input(raw: str | None) -> dict[str, Mode]:
    """The publish side's input: empty, one mode for every target, or ``TARGET: MODE``
    entries (comma or newline separated; TARGET a target name or key). ``"*"`` holds
    the mode for every target."""
    out: dict[str, Mode] = {}
    text = (raw or "").strip()
    if not text:
        return out
    if text in MODES:
        return {"*": Mode(text)}
    for entry in re.split(r"[,\n]", text):
        entry = entry.strip()
        if not entry:
            continue
        name, sep, value = entry.rpartition(":") if ":" in entry else entry.rpartition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or value not in MODES:
            raise UsageError(
                f"the trusted-publishing input has an entry {entry!r} that is not "
                "`TARGET: auto|always|never`",
                hint="give one mode for every target (`always`) or one entry per target, "
                     "e.g. `pypi: always` and `crates: never`")
        out[name] = Mode(value)
    return out


def mode_for(key: str, name: str, option: Any, publish_input: str | None) -> Choice:
    """The mode of one target. The publish side's ``always``/``never`` wins (its admins
    decide how their registry credentials are used); otherwise the SDK's option; else auto."""
    forced = parse_publish_input(publish_input)
    for who in (key, name, "*"):
        mode = forced.get(who)
        if mode is not None and mode is not Mode.AUTO:
            return Choice(mode, "the publish workflow's `trusted-publishing` input")
    if option is not None:
        if str(option) not in MODES:
            raise TrustedPublishingError(
                f"{key}: trusted_publishing must be auto, always or never, not {option!r}",
                hint="fix the target's `trusted_publishing` option in the SDK's .valet.yml")
        return Choice(Mode(str(option)), "the target's `trusted_publishing` option")
    return Choice(Mode.AUTO, "the default")


def can_request_id_token(env: Mapping[str, str]) -> bool:
    """GitHub gives a job these two variables only when it has `id-token: write`."""
    return bool(env.get(REQUEST_URL)) and bool(env.get(REQUEST_TOKEN))


def choose(ctx: Any, *, secret: str | None, env_name: str, registry: str,
           secret_hint: str, announce: bool = False) -> bool:
    """True: publish through trusted publishing; False: with the secret. Raises
    TrustedPublishingError / TargetError (in preflight) when neither can work.
    ``announce``: say in the log which one and why (preflight does)."""
    use = _choose(ctx, secret=secret, env_name=env_name, registry=registry,
                  secret_hint=secret_hint)
    if announce:
        how = ("trusted publishing (a short-lived token from the job's OIDC identity)" if use
               else f"the {env_name} secret")
        gha.info(f"{ctx.key}: publishes with {how}")
    return use


def _choose(ctx: Any, *, secret: str | None, env_name: str, registry: str,
            secret_hint: str) -> bool:
    choice = mode_for(ctx.key, ctx.target.name, ctx.target.options.get(OPTION),
                      ctx.env.get(INPUT_ENV))
    can = can_request_id_token(ctx.env)
    if choice.mode is Mode.NEVER:
        if not secret:
            raise TargetError(
                f"{ctx.key}: {env_name} is not set, and trusted publishing is "
                f"{choice.describe()}", hint=secret_hint)
        return False
    if choice.mode is Mode.ALWAYS:
        if not can:
            raise TrustedPublishingError(
                f"{ctx.key}: trusted publishing is {choice.describe()}, but this job cannot "
                f"request an OIDC ID token ({REQUEST_URL} is not set: the job lacks "
                "`id-token: write`)", hint=PERMISSION_YAML)
        return True
    if secret:
        return False
    if can:
        return True
    raise TargetError(
        f"{ctx.key}: no {registry} credentials: {env_name} is not set and this job "
        "cannot request an OIDC ID token for trusted publishing",
        hint=f"recommended: trusted publishing, no secret at all: {PERMISSION_YAML}\n"
             f"and register the publish workflow as a trusted publisher on {registry} "
             f"(see {DOCS}). Or: {secret_hint}")


# -- the ID token -----------------------------------------------------------------


def request_id_token(env: Mapping[str, str], audience: str) -> str:
    """Ask the Actions runtime for an ID token with this audience (masked at once)."""
    base, token = env.get(REQUEST_URL), env.get(REQUEST_TOKEN)
    if not base or not token:
        raise TrustedPublishingError(
            f"this job cannot request an OIDC ID token ({REQUEST_URL} is not set)",
            hint=PERMISSION_YAML)
    gha.add_mask(token)
    url = with_query(base, audience=audience)
    try:
        resp = requests.get(url, headers={"Authorization": f"bearer {token}",
                                          "Accept": "application/json",
                                          "User-Agent": USER_AGENT},
                            timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise TrustedPublishingError(f"cannot reach the Actions ID token service: {exc}",
                                     hint="re-run the job; GitHub may be degraded") from None
    value = None
    if resp.status_code == 200:
        with contextlib.suppress(ValueError, AttributeError):
            value = resp.json().get("value")
    if not isinstance(value, str) or value.count(".") != 2:
        raise TrustedPublishingError(
            f"the Actions ID token service answered HTTP {resp.status_code} without a token "
            f"for audience {audience!r}",
            hint="check that the job has `id-token: write`; " + PERMISSION_YAML)
    gha.add_mask(value)
    return value


def with_query(url: str, **params: str) -> str:
    """``url`` with these query parameters added (GitHub's URL already has one)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def claims_of(id_token: str) -> dict[str, Any]:
    """The ID token's claims, unverified: only to say what to register."""
    import jwt

    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass(frozen=True)
class Identity:
    """What a registry's trusted publisher must name to accept this job."""

    owner: str
    repository: str  # the name, without the owner
    workflow: str  # the workflow file name, e.g. publish.yml
    environment: str | None

    def describe(self) -> str:
        env = f"`{self.environment}`" if self.environment else "(none)"
        return (f"owner `{self.owner}`, repository `{self.repository}`, workflow "
                f"`{self.workflow}`, environment {env}")


def identity(claims: Mapping[str, Any], env: Mapping[str, str]) -> Identity:
    repo = str(claims.get("repository") or env.get("GITHUB_REPOSITORY") or "OWNER/publish")
    owner, _, name = repo.partition("/")
    ref = str(claims.get("workflow_ref") or env.get("GITHUB_WORKFLOW_REF") or "")
    workflow = workflow_file(ref) or "publish.yml"
    environment = claims.get("environment")
    return Identity(owner, name, workflow,
                    str(environment) if environment else None)


def workflow_file(workflow_ref: str) -> str | None:
    """``owner/repo/.github/workflows/publish.yml@refs/heads/main`` -> ``publish.yml``."""
    match = re.match(r"^[^/]+/[^/]+/\.github/workflows/([^@/]+)@", workflow_ref)
    return match.group(1) if match else None


REGISTER = {
    "PyPI": "on PyPI: the project's Manage → Publishing → add a GitHub trusted publisher "
            "(a project that does not exist yet: your account's Publishing page, as a "
            "pending publisher)",
    "npm": "on npmjs.com: the package's Settings → Trusted publishing → GitHub Actions (npm "
           "registers it only for a package that exists: publish its first version with "
           "an NPM_TOKEN)",
    "crates.io": "on crates.io: the crate's Settings → Trusted Publishing → add a GitHub "
                 "publisher (only for a crate that exists: its first version needs an API "
                 "token)",
}


def register_hint(registry: str, package: str, who: Identity) -> str:
    return (f"register this publish workflow as a trusted publisher of `{package}` "
            f"{REGISTER.get(registry, 'on ' + registry)}, with exactly: {who.describe()}")


def _audience_hint(registry: str, audience: str) -> str:
    return (f"valet asked GitHub for an ID token with audience `{audience}`, derived from the "
            f"{registry} URL of this target: point the target at the registry's own URL "
            "(not a mirror or proxy name), or check the registry's trusted publishing settings")


# -- talking to registries --------------------------------------------------------


def _post(url: str, *, what: str, **kwargs: Any) -> requests.Response:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json",
               **kwargs.pop("headers", {})}
    try:
        return requests.post(url, headers=headers, timeout=TIMEOUT, allow_redirects=False,
                             **kwargs)
    except requests.RequestException as exc:
        raise TrustedPublishingError(f"cannot reach {what} at {url}: {exc}",
                                     hint="check the target's registry URL; re-adding "
                                          "`accepted` retries only this target") from None


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(gha.redact(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _token_from(resp: requests.Response, body: Any, what: str) -> str:
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or len(token) < 8:
        raise TrustedPublishingError(
            f"{what} answered HTTP {resp.status_code} without a token",
            hint="the registry may be degraded: re-add `accepted` later")
    gha.add_mask(token)
    return token


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# PyPI --------------------------------------------------------------------------------


def pypi_reason(body: Any) -> tuple[str, set[str]]:
    """(one-line reason, error codes) of a refused mint-token answer."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        message = body.get("message") if isinstance(body, dict) else None
        return (_clip(str(message)) if message else "no reason given"), set()
    parts, codes = [], set()
    for err in errors:
        if isinstance(err, dict):
            code = str(err.get("code") or "error")
            codes.add(code)
            parts.append(f"{code}: {err.get('description') or ''}".strip())
        else:
            parts.append(str(err))
    return _clip("; ".join(parts)), codes


@contextlib.contextmanager
def pypi_token(key: str, upload_url: str, projects: list[str],
               env: Mapping[str, str]) -> Iterator[str]:
    """A minted PyPI API token for this upload URL's index (PyPI keeps no way to revoke
    it: it expires by itself within minutes)."""
    base = origin(upload_url)
    host = urlsplit(upload_url).netloc
    try:
        resp = requests.get(f"{base}/_/oidc/audience", timeout=TIMEOUT, allow_redirects=False,
                            headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    except requests.RequestException as exc:
        raise TrustedPublishingError(f"{key}: cannot reach the index at {base}: {exc}",
                                     hint="check repository_url") from None
    audience = (_json(resp) or {}).get("audience") if resp.status_code == 200 else None
    if not isinstance(audience, str) or not audience:
        if resp.status_code == 404:
            why = "does not offer trusted publishing (no /_/oidc/audience)"
        elif resp.status_code == 403:
            why = "has trusted publishing disabled"
        else:
            why = f"answered HTTP {resp.status_code} for its OIDC audience"
        raise TrustedPublishingError(
            f"{key}: the index at {host} {why}",
            hint="publish to PyPI or TestPyPI with trusted publishing, or set the "
                 "PYPI_TOKEN secret and `trusted_publishing: never` for this index")
    id_token = request_id_token(env, audience)
    resp = _post(f"{base}/_/oidc/mint-token", what="the index", json={"token": id_token})
    body = _json(resp)
    if resp.status_code // 100 != 2:
        reason, codes = pypi_reason(body)
        who = identity(claims_of(id_token), env)
        if codes & {"invalid-publisher", "invalid-pending-publisher"}:
            hint = register_hint("PyPI", ", ".join(projects), who)
        elif "audience" in reason.lower():
            hint = _audience_hint("PyPI", audience)
        elif "not-enabled" in codes:
            hint = "the index has trusted publishing turned off: use a PYPI_TOKEN for now"
        else:
            hint = (f"check the trusted publisher of {', '.join(projects)} on the index: "
                    + who.describe())
        raise TrustedPublishingError(
            f"{key}: the index at {host} refused the trusted publishing exchange "
            f"(HTTP {resp.status_code}): {reason}", hint=hint)
    token = _token_from(resp, body, f"{key}: the index at {host}")
    gha.info(f"{key}: trusted publishing: the index at {host} minted a short-lived token")
    try:
        yield token
    finally:
        del token


# npm ---------------------------------------------------------------------------------


def npm_audience(registry: str) -> str:
    return f"npm:{urlsplit(registry).hostname}"


def npm_escaped(package: str) -> str:
    """npm's escaping of a package name in a URL path: ``@scope/pkg`` -> ``@scope%2fpkg``."""
    return package.replace("/", "%2f")


@contextlib.contextmanager
def npm_token(key: str, registry: str, package: str, env: Mapping[str, str]) -> Iterator[str]:
    """A token the registry minted for publishing this one package."""
    audience = npm_audience(registry)
    id_token = request_id_token(env, audience)
    url = f"{registry.rstrip('/')}/-/npm/v1/oidc/token/exchange/package/{npm_escaped(package)}"
    resp = _post(url, what="the npm registry", data=b"",
                 headers={"Authorization": f"Bearer {id_token}"})
    body = _json(resp)
    host = urlsplit(registry).netloc
    if resp.status_code // 100 != 2:
        message = body.get("message") if isinstance(body, dict) else None
        reason = _clip(str(message or (body.get("error") if isinstance(body, dict) else "")
                           or resp.reason or "no reason given"))
        who = identity(claims_of(id_token), env)
        if "audience" in reason.lower():
            hint = _audience_hint("npm", audience)
        elif resp.status_code in (400, 401, 403, 404):
            hint = register_hint("npm", package, who)
        else:
            hint = "the registry may be degraded: re-add `accepted` later"
        raise TrustedPublishingError(
            f"{key}: the npm registry at {host} refused the trusted publishing exchange for "
            f"{package} (HTTP {resp.status_code}): {reason}", hint=hint)
    token = _token_from(resp, body, f"{key}: the npm registry at {host}")
    gha.info(f"{key}: trusted publishing: the npm registry minted a short-lived token "
             f"for {package}")
    try:
        yield token
    finally:
        del token


# crates.io ---------------------------------------------------------------------------


def crates_audience(api: str) -> str:
    """crates.io's audience is its URL without the scheme (``crates.io``)."""
    parts = urlsplit(api)
    return (parts.netloc + parts.path).rstrip("/")


def crates_reason(body: Any, resp: requests.Response) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        return _clip("; ".join(str(e.get("detail", e)) if isinstance(e, dict) else str(e)
                               for e in errors))
    return _clip(json.dumps(body) if body is not None else (resp.reason or "no reason given"))


@contextlib.contextmanager
def crates_token(key: str, api: str, crates: list[str], env: Mapping[str, str]) -> Iterator[str]:
    """A token for the crates whose trusted publisher names this job; revoked on exit,
    whatever happened in between."""
    audience = crates_audience(api)
    id_token = request_id_token(env, audience)
    endpoint = f"{api.rstrip('/')}/api/v1/trusted_publishing/tokens"
    resp = _post(endpoint, what="the crates registry", json={"jwt": id_token})
    body = _json(resp)
    host = urlsplit(api).netloc
    if resp.status_code // 100 != 2:
        reason = crates_reason(body, resp)
        low = reason.lower()
        who = identity(claims_of(id_token), env)
        if "no matching" in low or "config" in low:
            hint = register_hint("crates.io", ", ".join(crates), who)
        elif "decode" in low or "audience" in low or "issuer" in low:
            hint = _audience_hint("crates.io", audience)
        else:
            hint = "the registry may be degraded: re-add `accepted` later"
        raise TrustedPublishingError(
            f"{key}: the crates registry at {host} refused the trusted publishing exchange "
            f"(HTTP {resp.status_code}): {reason}", hint=hint)
    token = _token_from(resp, body, f"{key}: the crates registry at {host}")
    gha.info(f"{key}: trusted publishing: the crates registry minted a short-lived token")
    try:
        yield token
    finally:
        revoke_crates_token(key, endpoint, token)
        del token


def revoke_crates_token(key: str, endpoint: str, token: str) -> bool:
    """DELETE the token; a failure is a warning (it expires within 30 minutes anyway)."""
    try:
        resp = requests.delete(endpoint, timeout=TIMEOUT, allow_redirects=False,
                               headers={"Authorization": f"Bearer {token}",
                                        "User-Agent": USER_AGENT})
    except requests.RequestException as exc:
        gha.warning(f"{key}: could not revoke the trusted publishing token ({exc}); "
                    "it expires by itself within 30 minutes")
        return False
    if resp.status_code // 100 != 2:
        gha.warning(f"{key}: revoking the trusted publishing token answered HTTP "
                    f"{resp.status_code}; it expires by itself within 30 minutes")
        return False
    gha.info(f"{key}: trusted publishing token revoked")
    return True
