"""The github target's `checksums` option writes a digest table into the notes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.unit.targets.ctx import make_ctx
from valet.targets.github import CHECKSUMS_MARKER, with_checksums


def _files(tmp_path: Path) -> list[Path]:
    a = tmp_path / "pkg-1.2.3.tar.gz"
    a.write_bytes(b"sdist bytes")
    b = tmp_path / "pkg-1.2.3-py3-none-any.whl"
    b.write_bytes(b"wheel bytes" * 1000)
    return [a, b]


def test_no_option_leaves_the_notes_alone(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, _files(tmp_path), name="github")
    assert with_checksums(ctx, "## 1.2.3\n- fix") == "## 1.2.3\n- fix"


def test_table_lists_every_file_with_each_algorithm(tmp_path: Path) -> None:
    files = _files(tmp_path)
    ctx = make_ctx(tmp_path, files, name="github", options={"checksums": ["sha256", "sha512"]})
    body = with_checksums(ctx, "## 1.2.3\n- fix")
    assert body.startswith("## 1.2.3\n- fix\n\n" + CHECKSUMS_MARKER)
    for f in files:
        data = f.read_bytes()
        line = next(x for x in body.splitlines() if f"`{f.name}`" in x)
        assert hashlib.sha256(data).hexdigest() in line
        assert hashlib.sha512(data).hexdigest() in line


def test_sha256_comes_from_the_approved_manifest(tmp_path: Path) -> None:
    files = _files(tmp_path)
    ctx = make_ctx(tmp_path, files, name="github", options={"checksums": ["sha256"]})
    # The approved digest is what the notes show, never a re-read of the file.
    name = files[0].name
    approved = ctx.artifacts[name]
    ctx.artifacts[name] = type(approved)(name=name, size=approved.size, sha256="f" * 64)
    assert "f" * 64 in with_checksums(ctx, "")


def test_applying_twice_adds_one_table(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, _files(tmp_path), name="github", options={"checksums": ["sha256"]})
    once = with_checksums(ctx, "notes")
    assert with_checksums(ctx, once) == once
    assert once.count("### Checksums") == 1
