"""valet.archive: an archive read as safe entries; every classic extraction hole refused."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from valet.archive import read_archive
from valet.errors import ArtifactError


def tar(path: Path, members: list[tuple[str, bytes | None, str]], *, mode: str = "w:gz") -> Path:
    """members: (name, data, kind) with kind file | exec | dir | sym:TARGET | hard:TARGET | fifo"""
    with tarfile.open(path, mode) as t:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            info.mode = 0o755 if kind == "exec" else 0o644
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind.startswith("sym:"):
                info.type, info.linkname = tarfile.SYMTYPE, kind[4:]
            elif kind.startswith("hard:"):
                info.type, info.linkname = tarfile.LNKTYPE, kind[5:]
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            if data is not None and info.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return path


def zipped(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """members: (name, data, unix mode or 0)"""
    with zipfile.ZipFile(path, "w") as z:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                info.create_system = 3
                info.external_attr = mode << 16
            z.writestr(info, data)
    return path


def paths(entries: list) -> dict[str, tuple[str, bytes]]:  # type: ignore[type-arg]
    return {e.path: (e.mode, e.data) for e in entries}


def test_a_tarball_with_strip_components(tmp_path: Path) -> None:
    arch = tar(tmp_path / "a.tgz", [("package", None, "dir"), ("package/mod.ts", b"export 1", "file"),
                                    ("package/bin/run", b"#!", "exec"), ("top.txt", b"t", "file"),
                                    ("package/link", None, "sym:mod.ts")])
    got = paths(read_archive(arch, strip_components=1))
    assert got == {"mod.ts": ("100644", b"export 1"), "bin/run": ("100755", b"#!"),
                   "link": ("120000", b"mod.ts")}  # top.txt has too few parts: dropped


def test_a_zip_flattened_when_it_holds_one_top_directory(tmp_path: Path) -> None:
    arch = zipped(tmp_path / "gh-pages.zip", [("site/", b"", 0), ("site/index.html", b"<h1>", 0),
                                              ("site/js/app.js", b"1", stat.S_IFREG | 0o755)])
    assert paths(read_archive(arch, flatten=True)) == {"index.html": ("100644", b"<h1>"),
                                                       "js/app.js": ("100755", b"1")}
    two = zipped(tmp_path / "two.zip", [("a/x", b"1", 0), ("b/y", b"2", 0)])
    assert set(paths(read_archive(two, flatten=True))) == {"a/x", "b/y"}
    loose = zipped(tmp_path / "loose.zip", [("a/x", b"1", 0), ("index.html", b"2", 0)])
    assert set(paths(read_archive(loose, flatten=True))) == {"a/x", "index.html"}


def test_a_hard_link_takes_the_linked_files_bytes(tmp_path: Path) -> None:
    arch = tar(tmp_path / "h.tar", [("a.txt", b"A", "file"), ("b.txt", None, "hard:a.txt")],
               mode="w")
    assert paths(read_archive(arch)) == {"a.txt": ("100644", b"A"), "b.txt": ("100644", b"A")}


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/etc/passwd", "C:/x", "a\\b",
                                  ".git/config", "sub/.GIT/hooks/post-checkout", "a/\x01b"])
def test_paths_out_of_the_tree_or_into_git_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ArtifactError):
        read_archive(tar(tmp_path / "t.tgz", [(name, b"x", "file")]))
    with pytest.raises(ArtifactError):
        read_archive(zipped(tmp_path / "z.zip", [(name, b"x", 0)]))


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside", "a/../../x", "../../..",
                                    ".git/config"])
def test_symlinks_out_of_the_tree_are_refused(tmp_path: Path, target: str) -> None:
    with pytest.raises(ArtifactError, match="symlink"):
        read_archive(tar(tmp_path / "t.tgz", [("l", None, f"sym:{target}")]))
    with pytest.raises(ArtifactError, match="symlink"):
        read_archive(zipped(tmp_path / "z.zip", [("l", target.encode(), stat.S_IFLNK | 0o777)]))


def test_a_symlink_out_of_the_tree_after_strip_is_refused(tmp_path: Path) -> None:
    # package/l -> ../x is inside the archive, but ../x leaves the tree once package/ is stripped
    arch = tar(tmp_path / "t.tgz", [("package/l", None, "sym:../x"), ("x", b"1", "file")])
    assert paths(read_archive(arch))["package/l"] == ("120000", b"../x")
    with pytest.raises(ArtifactError, match="outside"):
        read_archive(arch, strip_components=1)


def test_an_inner_relative_symlink_is_kept(tmp_path: Path) -> None:
    arch = tar(tmp_path / "t.tgz", [("d/l", None, "sym:../x"), ("x", b"1", "file")])
    assert paths(read_archive(arch))["d/l"] == ("120000", b"../x")


def test_special_files_duplicates_and_clashes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="special"):
        read_archive(tar(tmp_path / "f.tgz", [("p", None, "fifo")]))
    with pytest.raises(ArtifactError, match="twice"):
        read_archive(tar(tmp_path / "d.tgz", [("a", b"1", "file"), ("./a", b"2", "file")]))
    with pytest.raises(ArtifactError, match="both a file and a directory"):
        read_archive(tar(tmp_path / "c.tgz", [("a", b"1", "file"), ("a/b", b"2", "file")]))
    with pytest.raises(ArtifactError, match="hard link"):
        read_archive(tar(tmp_path / "h.tgz", [("b", None, "hard:/etc/passwd")]))


def test_size_and_count_limits_count_what_is_read(tmp_path: Path) -> None:
    big = tar(tmp_path / "big.tgz", [("a", b"x" * 5000, "file"), ("b", b"y" * 5000, "file")])
    assert len(read_archive(big, max_bytes=10_000)) == 2
    with pytest.raises(ArtifactError, match="unpacks to more than"):
        read_archive(big, max_bytes=9_999)
    with pytest.raises(ArtifactError, match="members"):
        read_archive(big, max_entries=1)
    bomb = zipped(tmp_path / "bomb.zip", [("z", b"\0" * 2_000_000, 0)])
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ArtifactError, match="unpacks to more than"):
        read_archive(bomb, max_bytes=1_000_000)


def test_not_an_archive(tmp_path: Path) -> None:
    junk = tmp_path / "x.zip"
    junk.write_bytes(b"hello")
    with pytest.raises(ArtifactError, match="neither a zip nor a tar"):
        read_archive(junk)
