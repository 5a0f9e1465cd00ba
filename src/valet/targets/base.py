"""The one small interface every publish target implements.

A target is checked in three steps, all before anything irreversible:
``preflight`` (credentials, tools, matching artifacts) runs for every target
before any upload; ``status`` asks the registry whether this exact version is
already there and compares digests; only then ``publish`` uploads and returns
a receipt. Targets never build or run code from the released project.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from valet.config import Config, TargetConfig
from valet.manifest import Artifact
from valet.request import Request


class State(enum.Enum):
    ABSENT = "absent"  # not there: publish it
    PUBLISHED = "published"  # there with the approved digests: tick and skip
    CONFLICT = "conflict"  # there with other content: refuse, never overwrite


@dataclass
class StatusResult:
    state: State
    detail: str = ""
    receipt: Receipt | None = None


@dataclass
class Receipt:
    target: str  # the target key, e.g. "npm[@scope/pkg]"
    url: str | None = None  # where it can be seen
    digests: dict[str, str] = field(default_factory=dict)  # file name -> sha256 published
    detail: str = ""  # one line for the summary table
    # Facts a later target may need (JSON-able): the docker target's image and digest,
    # the aws-lambda-layer target's layer version ARNs per region.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class TargetContext:
    request: Request
    config: Config  # the SDK config read from the protected merge target
    target: TargetConfig
    files: dict[str, Path]  # verified artifacts this target publishes: name -> local path
    artifacts: dict[str, Artifact]  # the approved facts of those same files
    workdir: Path  # private scratch dir under $RUNNER_TEMP (npmrc, twine config, ...)
    env: Mapping[str, str]  # the process environment (credentials come from here)
    github: Any = None  # PyGithub client authenticated for the SDK repo (sdk-token)
    dry_run: bool = False
    # The run's valet.releases.ReleaseIndex of the SDK repo: the releases, the draft and
    # the tag as the store read them (the github target acts on the same answers).
    releases: Any = None
    # The receipts of the targets this one runs after (``runs_after``), by key, set
    # before its publish: the registry reads the layer ARNs of aws-lambda-layer here.
    earlier: dict[str, Receipt] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.target.key


@dataclass(frozen=True)
class Destination:
    """One place a target writes to, for the publish side's allow-list.

    kinds:
      - ``host``: the host (and port, if not the default) of a registry or API it
        uploads to, e.g. ``upload.pypi.org``, ``registry.npmjs.org``;
      - ``package``: a package name on that registry (``sentry-sdk``, ``@sentry/node``,
        a crate, an image repository ``ghcr.io/org/name``, a Lambda layer name);
      - ``repository``: a GitHub ``owner/name`` it pushes or commits to (gh-pages, a
        brew tap, the release registry) or a git URL;
      - ``bucket``: a cloud storage bucket (``gs://name``, ``s3://name``).
    Every value is data read from the configuration or the approved files, never
    code; the publish side refuses a release with any destination it does not allow.
    """

    kind: str  # host | package | repository | bucket
    value: str


def host_of(url: str) -> str:
    """A ``host`` destination's value: the URL's host, lower case, with the port only
    when it is not the scheme's default (``https://Upload.PyPI.org/legacy/`` ->
    ``upload.pypi.org``; ``http://127.0.0.1:8080/`` -> ``127.0.0.1:8080``)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if not host:
        raise ValueError(f"{url!r} names no host")
    if ":" in host:  # an IPv6 literal keeps its brackets, as in a URL
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return host if port is None or port == default else f"{host}:{port}"


def runs_after(target: object) -> tuple[str, ...]:
    """The target kinds whose publish this target waits for (its ``runs_after``
    class attribute; none by default: a target publishes concurrently with the rest)."""
    return tuple(getattr(target, "runs_after", ()))


class Target(Protocol):
    name: ClassVar[str]
    # Which artifact names this target takes when the config sets no includeNames.
    default_include: ClassVar[re.Pattern[str]]
    # Environment variables holding credentials, for the preflight message.
    credentials: ClassVar[tuple[str, ...]]

    def preflight(self, ctx: TargetContext) -> None:
        """Raise TargetError (with a hint naming the secret or tool) if it cannot publish."""

    def status(self, ctx: TargetContext) -> StatusResult:
        """Is this version already published? Compare digests; never upload here."""

    def publish(self, ctx: TargetContext) -> Receipt:
        """Upload the files; return a receipt. Raise TargetError on failure."""

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        """Every host, package, repository and bucket this target would write to for
        this release (pure: from the config and the approved file names; no network).
        Checked against the publish side's allow-list before any download or upload.

        It runs before the download: ``ctx.files`` is empty, ``ctx.artifacts`` holds the
        approved files this target takes. What is only known from a file's contents (an
        npm tarball's package.json name, a wheel's metadata) is declared from its file
        name, and ``preflight`` (after the download, before any upload) refuses a file
        whose contents name another destination than the one declared here."""


def select_files(target: TargetConfig, default_include: re.Pattern[str],
                 names: list[str]) -> list[str]:
    """The artifact names a target takes: its includeNames (or its default) minus excludeNames."""
    include = target.include_names or default_include
    chosen = [n for n in names if include.search(n)]
    if target.exclude_names is not None:
        chosen = [n for n in chosen if not target.exclude_names.search(n)]
    return sorted(chosen)


def option(ctx: TargetContext, name: str, default: Any = None) -> Any:
    return ctx.target.options.get(name, default)


def env_first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for n in names:
        value = env.get(n)
        if value:
            return value
    return None


# -- shared by the target modules (additive: the status rule lives in one place) ----


def decide(ctx: TargetContext, names: list[str], remote: Mapping[str, str | None],
           local: Mapping[str, str] | None = None, *, url: str | None = None,
           what: str = "sha256") -> StatusResult:
    """The one status rule every target follows.

    ``remote`` maps each of our file names to the registry's digest of the file
    with that name for this version (None: not there); ``local`` holds our
    digests in the registry's algorithm (default: the approved sha256).

    - every file there with our digest            -> PUBLISHED (receipt)
    - nothing there                               -> ABSENT
    - some there with our digest, the rest absent -> ABSENT: publish uploads only
      the missing files (an interrupted upload is finished, never repeated)
    - any file there with another digest          -> CONFLICT (never overwrite)
    """
    if not names:
        return StatusResult(State.ABSENT, "no files to compare")
    ours = dict(local) if local is not None else {n: ctx.artifacts[n].sha256 for n in names}
    differ = [n for n in names if remote.get(n) is not None and remote[n] != ours[n]]
    missing = [n for n in names if remote.get(n) is None]
    if differ:
        shown = ", ".join(f"{n} ({what} {str(remote[n])[:16]}… ≠ ours {ours[n][:16]}…)"
                          for n in differ)
        return StatusResult(State.CONFLICT, f"already published with other content: {shown}")
    if not missing:
        return StatusResult(State.PUBLISHED, "already published with the approved digests",
                            receipt=Receipt(target=ctx.key, url=url, digests=_sha256s(ctx, names),
                                            detail="already published"))
    if len(missing) == len(names):
        return StatusResult(State.ABSENT, "not published yet")
    return StatusResult(State.ABSENT, f"partly published: {len(names) - len(missing)} of "
                        f"{len(names)} files there with the approved digests; missing: "
                        f"{', '.join(missing)}")


def _sha256s(ctx: TargetContext, names: list[str]) -> dict[str, str]:
    return {n: ctx.artifacts[n].sha256 for n in names}


# What a registry client we start (twine, npm) may see of our environment: the
# basics to run and reach the network, never another target's secret or a token
# given to valet itself.
_CHILD_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TEMP", "TMP",
                   "SYSTEMROOT", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
                   "NODE_EXTRA_CA_CERTS", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                   "http_proxy", "https_proxy", "no_proxy", "VIRTUAL_ENV", "PYTHONPATH",
                   "RUNNER_TEMP")


def child_env(env: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    out = {k: env[k] for k in _CHILD_ENV_KEEP if k in env}
    out.update(extra)
    return out


def upload_receipt(ctx: TargetContext, names: list[str], remote_after: dict[str, str | None], *,
                   uploaded: int, url: str | None, noun: str, where: str) -> Receipt:
    """The receipt of an upload, re-checked against the registry's own digests.

    Uploaded but not listed yet (a CDN in front of the index) is a warning, not a
    failure: failing would make a retry upload again.
    """
    from valet import gha

    after = decide(ctx, names, remote_after)
    if after.state is not State.PUBLISHED:
        gha.warning(f"{ctx.key}: uploaded, but the {where} does not list every {noun} yet "
                    f"({after.detail})")
    return Receipt(target=ctx.key, url=url,
                   digests={n: ctx.artifacts[n].sha256 for n in names},
                   detail=f"uploaded {uploaded} {noun}(s)" if uploaded else "already there")


def secret_hint(secret: str, what: str) -> str:
    """How to fix a missing registry credential: the secret to add, and the YAML
    that hands it to the publish step (and to no other)."""
    return (f"add {what} as the secret {secret} of the `production` environment and pass it "
            "to the publish step:\n"
            "    environment: production\n"
            "    steps:\n"
            "      - uses: OWNER/valet/action-publish@v1\n"
            "        env:\n"
            f"          {secret}: ${{{{ secrets.{secret} }}}}")
