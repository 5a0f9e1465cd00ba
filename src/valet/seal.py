"""The run seal: the release run's own word that it wrote a request.

Anyone holding the request App's token can open or rewrite a request naming any
release run, also one that someone else started and that is running right now.
What they cannot do is add an artifact to that run: only the run's own runtime
token uploads to it. So the request job writes ``valet-request.json`` (which
publish repository, which issue, which release, and the digest of the body it
wrote) and uploads it as the run's artifact ``valet-request``; publish reads it
back from the run the request names and refuses a request that run did not write.

The digest covers the body with every box of its Targets list unticked
(``issue_format.without_ticks``): the publish App ticks boxes as targets ship.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass
from typing import Any

ARTIFACT = "valet-request"  # the workflow artifact's name
FILE = "valet-request.json"  # the one file inside it
KIND = "valet-request/1"
MAX_BYTES = 64 * 1024  # a seal is a few hundred bytes; anything far larger is not one
_SHA = frozenset("0123456789abcdef")


class SealError(ValueError):
    """The seal is not one valet wrote (wrong shape, extra or missing fields)."""


@dataclass(frozen=True)
class Seal:
    publish_repo: str
    issue: int
    repo: str
    version: str
    sha: str
    body_sha256: str

    def dumps(self) -> str:
        return json.dumps({"kind": KIND, **asdict(self)}, sort_keys=True, indent=2) + "\n"

    def zipped(self) -> bytes:
        """The artifact as upload-artifact would store it: one file at the zip's root."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(FILE, self.dumps())
        return buf.getvalue()


def body_digest(body: str) -> str:
    """sha256 of ``body`` with its Targets boxes unticked (as is, when it has none), its
    line ends as LF: GitHub stores a body edited in its web editor with CRLF line ends,
    and a person ticking a box there must not break the seal."""
    from valet.issue_format import without_ticks

    body = body.replace("\r\n", "\n")
    text = without_ticks(body)
    return hashlib.sha256((body if text is None else text).encode("utf-8")).hexdigest()


def make(publish_repo: str, issue: int, request: Any, body: str) -> Seal:
    """The seal of the request ``request`` (a valet.request.Request) opened as ``issue``
    of ``publish_repo`` with ``body``."""
    return Seal(publish_repo=publish_repo, issue=int(issue), repo=request.repo,
                version=request.version, sha=str(request.sha or "").lower(),
                body_sha256=body_digest(body))


def loads(data: bytes) -> Seal:
    """A seal from its JSON, strictly: exactly valet's fields, each of its type."""
    if len(data) > MAX_BYTES:
        raise SealError(f"{FILE} is {len(data)} bytes, not a seal")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SealError(f"{FILE} is not JSON: {exc}") from None
    fields = {"kind", "publish_repo", "issue", "repo", "version", "sha", "body_sha256"}
    if not isinstance(raw, dict) or set(raw) != fields:
        raise SealError(f"{FILE} does not hold exactly the fields {sorted(fields)}")
    if raw["kind"] != KIND:
        raise SealError(f"{FILE} is of kind {raw['kind']!r}, not {KIND!r}")
    if not isinstance(raw["issue"], int) or isinstance(raw["issue"], bool) or raw["issue"] < 1:
        raise SealError(f"{FILE} names no issue number")
    for key in ("publish_repo", "repo", "version", "sha", "body_sha256"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise SealError(f"{FILE} holds no {key}")
    for key, size in (("sha", 40), ("body_sha256", 64)):
        if len(raw[key]) != size or not set(raw[key]) <= _SHA:
            raise SealError(f"{FILE} holds a {key} that is not {size} lowercase hex digits")
    return Seal(publish_repo=raw["publish_repo"], issue=raw["issue"], repo=raw["repo"],
                version=raw["version"], sha=raw["sha"], body_sha256=raw["body_sha256"])


def from_zip(data: bytes) -> Seal:
    """The seal inside the artifact's zip: exactly one file, ``valet-request.json``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if [i.filename for i in infos] != [FILE]:
                raise SealError(f"the artifact holds {[i.filename for i in infos]}, not "
                                f"only {FILE}")
            if infos[0].file_size > MAX_BYTES:
                raise SealError(f"{FILE} is {infos[0].file_size} bytes, not a seal")
            return loads(zf.read(infos[0]))
    except zipfile.BadZipFile as exc:
        raise SealError(f"the artifact is not a zip: {exc}") from None


def named(artifacts: Any) -> list[dict[str, Any]]:
    """Of a run's artifacts (GitHub's list), its seals, expired ones too."""
    return [a for a in artifacts if isinstance(a, dict) and a.get("name") == ARTIFACT] \
        if isinstance(artifacts, list) else []


def newest(artifacts: Any) -> dict[str, Any] | None:
    """Of a run's artifacts (GitHub's list), the newest unexpired seal: with
    ``overwrite: true`` there is one; should there be more, the run's last word counts."""
    found = [a for a in named(artifacts)
             if not a.get("expired") and isinstance(a.get("id"), int)]
    return max(found, key=lambda a: (str(a.get("created_at") or ""), int(a["id"]))) \
        if found else None


def mismatch(seal: Seal, expected: Seal) -> str | None:
    """What ``seal`` says otherwise than ``expected`` (None: it is the same request)."""
    for key in ("publish_repo", "issue", "repo", "version", "sha", "body_sha256"):
        got, want = getattr(seal, key), getattr(expected, key)
        same = got.lower() == want.lower() if key in ("publish_repo", "repo") else got == want
        if not same:
            what = {"body_sha256": "the body's digest", "issue": "the issue",
                    "publish_repo": "the publish repository", "repo": "the SDK repository",
                    "version": "the version", "sha": "the release commit"}[key]
            return f"its seal names {what} {got}, this request {want}"
    return None
