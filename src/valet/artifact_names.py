"""Which version a package file's name carries, for wheels, sdists, npm tarballs and crates.

A file left over from an earlier build (a gitignored ``dist/`` still holding
0.26.0 when 0.26.3 is released) must never reach a manifest. The file names
of the four package formats say their version, so a name that carries another
version than the release's is refused before anything is uploaded. Names of
other files (checksums, binaries, docs archives) are not checked: they follow
no convention.

Pure functions only: a name in, a version (or None) out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from valet.errors import ArtifactError

# <name>-<version>.<ext>: the version starts with a digit after the last '-' that
# is followed by one (npm pack, cargo package, sdists all name files this way).
_TAIL = {
    ".tar.gz": "sdist",
    ".tgz": "npm tarball",
    ".crate": "crate",
}
_VERSIONISH = re.compile(r"-(\d+(?:\.\d+)+[0-9A-Za-z.+_-]*)$")


def kind_of(name: str) -> str | None:
    """"wheel", "sdist", "npm tarball", "crate", or None for any other file."""
    if name.endswith(".whl"):
        return "wheel"
    for ext, kind in _TAIL.items():
        if name.endswith(ext):
            return kind
    return None


def version_in_name(name: str) -> str | None:
    """The version a package file name carries, or None when it names none.

    A wheel's version is its second dash-separated field (PEP 427); the others
    end in ``-<version><ext>``. A name in which no version can be found is
    not a package file valet knows, and carries none.
    """
    kind = kind_of(name)
    if kind == "wheel":
        parts = name[: -len(".whl")].split("-")
        return parts[1] if len(parts) in (5, 6) and parts[1][:1].isdigit() else None
    if kind is None:
        return None
    stem = name[: -len(next(ext for ext in _TAIL if name.endswith(ext)))]
    match = _VERSIONISH.search(stem)
    return match.group(1) if match else None


def _pep440(version: str) -> str | None:
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:  # pragma: no cover - packaging is in the runtime lock
        return None
    try:
        return str(Version(version))
    except InvalidVersion:
        return None


def same_version(found: str, version: str) -> bool:
    """Does the version in a file name stand for ``version``?

    Python tools normalise versions (1.2.3-rc.1 becomes 1.2.3rc1) and wheels
    write ``_`` for ``-``, so both are compared as PEP 440 versions when they
    parse as such; npm and cargo keep the semantic version as it is.
    """
    if found == version or found.replace("_", "-") == version:
        return True
    a, b = _pep440(found.replace("_", "-")), _pep440(version)
    return a is not None and a == b


def check_versions(names: Iterable[str], version: str) -> None:
    """Refuse any wheel, sdist, npm tarball or crate whose name carries another version."""
    wrong = []
    for name in sorted(names):
        found = version_in_name(name)
        if found is not None and not same_version(found, version):
            wrong.append(f"{name} ({kind_of(name)} of version {found})")
    if wrong:
        raise ArtifactError(
            f"{len(wrong)} artifact(s) carry another version than the release {version}: "
            + ", ".join(wrong),
            hint=f"only files built for {version} may ship: a file left from an earlier build "
            "is the usual cause; valet builds into a fresh directory, so check that the build "
            "itself writes this version (the version files of the release commit) and that the "
            "`artifacts` globs do not reach other files",
        )
