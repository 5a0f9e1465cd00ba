"""archive.extract_flat: a workflow artifact's zip unpacked flat, every hole refused."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from valet.archive import extract_flat
from valet.errors import ArtifactError


def zipped(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """members: (name, data, unix mode incl. file type, or 0)"""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode:
                info.create_system = 3
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def test_files_land_by_base_name_in_a_new_directory(tmp_path: Path) -> None:
    z = zipped(tmp_path / "a.zip", [("pkg-1.0.tgz", b"t", 0), ("sub/pkg-1.0.whl", b"w", 0),
                                    ("sub/", b"", stat.S_IFDIR | 0o755)])
    out = extract_flat(z, tmp_path / "out")
    assert sorted(out) == ["pkg-1.0.tgz", "pkg-1.0.whl"]
    assert (tmp_path / "out" / "pkg-1.0.whl").read_bytes() == b"w"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pkg-1.0.tgz", "pkg-1.0.whl"]


@pytest.mark.parametrize(("name", "why"), [
    ("../evil.whl", "climbs out"),
    ("/etc/evil.whl", "absolute"),
    ("C:/evil.whl", "absolute"),
    ("a\\..\\evil.whl", "backslash"),
    ("x/.git/config", ".git"),
])
def test_unsafe_paths_are_refused_and_nothing_is_written(tmp_path: Path, name: str,
                                                         why: str) -> None:
    z = zipped(tmp_path / "a.zip", [("ok.txt", b"ok", 0), (name, b"x", 0)])
    with pytest.raises(ArtifactError, match=why):
        extract_flat(z, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.whl").exists()


def test_symlinks_and_special_files_are_refused(tmp_path: Path) -> None:
    link = zipped(tmp_path / "l.zip", [("pkg.whl", b"/etc/passwd", stat.S_IFLNK | 0o777)])
    with pytest.raises(ArtifactError, match="symlink, not a regular file"):
        extract_flat(link, tmp_path / "out")
    fifo = zipped(tmp_path / "f.zip", [("pkg.whl", b"", stat.S_IFIFO | 0o644)])
    with pytest.raises(ArtifactError, match="not a regular file"):
        extract_flat(fifo, tmp_path / "out2")


def test_two_files_of_one_name_are_refused(tmp_path: Path) -> None:
    z = zipped(tmp_path / "a.zip", [("linux/sentry-cli", b"1", 0), ("mac/sentry-cli", b"2", 0)])
    with pytest.raises(ArtifactError, match="same file name 'sentry-cli'"):
        extract_flat(z, tmp_path / "out")


def test_the_size_limit_counts_the_bytes_written(tmp_path: Path) -> None:
    z = zipped(tmp_path / "a.zip", [("a.bin", b"\0" * 5000, 0), ("b.bin", b"\0" * 5000, 0)])
    with pytest.raises(ArtifactError, match="unpacks to more than"):
        extract_flat(z, tmp_path / "out", max_bytes=8000)
    assert extract_flat(z, tmp_path / "out2", max_bytes=10_000).keys() == {"a.bin", "b.bin"}


def test_the_file_count_limit(tmp_path: Path) -> None:
    z = zipped(tmp_path / "a.zip", [(f"f{i}", b"x", 0) for i in range(4)])
    with pytest.raises(ArtifactError, match="more than the limit of 3"):
        extract_flat(z, tmp_path / "out", max_entries=3)


def test_a_broken_zip_is_an_artifact_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ArtifactError):
        extract_flat(bad, tmp_path / "out")
    z = zipped(tmp_path / "crc.zip", [("a.bin", b"hello world" * 100, 0)])
    raw = bytearray(z.read_bytes())
    raw[60] ^= 0xFF  # inside the compressed data: a CRC or inflate error when read
    z.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="cannot"):
        extract_flat(z, tmp_path / "out3")
