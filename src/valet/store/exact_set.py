"""The draft release holds exactly the approved files, and valet's own manifest.json.

Publishing a draft makes every asset on it public, not only the ones valet
checked: a file an SDK committer added after the request (``install.sh``), a
second copy of an approved name, a half-finished upload (GitHub lists those in
state ``starter`` or ``new``), or a manifest.json that is not the one valet
wrote would go out with the approved files. So the set is checked as a whole:
every approved name once, uploaded, at its approved size and digest; besides
them only manifest.json, whose bytes follow from the request (``manifest_for``);
nothing else. Pure: the store and the ``github`` target pass what GitHub listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from valet.manifest import MANIFEST_NAME, Artifact, Manifest


@dataclass(frozen=True)
class Listed:
    """One asset as GitHub lists it."""

    name: str
    state: str
    size: int
    digest: str | None  # sha256 hex, when GitHub lists one


def listed(asset: Any) -> Listed:
    """A listed asset from GitHub's JSON (a dict) or a PyGithub asset object."""
    from valet.store import parse_digest

    get = asset.get if isinstance(asset, Mapping) else (lambda k, d=None: getattr(asset, k, d))
    size = get("size", -1)
    return Listed(name=str(get("name", "")), state=str(get("state", None) or "uploaded"),
                  size=int(size) if isinstance(size, int) else -1,
                  digest=parse_digest(get("digest", None)))


def manifest_for(version: str, artifacts: Iterable[Artifact], *, repo: str | None,
                 sha: str | None) -> Artifact:
    """The manifest.json `valet request` uploads for these approved files (what
    build_manifest makes of them: sorted by name), as an artifact to check it against."""
    data = Manifest(version=version, artifacts=tuple(sorted(artifacts, key=lambda a: a.name)),
                    repo=repo, sha=sha).dumps().encode()
    return Artifact(MANIFEST_NAME, len(data), hashlib.sha256(data).hexdigest())


@dataclass
class Problems:
    extra: list[str] = field(default_factory=list)  # not approved: "name (why)"
    missing: list[str] = field(default_factory=list)  # approved, not on the draft
    differs: list[str] = field(default_factory=list)  # approved name, other size or digest

    def __bool__(self) -> bool:
        return bool(self.extra or self.missing or self.differs)

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"it lacks {', '.join(self.missing)}")
        if self.extra:
            parts.append("it holds files that were not approved: " + ", ".join(self.extra))
        if self.differs:
            parts.append("it holds other content than approved for " + ", ".join(self.differs))
        return "; ".join(parts)

    def names(self) -> list[str]:
        return [p.split(" ", 1)[0] for p in self.extra + self.missing + self.differs]


def check(assets: Iterable[Listed], approved: Mapping[str, Artifact], *,
          required: Iterable[str] | None = None, manifest: Artifact | None = None,
          manifest_required: bool = False) -> Problems:
    """What keeps ``assets`` from being exactly the approved files.

    ``required``: the approved names that must be there (default: all of them; the
    ``github`` target uploads its own missing ones). ``manifest``: valet's manifest.json
    for the request (None: its content cannot be known here, its name and state are still
    checked). A listed digest is compared when GitHub lists one."""
    out = Problems()
    seen: set[str] = set()
    for a in sorted(assets, key=lambda x: (x.name, x.state != "uploaded")):
        art = approved.get(a.name)
        if a.name == MANIFEST_NAME:
            art = manifest
        known = art is not None or a.name == MANIFEST_NAME
        if a.state != "uploaded":
            out.extra.append(f"{a.name} (a half-finished upload, state {a.state}: it counts "
                             "as a file nobody approved)")
        elif not known:
            out.extra.append(f"{a.name} (an asset nobody approved)")
        elif a.name in seen:
            out.extra.append(f"{a.name} (a second copy)")
        elif art is not None and (a.size != art.size or (a.digest and a.digest != art.sha256)):
            if a.name == MANIFEST_NAME:
                out.extra.append(f"{a.name} (not the manifest valet uploaded for this request)")
            else:
                out.differs.append(a.name)
        if a.state == "uploaded":
            seen.add(a.name)
    want = list(approved) if required is None else list(required)
    if manifest_required:
        want.append(MANIFEST_NAME)
    out.missing = sorted(n for n in set(want) if n not in seen)
    return out
