"""Read a zip or tar archive as a list of safe entries, without extracting it.

The git targets turn an approved archive (docs, a Unity package, a Deno
tarball) into the content of a branch. Nothing is written to disk from the
archive: each member becomes an ``Entry`` (path, bytes, executable bit, or a
symlink's target) that is streamed straight into git objects. That removes the
classic extraction holes, and the checks below refuse what a branch must not
hold:

- paths: relative, ``/``-separated, no ``..``, no empty or absolute parts, no
  drive letters or backslashes, no ``.git`` component;
- symlinks: relative, and pointing inside the archive's own tree;
- hard links: only to a regular file earlier in the same archive;
- devices, FIFOs and other special members: refused;
- the same path twice, or a path that is both a file and a directory: refused;
- at most ``max_entries`` files and ``max_bytes`` uncompressed bytes, counted
  while reading (a forged size field does not get past it).

``strip_components`` drops that many leading directories (members with fewer
parts are dropped, as ``tar --strip-components`` does); ``flatten`` drops the
single top-level directory when every member lies inside one.

One function does extract: :func:`extract_flat`, for the zip of a workflow
artifact, whose files the request side needs on disk to hash and upload. It
takes regular files only, by base name into a new directory it creates, with
the same path checks and limits, streaming each member (nothing is held in
memory whole).
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from valet.errors import ArtifactError

MAX_BYTES = 1024 * 1024 * 1024  # 1 GiB uncompressed
MAX_ENTRIES = 100_000
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    path: str  # relative, '/'-separated, validated
    data: bytes  # the file's bytes, or a symlink's target
    executable: bool = False
    symlink: bool = False

    @property
    def mode(self) -> str:
        """The git file mode of this entry."""
        return "120000" if self.symlink else ("100755" if self.executable else "100644")


@dataclass(frozen=True)
class _Member:
    name: str
    kind: str  # file | dir | symlink | hardlink | other
    executable: bool
    link: str = ""  # symlink target, or the member a hard link points at


def read_archive(path: Path, *, strip_components: int = 0, flatten: bool = False,
                 max_bytes: int = MAX_BYTES, max_entries: int = MAX_ENTRIES) -> list[Entry]:
    """The archive's files as entries (sorted by path); ArtifactError on anything unsafe."""
    label = path.name
    if zipfile.is_zipfile(path):
        reader: _Reader = _ZipReader(path)
    else:
        try:
            is_tar = tarfile.is_tarfile(path)
        except OSError as exc:
            raise ArtifactError(f"{label}: cannot read the archive ({exc})") from None
        if not is_tar:
            raise ArtifactError(f"{label} is neither a zip nor a tar archive",
                                hint="ship the content as .zip, .tar, .tgz or .tar.gz")
        reader = _TarReader(path)
    with reader:
        members = reader.members()
        if len(members) > max_entries:
            raise ArtifactError(f"{label} holds {len(members)} members, more than "
                                f"the limit of {max_entries}")
        plan = _place(label, members, strip_components, flatten)
        entries: list[Entry] = []
        total = 0
        by_member = {m.name: m for m in members}
        for member, dest in plan:
            if member.kind == "symlink":
                target = member.link
                _check_link(label, dest, target)
                entries.append(Entry(dest, target.encode("utf-8"), symlink=True))
                continue
            source = member
            if member.kind == "hardlink":
                linked = by_member.get(member.link)
                if linked is None or linked.kind != "file":
                    raise ArtifactError(f"{label}: {member.name} is a hard link to "
                                        f"{member.link!r}, which is not a file of the archive")
                source = linked
            data = reader.read(source.name, max_bytes - total + 1)
            total += len(data)
            if total > max_bytes:
                raise ArtifactError(f"{label} unpacks to more than {max_bytes // (1024 * 1024)} "
                                    "MiB", hint="ship a smaller archive")
            entries.append(Entry(dest, data, executable=source.executable))
    return sorted(entries, key=lambda e: e.path)


def extract_flat(path: Path, dest: Path, *, max_bytes: int = MAX_BYTES,
                 max_entries: int = MAX_ENTRIES) -> dict[str, Path]:
    """Unpack the zip ``path`` into the new directory ``dest``, each file under its base
    name (upload-artifact keeps the paths below the uploaded directory; a release is a
    flat list of files): base name -> path. Refused, as ArtifactError: anything but
    regular files and directories, unsafe paths, two files with one base name, more
    than ``max_entries`` files or ``max_bytes`` bytes (counted while writing)."""
    label = path.name
    reader = _ZipReader(path)
    with reader:
        members = reader.members()
        files = [m for m in members if m.kind != "dir"]
        if len(files) > max_entries:
            raise ArtifactError(f"{label} holds {len(files)} files, more than the limit of "
                                f"{max_entries}")
        by_base: dict[str, str] = {}
        for m in files:
            if m.kind != "file":
                raise ArtifactError(f"{label}: {m.name!r} is a {m.kind}, not a regular file",
                                    hint="upload regular files only (upload-artifact follows "
                                    "symbolic links when it zips)")
            base = clean_path(label, m.name).rsplit("/", 1)[-1]
            if not base:
                raise ArtifactError(f"{label}: member {m.name!r} has no file name")
            if base in by_base:
                raise ArtifactError(f"{label}: {by_base[base]!r} and {m.name!r} have the same "
                                    f"file name {base!r}",
                                    hint="a release is a flat list of files: give each file "
                                    "of the artifact its own name")
            by_base[base] = m.name
        dest.mkdir(parents=False, exist_ok=False)
        out: dict[str, Path] = {}
        total = 0
        for base, name in sorted(by_base.items()):
            target = dest / base
            try:
                # "xb": a new file, never an existing one or the target of a link
                with reader.open(name) as src, open(target, "xb") as fh:
                    while True:
                        block = src.read(_CHUNK)
                        if not block:
                            break
                        total += len(block)
                        if total > max_bytes:
                            raise ArtifactError(
                                f"{label} unpacks to more than {max_bytes // (1024 * 1024)} "
                                "MiB", hint="upload smaller artifacts")
                        fh.write(block)
                    os.fchmod(fh.fileno(), 0o644)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                raise ArtifactError(f"{label}: cannot unpack {name} ({exc})") from None
            out[base] = target
    return out


def clean_path(label: str, name: str) -> str:
    """A member name as a safe relative path (directories keep no trailing slash)."""
    if "\\" in name or "\0" in name:
        raise ArtifactError(f"{label}: member {name!r} has a backslash or NUL in its name")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArtifactError(f"{label}: member {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    for part in parts:
        if part == "..":
            raise ArtifactError(f"{label}: member {name!r} climbs out of the archive (..)")
        if part.lower() == ".git":
            raise ArtifactError(f"{label}: member {name!r} is inside a .git directory")
        if any(ord(c) < 0x20 for c in part):
            raise ArtifactError(f"{label}: member {name!r} has control characters in its name")
    return "/".join(parts)


def _check_link(label: str, path: str, target: str) -> None:
    if not target or target.startswith("/") or "\\" in target or "\0" in target:
        raise ArtifactError(f"{label}: symlink {path} -> {target!r} is not a relative link")
    depth = len(PurePosixPath(path).parent.parts)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                raise ArtifactError(f"{label}: symlink {path} -> {target} points outside the "
                                    "archive")
        elif part.lower() == ".git":
            raise ArtifactError(f"{label}: symlink {path} -> {target} points into .git")
        else:
            depth += 1


def _place(label: str, members: list[_Member], strip: int,
           flatten: bool) -> list[tuple[_Member, str]]:
    """Where each member lands: (member, path), checked for clashes."""
    cleaned: list[tuple[_Member, list[str]]] = []
    for m in members:
        if m.kind == "other":
            raise ArtifactError(f"{label}: member {m.name!r} is a device, FIFO or other "
                                "special file")
        parts = [p for p in clean_path(label, m.name).split("/") if p]
        if len(parts) <= strip:
            continue
        cleaned.append((m, parts[strip:]))
    if flatten:
        tops = {parts[0] for _m, parts in cleaned}
        nested = all(len(parts) > 1 or m.kind == "dir" for m, parts in cleaned)
        if len(tops) == 1 and nested and any(m.kind != "dir" for m, _p in cleaned):
            cleaned = [(m, parts[1:]) for m, parts in cleaned if len(parts) > 1]
    out: list[tuple[_Member, str]] = []
    files: set[str] = set()
    dirs: set[str] = set()
    for m, parts in cleaned:
        if m.kind == "dir":
            continue
        dest = "/".join(parts)
        if dest in files:
            raise ArtifactError(f"{label}: {dest} appears twice in the archive")
        files.add(dest)
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
        out.append((m, dest))
    clash = sorted(files & dirs)
    if clash:
        raise ArtifactError(f"{label}: {clash[0]} is both a file and a directory")
    return out


class _Reader:
    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def members(self) -> list[_Member]:
        raise NotImplementedError

    def read(self, name: str, limit: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _read_limited(fh: IO[bytes], limit: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        block = fh.read(min(_CHUNK, limit - got))
        if not block:
            break
        chunks.append(block)
        got += len(block)
    return b"".join(chunks)


class _ZipReader(_Reader):
    def __init__(self, path: Path) -> None:
        self.label = path.name
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ArtifactError(f"{self.label}: not a readable zip ({exc})") from None
        self.infos = {i.filename: i for i in self.zf.infolist()}

    def members(self) -> list[_Member]:
        out = []
        for info in self.zf.infolist():
            unix = info.external_attr >> 16 if info.create_system == 3 else 0
            kind_bits = stat.S_IFMT(unix)  # 0: many tools store permission bits only
            if info.is_dir() or kind_bits == stat.S_IFDIR:
                kind = "dir"
            elif kind_bits == stat.S_IFLNK:
                kind = "symlink"
            elif kind_bits not in (0, stat.S_IFREG):
                kind = "other"
            else:
                kind = "file"
            link = ""
            if kind == "symlink":
                link = self.read(info.filename, 4097).decode("utf-8", "replace")
            out.append(_Member(info.filename, kind, bool(unix & 0o100), link))
        return out

    def read(self, name: str, limit: int) -> bytes:
        try:
            with self.zf.open(self.infos[name]) as fh:
                return _read_limited(fh, limit)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise ArtifactError(f"{self.label}: cannot read {name} ({exc})") from None

    def open(self, name: str) -> IO[bytes]:
        """A member as a stream (its read errors are the caller's to turn into words)."""
        try:
            return self.zf.open(self.infos[name])
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise ArtifactError(f"{self.label}: cannot read {name} ({exc})") from None

    def close(self) -> None:
        self.zf.close()


class _TarReader(_Reader):
    def __init__(self, path: Path) -> None:
        self.label = path.name
        try:
            self.tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by close()
            self.infos = {}
            for info in self.tar.getmembers():
                self.infos[info.name] = info
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ArtifactError(f"{self.label}: not a readable tar archive ({exc})") from None

    def members(self) -> list[_Member]:
        out = []
        for info in self.tar.getmembers():
            if info.isdir():
                kind, link = "dir", ""
            elif info.issym():
                kind, link = "symlink", info.linkname
            elif info.islnk():
                kind, link = "hardlink", info.linkname
            elif info.isreg():
                kind, link = "file", ""
            else:
                kind, link = "other", ""
            out.append(_Member(info.name, kind, bool(info.mode & 0o100), link))
        return out

    def read(self, name: str, limit: int) -> bytes:
        try:
            fh = self.tar.extractfile(self.infos[name])
            if fh is None:
                raise ArtifactError(f"{self.label}: cannot read {name}")
            with fh:
                return _read_limited(fh, limit)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ArtifactError(f"{self.label}: cannot read {name} ({exc})") from None

    def close(self) -> None:
        self.tar.close()

