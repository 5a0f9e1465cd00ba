"""The version a package file's name carries: wheels, sdists, npm tarballs, crates."""

from __future__ import annotations

import pytest

from valet.artifact_names import check_versions, same_version, version_in_name
from valet.errors import ArtifactError


@pytest.mark.parametrize(("name", "version"), [
    ("acme_widget-1.2.3-py3-none-any.whl", "1.2.3"),
    ("acme_widget-1.2.3-1-cp311-cp311-manylinux_2_17_x86_64.whl", "1.2.3"),
    ("acme_widget-1.2.3rc1-py3-none-any.whl", "1.2.3rc1"),
    ("acme-widget-0.26.0.tar.gz", "0.26.0"),
    ("py-2fa-1.0.tar.gz", "1.0"),
    ("acme-widget-1.0.0-rc.1.tgz", "1.0.0-rc.1"),
    ("scope-pkg-2.0.0.tgz", "2.0.0"),
    ("rust_sourcemap-9.1.2.crate", "9.1.2"),
    ("sentry-cli-Linux-x86_64", None),
    ("checksums.txt", None),
    ("docs.tar.gz", None),
    ("weird-py3-none-any.whl", None),
])
def test_version_in_name(name: str, version: str | None) -> None:
    assert version_in_name(name) == version


@pytest.mark.parametrize(("found", "release", "same"), [
    ("1.2.3", "1.2.3", True),
    ("1.2.3rc1", "1.2.3-rc.1", True),  # Python tools normalise the semver pre-release
    ("1.2.3_rc.1", "1.2.3-rc.1", True),
    ("1.2.3", "1.2.4", False),
    ("0.26.0", "0.26.3", False),
])
def test_same_version(found: str, release: str, same: bool) -> None:
    assert same_version(found, release) is same


def test_a_stale_file_is_refused_naming_it_and_the_release() -> None:
    with pytest.raises(ArtifactError) as info:
        check_versions(["acme-0.26.3.tar.gz", "acme-0.26.0.tar.gz", "acme-0.26.3.tgz",
                        "notes.txt"], "0.26.3")
    assert "acme-0.26.0.tar.gz (sdist of version 0.26.0)" in info.value.message
    assert "release 0.26.3" in info.value.message
    assert "acme-0.26.3.tgz" not in info.value.message


def test_matching_names_and_other_files_pass() -> None:
    check_versions(["acme-1.0.0rc1.tar.gz", "acme-1.0.0rc1-py3-none-any.whl",
                    "acme-1.0.0-rc.1.tgz", "acme-1.0.0-rc.1.crate", "sbom.json"], "1.0.0-rc.1")
