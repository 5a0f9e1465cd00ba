"""A release that could not land on its merge target is refused before anything is published."""

from __future__ import annotations

from valet.errors import MergeConflictError

from .fakes import BUMP, CONFIG, SHA
from .test_publisher import World

BASE_OF_RELEASE = "b" * 40


def _diverged(w: World, ours: list[str], theirs: list[str]) -> None:
    """main moved since the release was cut: ``ours`` changed on the release (each the
    version bumped in it, as prepare does), ``theirs`` on main."""
    w.sdk.diverged[("main", SHA)] = {
        "status": "diverged", "ahead_by": 1, "behind_by": 2, "total_commits": 1,
        "merge_base_commit": {"sha": BASE_OF_RELEASE},
        "commits": [{"sha": SHA, "parents": [{"sha": BASE_OF_RELEASE}]}],
        "files": [{"filename": f, "status": "modified", "patch": BUMP} for f in ours]}
    # the changelog is prepare's to write
    w.sdk.files[("main", ".valet.yml")] = CONFIG + "changelog_policy: auto\n"
    w.sdk.diverged[(BASE_OF_RELEASE, "main")] = {
        "status": "ahead", "ahead_by": 2, "behind_by": 0,
        "files": [{"filename": f, "status": "modified"} for f in theirs]}


def test_two_releases_cut_from_one_main_the_second_is_refused_before_any_download(tmp_path):
    w = World(tmp_path)
    _diverged(w, ours=["CHANGELOG.md", "pyproject.toml"], theirs=["CHANGELOG.md", "pyproject.toml",
                                                                   "README.md"])
    assert w.label() == MergeConflictError.exit_code
    assert w.reg.calls == [] and w.store.downloads == 0 and w.sdk.merges == []
    assert w.labels == {"failed"}
    comment = w.comments[-1]
    assert "CHANGELOG.md, pyproject.toml" in comment and "could not be merged" in comment
    assert "run the release workflow again from the current main" in comment


def test_a_main_that_moved_elsewhere_still_merges(tmp_path):
    w = World(tmp_path)
    _diverged(w, ours=["CHANGELOG.md"], theirs=["src/feature.py", "docs/usage.md"])
    assert w.label() == 0
    assert w.sdk.merges == [("main", SHA)] and w.labels == {"published"}


def test_a_release_ahead_of_main_costs_one_compare(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0
    assert [c for c in w.sdk.compares if c[0] == "main"] == [("main", SHA)]
    assert w.labels == {"published"}


def test_a_renamed_file_counts_on_both_sides(tmp_path):
    w = World(tmp_path)
    _diverged(w, ours=["CHANGELOG.md"], theirs=[])
    w.sdk.diverged[(BASE_OF_RELEASE, "main")]["files"] = [
        {"filename": "HISTORY.md", "previous_filename": "CHANGELOG.md", "status": "renamed"}]
    assert w.label() == MergeConflictError.exit_code
    assert w.reg.calls == []
