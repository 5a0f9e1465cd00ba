"""`aws-lambda-layer`: publish the approved layer zip as a new, public layer version.

For every entry of ``compatible_runtimes`` and every region, one layer version
of ``layer_name`` (placeholders ``{{{version}}}``, ``{{{major}}}``,
``{{{minor}}}``, ``{{{patch}}}``) with that runtime's versions, the
``license`` and ``compatible_architectures``, described as
``<layer name> <version>``; then ``lambda:GetLayerVersion`` is granted to every
account (statement id ``public``), as craft does. The receipt lists each layer
version's ARN (``Receipt.extra["layers"]``), for the registry target.

Layer versions are numbered by AWS and never replaced, so "this release" is the
version whose description names it: one with the same code hash
(``CodeSha256``, the base64 sha256 of the zip, computed here from the verified
file) is done; one with other code is a conflict; a done one that is not public
yet only gets its permission. A pre-release publishes nothing unless
``link_prereleases`` is set (craft's rule): its status is done, with a receipt
listing no layers.

Regions: ``regions``, or else the 17 commercial regions AWS enables for every
account (opt-in regions must be listed). Credentials: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN`` from the step's environment
(aws-actions/configure-aws-credentials sets them after assuming a role by
OIDC); ``AWS_ENDPOINT_URL_LAMBDA`` / ``AWS_ENDPOINT_URL`` point at another
endpoint. boto3 is imported only here, when the target runs.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlparse

from valet import gha
from valet.errors import ConfigError, ConflictError, TargetError, VersionError
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    select_files,
)
from valet.template import check, render
from valet.version import is_prerelease, parse_version

NAME = "aws-lambda-layer"
# Every commercial region that AWS enables for an account by default (the regions
# launched before March 2019); newer ones are opt-in and must be named in `regions`.
DEFAULT_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2",
)
ARCHITECTURES = ("x86_64", "arm64")
MAX_RUNTIMES = 15  # what AWS accepts per layer version
MAX_PAGES = 40  # 40 x 50 layer versions listed per region, at most
_REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
_LAYER_RE = re.compile(r"^[A-Za-z0-9_-]{1,140}$")
_RUNTIME_RE = re.compile(r"^[a-z][a-z0-9.]{1,40}$")
_VARS = frozenset({"version", "major", "minor", "patch"})
STATEMENT_ID = "public"
PARALLEL = 4


@dataclass(frozen=True)
class Runtime:
    name: str  # "node", "python": the registry's canonical name is aws-layer:<name>
    versions: tuple[str, ...]  # Lambda runtime ids


@dataclass(frozen=True)
class LayerSpec:
    layer_name: str  # the template
    runtimes: tuple[Runtime, ...]
    license: str
    architectures: tuple[str, ...]
    regions: tuple[str, ...]
    link_prereleases: bool


def spec_of(options: Mapping[str, Any], where: str) -> LayerSpec:
    """The options, checked (see the module docstring)."""
    missing = [k for k in ("layer_name", "compatible_runtimes", "license") if not options.get(k)]
    if missing:
        raise ConfigError(f"{where}: the aws-lambda-layer target needs {', '.join(missing)}",
                          hint="for example:\n    layerName: SentryPythonServerlessSDK\n"
                               "    compatibleRuntimes:\n      - name: python\n"
                               "        versions: [python3.12, python3.13]\n    license: MIT")
    layer = options["layer_name"]
    if not isinstance(layer, str):
        raise ConfigError(f"{where}: layer_name must be a string")
    check(layer, _VARS, where=f"{where}: layer_name")
    raw = options["compatible_runtimes"]
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: compatible_runtimes must be a list of {{name, versions}}")
    runtimes = []
    for i, entry in enumerate(raw):
        versions = entry.get("versions") if isinstance(entry, Mapping) else None
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if (not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_-]{0,40}", name)
                or not isinstance(versions, list) or not versions
                or not all(isinstance(v, str) and _RUNTIME_RE.match(v) for v in versions)):
            raise ConfigError(f"{where}: compatible_runtimes[{i}] must be {{name, versions: "
                              "[runtime ids]}}", hint="e.g. name: node, versions: [nodejs20.x]")
        if len(versions) > MAX_RUNTIMES:
            raise ConfigError(f"{where}: compatible_runtimes[{i}] lists {len(versions)} runtimes; "
                              f"AWS takes at most {MAX_RUNTIMES} per layer version")
        runtimes.append(Runtime(name, tuple(versions)))
    license_ = options["license"]
    if not isinstance(license_, str) or len(license_) > 512:
        raise ConfigError(f"{where}: license must be a short text (an SPDX id or a URL)")
    archs = options.get("compatible_architectures") or []
    if not isinstance(archs, list) or any(a not in ARCHITECTURES for a in archs):
        raise ConfigError(f"{where}: compatible_architectures takes {', '.join(ARCHITECTURES)}")
    regions = options.get("regions") or list(DEFAULT_REGIONS)
    if not isinstance(regions, list) or not all(isinstance(r, str) and _REGION_RE.match(r)
                                                for r in regions):
        raise ConfigError(f"{where}: regions must list AWS region names (e.g. us-east-1)")
    link = options.get("link_prereleases", False)
    if not isinstance(link, bool):
        raise ConfigError(f"{where}: link_prereleases must be true or false")
    return LayerSpec(layer, tuple(runtimes), license_, tuple(archs), tuple(dict.fromkeys(regions)),
                     link)


def layer_name(spec: LayerSpec, version: str, where: str) -> str:
    try:
        v = parse_version(version)
        parts = {"major": str(v.major), "minor": str(v.minor), "patch": str(v.patch)}
    except VersionError:
        parts = {"major": "", "minor": "", "patch": ""}
    name = render(spec.layer_name, {"version": version, **parts}, where=f"{where}: layer_name")
    if not _LAYER_RE.match(name):
        raise ConfigError(f"{where}: layer_name gives {name!r}, which AWS does not accept",
                          hint="letters, digits, - and _, at most 140 characters")
    return name


def description(name: str, version: str) -> str:
    return f"{name} {version}"


def code_sha256(sha256_hex: str) -> str:
    """Lambda's CodeSha256 (base64 of the digest) from the manifest's sha256 hex."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


# -- the target ---------------------------------------------------------------------


@dataclass
class Slot:
    """One runtime in one region: the layer version this release needs there."""

    runtime: Runtime
    region: str
    arn: str | None = None  # the matching layer version, if there
    version: int | None = None
    public: bool = False
    other: list[int] = field(default_factory=list)  # versions described as ours, other code


_SKIPPED = "skipped: a pre-release (link_prereleases is off)"


class AwsLambdaLayerTarget:
    name: ClassVar[str] = NAME
    default_include: ClassVar[re.Pattern[str]] = re.compile(r"\.zip$")
    credentials: ClassVar[tuple[str, ...]] = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

    def preflight(self, ctx: TargetContext) -> None:
        spec = spec_of(ctx.target.options, ctx.key)
        layer_name(spec, ctx.request.version, ctx.key)
        self._file(ctx)
        if not (ctx.env.get("AWS_ACCESS_KEY_ID") and ctx.env.get("AWS_SECRET_ACCESS_KEY")):
            raise TargetError(
                f"{ctx.key}: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set",
                hint="assume a role by OIDC before the publish step (the job needs "
                     "`permissions: id-token: write`):\n"
                     "      - uses: aws-actions/configure-aws-credentials@<sha>\n"
                     "        with:\n"
                     "          role-to-assume: arn:aws:iam::ACCOUNT:role/lambda-layer-publisher\n"
                     "          aws-region: us-east-1")
        gha.add_mask(ctx.env.get("AWS_SECRET_ACCESS_KEY"))
        gha.add_mask(ctx.env.get("AWS_SESSION_TOKEN"))

    def status(self, ctx: TargetContext) -> StatusResult:
        spec = spec_of(ctx.target.options, ctx.key)
        if self._skipped(ctx, spec):  # done: read again on a resume, it lists no layers
            return StatusResult(State.PUBLISHED, "a pre-release: nothing to publish",
                                receipt=Receipt(target=ctx.key, detail=_SKIPPED))
        slots = self._look(ctx, spec)
        return self._decide(ctx, spec, slots)

    def publish(self, ctx: TargetContext) -> Receipt:
        spec = spec_of(ctx.target.options, ctx.key)
        if self._skipped(ctx, spec):
            return Receipt(target=ctx.key, detail=_SKIPPED)
        name = layer_name(spec, ctx.request.version, ctx.key)
        clients = {r: self._client(ctx, r) for r in spec.regions}  # made here: not thread-safe
        slots = self._look(ctx, spec, clients)
        before = self._decide(ctx, spec, slots)
        if before.state is State.CONFLICT:
            raise ConflictError(f"{ctx.key}: {before.detail}",
                                hint="a layer version is never replaced: release a new version")
        data = ctx.files[self._file(ctx)].read_bytes()
        todo = [s for s in slots if s.arn is None or not s.public]

        def one(slot: Slot) -> str:
            lam = clients[slot.region]
            created = ""
            if slot.arn is None:
                args: dict[str, Any] = {
                    "LayerName": name, "Description": description(name, ctx.request.version),
                    "Content": {"ZipFile": data}, "CompatibleRuntimes": list(slot.runtime.versions),
                    "LicenseInfo": spec.license}
                if spec.architectures:
                    args["CompatibleArchitectures"] = list(spec.architectures)
                answer = _call(ctx, slot.region, lam.publish_layer_version, **args)
                if answer.get("Content", {}).get("CodeSha256") != code_sha256(
                        ctx.artifacts[self._file(ctx)].sha256):
                    raise TargetError(f"{ctx.key}: {slot.region} stored other code than the "
                                      "approved zip", hint="check the upload path to AWS")
                slot.arn, slot.version = answer["LayerVersionArn"], int(answer["Version"])
                created = "published"
            self._make_public(ctx, lam, name, slot)
            gha.info(f"{ctx.key}: {slot.region} {slot.runtime.name}: {slot.arn} "
                     f"{created or 'made public'}")
            return created

        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="lambda") as pool:
            done = list(pool.map(one, todo))
        made = sum(1 for d in done if d)
        return self._receipt(ctx, spec, slots, f"published {made} layer version(s)" if made
                             else ("made public" if todo else "already there"))

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        spec = spec_of(ctx.target.options, ctx.key)
        endpoint = _endpoint(ctx.env)
        hosts = ([urlparse(endpoint).netloc] if endpoint
                 else [f"lambda.{r}.amazonaws.com" for r in spec.regions])
        return [*(Destination("host", h) for h in hosts),
                Destination("package", layer_name(spec, ctx.request.version, ctx.key))]

    # -- helpers --------------------------------------------------------------

    def _skipped(self, ctx: TargetContext, spec: LayerSpec) -> bool:
        try:
            return is_prerelease(ctx.request.version) and not spec.link_prereleases
        except VersionError:
            return False

    def _file(self, ctx: TargetContext) -> str:
        names = select_files(ctx.target, self.default_include, list(ctx.files))
        if len(names) != 1:
            raise TargetError(
                f"{ctx.key}: {'no' if not names else len(names)} layer zip(s) among the "
                f"approved files{': ' + ', '.join(names) if names else ''}; exactly one is "
                "published", hint="set the target's includeNames to match the one layer zip")
        return names[0]

    def _client(self, ctx: TargetContext, region: str) -> Any:
        import boto3
        from botocore.config import Config as BotoConfig

        session = boto3.session.Session(
            aws_access_key_id=ctx.env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=ctx.env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=ctx.env.get("AWS_SESSION_TOKEN") or None, region_name=region)
        config = BotoConfig(retries={"max_attempts": 4, "mode": "standard"},
                            connect_timeout=20, read_timeout=300, user_agent_extra="valet")
        return session.client("lambda", endpoint_url=_endpoint(ctx.env), config=config)

    def _look(self, ctx: TargetContext, spec: LayerSpec,
              clients: dict[str, Any] | None = None) -> list[Slot]:
        name = layer_name(spec, ctx.request.version, ctx.key)
        wanted = description(name, ctx.request.version)
        ours = code_sha256(ctx.artifacts[self._file(ctx)].sha256)
        slots = [Slot(rt, region) for region in spec.regions for rt in spec.runtimes]
        clients = clients or {r: self._client(ctx, r) for r in spec.regions}

        def one(slot: Slot) -> None:
            lam = clients[slot.region]
            for item in _list_versions(ctx, lam, slot.region, name):
                if (item.get("Description") != wanted
                        or set(item.get("CompatibleRuntimes") or []) != set(slot.runtime.versions)):
                    continue
                got = _call(ctx, slot.region, lam.get_layer_version, LayerName=name,
                            VersionNumber=int(item["Version"]))
                if got.get("Content", {}).get("CodeSha256") == ours:
                    slot.arn, slot.version = got["LayerVersionArn"], int(got["Version"])
                    slot.public = _is_public(ctx, lam, slot.region, name, slot.version)
                    return
                slot.other.append(int(item["Version"]))

        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="lambda") as pool:
            list(pool.map(one, slots))
        return slots

    def _decide(self, ctx: TargetContext, spec: LayerSpec, slots: list[Slot]) -> StatusResult:
        name = layer_name(spec, ctx.request.version, ctx.key)
        clash = [s for s in slots if s.arn is None and s.other]
        if clash:
            shown = ", ".join(f"{s.region} {s.runtime.name} v{s.other[0]}" for s in clash[:5])
            return StatusResult(State.CONFLICT, f"{name} {ctx.request.version} is already "
                                f"published with other code: {shown}")
        if all(s.arn and s.public for s in slots):
            return StatusResult(State.PUBLISHED, "every region has the approved layer version",
                                receipt=self._receipt(ctx, spec, slots, "already there"))
        missing = sum(1 for s in slots if s.arn is None)
        private = sum(1 for s in slots if s.arn and not s.public)
        return StatusResult(State.ABSENT, f"{missing} of {len(slots)} layer version(s) to "
                            f"publish, {private} to make public")

    def _make_public(self, ctx: TargetContext, lam: Any, name: str, slot: Slot) -> None:
        if slot.public:
            return
        from botocore.exceptions import ClientError

        try:
            lam.add_layer_version_permission(LayerName=name, VersionNumber=slot.version,
                                             StatementId=STATEMENT_ID,
                                             Action="lambda:GetLayerVersion", Principal="*")
        except ClientError as exc:
            if _code(exc) != "ResourceConflictException":  # the statement is there already
                raise _error(ctx, slot.region, exc) from None
        slot.public = True

    def _receipt(self, ctx: TargetContext, spec: LayerSpec, slots: list[Slot],
                 what: str) -> Receipt:
        name = layer_name(spec, ctx.request.version, ctx.key)
        layers = [{"runtime": s.runtime.name, "region": s.region, "arn": s.arn,
                   "version": s.version} for s in slots if s.arn]
        account = str(layers[0]["arn"]).split(":")[4] if layers else None
        file = self._file(ctx)
        return Receipt(
            target=ctx.key, digests={file: ctx.artifacts[file].sha256},
            detail=f"{what}: {name} in {len({s.region for s in slots})} region(s)",
            extra={"layer_name": name, "account": account, "layers": layers,
                   "compatible_runtimes": [{"name": r.name, "versions": list(r.versions)}
                                           for r in spec.runtimes],
                   "compatible_architectures": list(spec.architectures),
                   "license": spec.license})


def _endpoint(env: Mapping[str, str]) -> str | None:
    url = env.get("AWS_ENDPOINT_URL_LAMBDA") or env.get("AWS_ENDPOINT_URL")
    if not url:
        return None
    parts = urlparse(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
        raise TargetError(f"AWS endpoint {url!r} is not an https URL",
                          hint="the credentials must not travel in clear text")
    return url


def _code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _error(ctx: TargetContext, region: str, exc: Any) -> TargetError:
    code = _code(exc)
    hint = "retrying is safe: layer versions already published are found and kept"
    if code in ("AccessDeniedException", "UnrecognizedClientException",
                "InvalidSignatureException", "ExpiredTokenException"):
        hint = ("the role needs lambda:PublishLayerVersion, lambda:AddLayerVersionPermission, "
                "lambda:GetLayerVersion, lambda:GetLayerVersionPolicy and "
                "lambda:ListLayerVersions on the layer")
    return TargetError(f"{ctx.key}: AWS Lambda in {region} answered {code or exc}", hint=hint)


def _call(ctx: TargetContext, region: str, fn: Any, **kwargs: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = fn(**kwargs)
    except ClientError as exc:
        raise _error(ctx, region, exc) from None
    except BotoCoreError as exc:
        raise TargetError(f"{ctx.key}: cannot reach AWS Lambda in {region}: {exc}",
                          hint="retrying is safe") from None
    return dict(answer)


def _list_versions(ctx: TargetContext, lam: Any, region: str, name: str) -> list[dict[str, Any]]:
    from botocore.exceptions import ClientError

    out: list[dict[str, Any]] = []
    marker: str | None = None
    for _page in range(MAX_PAGES):
        kwargs: dict[str, Any] = {"LayerName": name, "MaxItems": 50}
        if marker:
            kwargs["Marker"] = marker
        try:
            answer = lam.list_layer_versions(**kwargs)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return out
            raise _error(ctx, region, exc) from None
        out.extend(answer.get("LayerVersions") or [])
        marker = answer.get("NextMarker")
        if not marker:
            break
    return out


def _is_public(ctx: TargetContext, lam: Any, region: str, name: str, version: int) -> bool:
    import json

    from botocore.exceptions import ClientError

    try:
        answer = lam.get_layer_version_policy(LayerName=name, VersionNumber=version)
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            return False
        raise _error(ctx, region, exc) from None
    try:
        policy = json.loads(answer.get("Policy") or "{}")
    except ValueError:
        return False
    statements = policy.get("Statement") or []
    return any(s.get("Principal") in ("*", {"AWS": "*"}) and s.get("Effect") == "Allow"
               and s.get("Action") in ("lambda:GetLayerVersion", ["lambda:GetLayerVersion"])
               for s in statements if isinstance(s, dict))
