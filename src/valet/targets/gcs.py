"""`gcs`: upload the approved files to a Google Cloud Storage bucket.

Each file goes to every ``paths[].path`` (placeholders ``{{version}}`` and
``{{revision}}``, the release commit) as ``<path>/<file name>``, with that
path's ``metadata`` (default ``cacheControl: public, max-age=300``, craft's).
The bytes are stored as approved -- no gzip content-encoding -- so the bucket's
own md5 and crc32c of each object are checked against ours, computed from the
verified file, without downloading anything.

A path naming the version or the commit is written once: an object there with
other content is a conflict, and uploads carry ``ifGenerationMatch=0`` so a
racing writer cannot be overwritten either. A path without them (``latest/``)
is replaced by each release.

Credentials, first found: ``CRAFT_GCS_TARGET_CREDS_JSON`` (the JSON of a
service-account key or of a workload identity federation config),
``CRAFT_GCS_TARGET_CREDS_PATH`` (a file holding it; ``CRAFT_GCS_CREDENTIALS_*``,
craft's older names, too), ``GOOGLE_APPLICATION_CREDENTIALS`` (what
google-github-actions/auth sets). ``STORAGE_EMULATOR_HOST`` points the client at
an emulator, without credentials. The client library is imported only here, when
a gcs target runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import quote, urlparse

from valet import gha
from valet.errors import ConfigError, ConflictError, TargetError
from valet.targets.base import (
    Destination,
    Receipt,
    State,
    StatusResult,
    TargetContext,
    select_files,
)
from valet.template import check, render, variables

NAME = "gcs"
API_HOST = "storage.googleapis.com"
DEFAULT_METADATA = {"cacheControl": "public, max-age=300"}
# craft passes `metadata` to the client as object fields; these are the ones that
# describe how a file is served (anything else is refused, not silently dropped).
METADATA_FIELDS = {"cacheControl": "cache_control", "contentType": "content_type",
                   "contentDisposition": "content_disposition",
                   "contentLanguage": "content_language"}
CREDENTIAL_JSON_VARS = ("CRAFT_GCS_TARGET_CREDS_JSON", "CRAFT_GCS_CREDENTIALS_JSON")
CREDENTIAL_PATH_VARS = ("CRAFT_GCS_TARGET_CREDS_PATH", "CRAFT_GCS_CREDENTIALS_PATH",
                        "GOOGLE_APPLICATION_CREDENTIALS")
_SCOPES = ("https://www.googleapis.com/auth/devstorage.read_write",)
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._~@+=-]+$")
_VARS = frozenset({"version", "revision"})
TIMEOUT = 120


# -- the configuration, read purely ---------------------------------------------


@dataclass(frozen=True)
class PathSpec:
    template: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def moves(self) -> bool:
        """A path without the version or commit in it is replaced by each release."""
        return not (_VARS & variables(self.template))


def bucket_of(options: Mapping[str, Any], where: str) -> str:
    bucket = options.get("bucket")
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise ConfigError(f"{where}: bucket {bucket!r} is not a bucket name",
                          hint="set `bucket:` to the bucket's name, without gs://")
    return bucket


def paths_of(options: Mapping[str, Any], where: str) -> list[PathSpec]:
    raw = options.get("paths")
    if isinstance(raw, str):
        raw = [{"path": raw}]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: `paths` must list at least one destination path",
                          hint="for example:\n    paths:\n      - path: /sdk/{{version}}/\n"
                               "        metadata:\n          cacheControl: public, max-age=300")
    out: list[PathSpec] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            raise ConfigError(f"{where}: paths[{i}] must be an object with a `path`")
        unknown = sorted(set(entry) - {"path", "metadata"})
        if unknown:
            raise ConfigError(f"{where}: paths[{i}].{unknown[0]} is not known",
                              hint="a path entry takes `path` and `metadata`")
        metadata = entry.get("metadata")
        if metadata is None:
            metadata = dict(DEFAULT_METADATA)
        if not isinstance(metadata, Mapping):
            raise ConfigError(f"{where}: paths[{i}].metadata must be an object")
        bad = sorted(k for k in metadata if k not in METADATA_FIELDS)
        if bad:
            raise ConfigError(f"{where}: paths[{i}].metadata.{bad[0]} is not supported",
                              hint="metadata takes: " + ", ".join(METADATA_FIELDS))
        if not all(isinstance(v, str) for v in metadata.values()):
            raise ConfigError(f"{where}: paths[{i}].metadata values must be strings")
        check(entry["path"], _VARS, where=f"{where}: paths[{i}].path")
        out.append(PathSpec(entry["path"], dict(metadata)))
    return out


def prefix_of(path: PathSpec, *, version: str, revision: str, where: str) -> str:
    """The object-name prefix a path template gives (no leading slash, one trailing)."""
    text = render(path.template.strip(), {"version": version, "revision": revision},
                  where=f"{where}: path")
    parts = [p for p in text.split("/") if p]
    if any(p in (".", "..") or not _SEGMENT_RE.match(p) for p in parts):
        raise ConfigError(f"{where}: path {path.template!r} gives {text!r}, which is not a "
                          "plain folder path", hint="use letters, digits and . _ - @ + = ~")
    return "".join(f"{p}/" for p in parts)


def local_hashes(path: Path) -> tuple[str, str]:
    """(md5, crc32c) of a file, base64 as GCS reports them."""
    import google_crc32c

    md5 = hashlib.md5()  # noqa: S324 - GCS's own object checksum, not a security hash
    crc = google_crc32c.Checksum()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            md5.update(block)
            crc.update(block)
    return base64.b64encode(md5.digest()).decode(), base64.b64encode(crc.digest()).decode()


def content_type(name: str, metadata: Mapping[str, str]) -> str:
    if "contentType" in metadata:
        return metadata["contentType"]
    guessed, _enc = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


# -- the target ---------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One object to hold one approved file."""

    file: str  # the artifact name
    object: str  # the object name in the bucket
    path: PathSpec


@dataclass
class Look:
    there: list[tuple[Item, int]] = field(default_factory=list)  # with our bytes (generation)
    missing: list[Item] = field(default_factory=list)
    replace: list[tuple[Item, int]] = field(default_factory=list)  # moving path, other bytes
    conflict: list[Item] = field(default_factory=list)


class GcsTarget:
    name: ClassVar[str] = NAME
    default_include: ClassVar[re.Pattern[str]] = re.compile(r".")  # every approved file
    credentials: ClassVar[tuple[str, ...]] = (*CREDENTIAL_JSON_VARS, *CREDENTIAL_PATH_VARS)

    def preflight(self, ctx: TargetContext) -> None:
        self._items(ctx)
        if not self._names(ctx):
            raise TargetError(f"{ctx.key}: no approved file for this target",
                              hint="check the target's includeNames / excludeNames")
        if not ctx.env.get("STORAGE_EMULATOR_HOST"):
            _credentials(ctx.env, ctx.key)  # raises with the set-up to add

    def status(self, ctx: TargetContext) -> StatusResult:
        look = self._look(ctx, self._bucket(ctx))
        return self._decide(ctx, look)

    def publish(self, ctx: TargetContext) -> Receipt:
        from google.api_core import exceptions

        bucket = self._bucket(ctx)
        look = self._look(ctx, bucket)
        if look.conflict:
            raise ConflictError(f"{ctx.key}: {self._decide(ctx, look).detail}",
                                hint="a versioned path is never overwritten: release a new version")
        uploads = [(item, 0) for item in look.missing] + look.replace
        for item, generation in uploads:
            blob = bucket.blob(item.object)
            md = item.path.metadata
            for key, attr in METADATA_FIELDS.items():
                if key in md and key != "contentType":
                    setattr(blob, attr, md[key])
            gha.info(f"{ctx.key}: upload {item.file} -> gs://{bucket.name}/{item.object}")
            try:
                blob.upload_from_filename(str(ctx.files[item.file]),
                                          content_type=content_type(item.file, md),
                                          if_generation_match=generation, checksum="crc32c",
                                          timeout=TIMEOUT)
            except exceptions.PreconditionFailed:
                # Someone wrote it between our look and our upload: decide by content.
                if not self._same(ctx, bucket, item):
                    raise ConflictError(f"{ctx.key}: gs://{bucket.name}/{item.object} was "
                                        "written by someone else meanwhile, with other content",
                                        hint="check who else uploads to this bucket") from None
            except exceptions.GoogleAPICallError as exc:
                raise TargetError(f"{ctx.key}: uploading {item.file} to gs://{bucket.name}/"
                                  f"{item.object} failed: {exc.message}",
                                  hint=_api_hint(exc)) from None
        after = self._look(ctx, bucket)
        if after.missing or after.replace or after.conflict:
            raise TargetError(f"{ctx.key}: after the upload the bucket does not hold every "
                              f"file as approved ({self._decide(ctx, after).detail})",
                              hint="someone else writes to these paths; check the bucket")
        return self._receipt(ctx, bucket.name, after,
                             f"uploaded {len(uploads)} object(s)" if uploads else "already there")

    def destinations(self, ctx: TargetContext) -> list[Destination]:
        bucket = bucket_of(ctx.target.options, ctx.key)
        return [Destination("host", _api_host(ctx.env)), Destination("bucket", f"gs://{bucket}")]

    # -- helpers ------------------------------------------------------------------

    def _names(self, ctx: TargetContext) -> list[str]:
        return select_files(ctx.target, self.default_include, list(ctx.files))

    def _items(self, ctx: TargetContext) -> list[Item]:
        bucket_of(ctx.target.options, ctx.key)
        items = []
        for path in paths_of(ctx.target.options, ctx.key):
            prefix = prefix_of(path, version=ctx.request.version,
                               revision=ctx.request.sha or "", where=ctx.key)
            for name in self._names(ctx):
                items.append(Item(name, prefix + PurePosixPath(name).name, path))
        return items

    def _bucket(self, ctx: TargetContext) -> Any:
        from google.cloud import storage

        emulator = ctx.env.get("STORAGE_EMULATOR_HOST")
        if emulator:
            from google.auth.credentials import AnonymousCredentials

            client = storage.Client(project="valet", credentials=AnonymousCredentials(),
                                    client_options={"api_endpoint": _endpoint(emulator)})
        else:
            creds, project = _credentials(ctx.env, ctx.key)
            client = storage.Client(project=project, credentials=creds)
        return client.bucket(bucket_of(ctx.target.options, ctx.key))

    def _look(self, ctx: TargetContext, bucket: Any) -> Look:
        from google.api_core import exceptions

        ours = {n: local_hashes(ctx.files[n]) for n in self._names(ctx)}
        look = Look()
        for item in self._items(ctx):
            try:
                blob = bucket.get_blob(item.object, timeout=TIMEOUT)
            except exceptions.GoogleAPICallError as exc:
                raise TargetError(f"{ctx.key}: cannot read gs://{bucket.name}/{item.object}: "
                                  f"{exc.message}", hint=_api_hint(exc)) from None
            if blob is None:
                look.missing.append(item)
            elif (blob.md5_hash, blob.crc32c) == ours[item.file] or (
                    blob.md5_hash is None and blob.crc32c == ours[item.file][1]):
                look.there.append((item, int(blob.generation)))
            elif item.path.moves:
                look.replace.append((item, int(blob.generation)))
            else:
                look.conflict.append(item)
        return look

    def _same(self, ctx: TargetContext, bucket: Any, item: Item) -> bool:
        blob = bucket.get_blob(item.object, timeout=TIMEOUT)
        return blob is not None and blob.crc32c == local_hashes(ctx.files[item.file])[1]

    def _decide(self, ctx: TargetContext, look: Look) -> StatusResult:
        bucket = bucket_of(ctx.target.options, ctx.key)
        if look.conflict:
            shown = ", ".join(f"gs://{bucket}/{i.object}" for i in look.conflict[:5])
            return StatusResult(State.CONFLICT, f"already uploaded with other content: {shown}")
        if not look.missing and not look.replace:
            return StatusResult(State.PUBLISHED, "every object holds the approved file",
                                receipt=self._receipt(ctx, bucket, look, "already there"))
        todo = len(look.missing) + len(look.replace)
        return StatusResult(State.ABSENT, f"{todo} of {todo + len(look.there)} object(s) to "
                            f"upload ({len(look.replace)} replacing an older release's)")

    def _receipt(self, ctx: TargetContext, bucket: str, look: Look, what: str) -> Receipt:
        objects = [{"object": f"gs://{bucket}/{item.object}", "file": item.file,
                    "generation": gen} for item, gen in look.there]
        first = look.there[0][0].object if look.there else ""
        url = (f"https://{API_HOST}/{bucket}/{quote(first)}"
               if first and not ctx.env.get("STORAGE_EMULATOR_HOST") else None)
        names = self._names(ctx)
        return Receipt(target=ctx.key, url=url,
                       digests={n: ctx.artifacts[n].sha256 for n in names if n in ctx.artifacts},
                       detail=f"{what}: {len(objects)} object(s) in gs://{bucket}",
                       extra={"bucket": bucket, "objects": objects})


def _endpoint(emulator: str) -> str:
    return emulator if "://" in emulator else f"http://{emulator}"


def _api_host(env: Mapping[str, str]) -> str:
    emulator = env.get("STORAGE_EMULATOR_HOST")
    return urlparse(_endpoint(emulator)).netloc if emulator else API_HOST


def _credentials(env: Mapping[str, str], key: str) -> tuple[Any, str | None]:
    """(credentials, project) from the environment (see the module docstring)."""
    info: dict[str, Any] | None = None
    where = ""
    for var in CREDENTIAL_JSON_VARS:
        if env.get(var):
            where = var
            try:
                info = json.loads(env[var])
            except ValueError:
                raise TargetError(f"{key}: {var} is not JSON",
                                  hint="store the key or federation config file's JSON as is") from None
            break
    if info is None:
        for var in CREDENTIAL_PATH_VARS:
            if env.get(var):
                where = f"{var} ({env[var]})"
                try:
                    info = json.loads(Path(env[var]).read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise TargetError(f"{key}: cannot read the credentials file named by {var}: "
                                      f"{exc}", hint="check the auth step before publish") from None
                break
    if info is None:
        raise TargetError(
            f"{key}: no Google Cloud credentials (GOOGLE_APPLICATION_CREDENTIALS, "
            "CRAFT_GCS_TARGET_CREDS_JSON or CRAFT_GCS_TARGET_CREDS_PATH)",
            hint="use workload identity federation: before the publish step add\n"
                 "      - uses: google-github-actions/auth@<sha>\n"
                 "        with:\n"
                 "          workload_identity_provider: projects/N/locations/global/"
                 "workloadIdentityPools/POOL/providers/PROVIDER\n"
                 "          service_account: publisher@PROJECT.iam.gserviceaccount.com\n"
                 "  (it sets GOOGLE_APPLICATION_CREDENTIALS); the job needs "
                 "`permissions: id-token: write`")
    if not isinstance(info, dict):
        raise TargetError(f"{key}: the credentials in {where} are not a JSON object")
    from google.auth import exceptions as auth_exceptions

    kind = info.get("type")
    try:
        # One loader per kind we accept (not google.auth's load-anything helper).
        if kind == "service_account":
            from google.oauth2 import service_account

            creds: Any = service_account.Credentials.from_service_account_info(
                info, scopes=list(_SCOPES))
        elif kind == "external_account" and "aws" not in str(info.get("credential_source")):
            from google.auth import identity_pool

            creds = identity_pool.Credentials.from_info(info, scopes=list(_SCOPES))
        else:
            raise TargetError(f"{key}: the credentials in {where} are of type {kind!r}",
                              hint="give a workload identity federation config (type "
                                   "external_account, from google-github-actions/auth) or a "
                                   "service-account key (type service_account)")
    except (auth_exceptions.GoogleAuthError, ValueError, KeyError) as exc:
        raise TargetError(f"{key}: the credentials in {where} are not usable: {exc}",
                          hint="a service-account key or a workload identity federation "
                               "config, as JSON") from None
    return creds, info.get("project_id") or env.get("GOOGLE_CLOUD_PROJECT")


def _api_hint(exc: Any) -> str:
    code = getattr(exc, "code", None)
    if code in (401, 403):
        return ("the credentials may not write this bucket: grant the service account "
                "roles/storage.objectAdmin (or objectCreator + objectViewer) on it")
    if code == 404:
        return "check the bucket name"
    return "retrying is safe: objects already uploaded are found and kept"
