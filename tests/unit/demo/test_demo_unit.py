"""`valet demo` without running it: argument checks, request-log counting, digest checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from valet.cli import main
from valet.commands.demo import body_excerpt, table
from valet.sandbox.scenario import (
    RELEASE_YML,
    ScenarioResult,
    app_token_action_ref,
    count_requests,
    read_tree,
    step_names,
)


def test_bad_version_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--version", "1.0; rm -rf /"]) == 2
    assert "not a semantic version" in capsys.readouterr().err


def test_state_dir_must_be_new_or_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old").write_text("x")
    assert main(["demo", "--state", str(tmp_path)]) == 2
    assert "not a new or empty directory" in capsys.readouterr().err
    assert (tmp_path / "old").read_text() == "x"  # nothing of the user's is removed


def test_count_requests_by_kind_and_user() -> None:
    log: list[dict[str, Any]] = [
        {"path": "/repos/a/b", "kind": "api", "user": "x"},
        {"path": "/repos/a/b/releases/1/assets", "kind": "uploads", "user": "x"},
        {"path": "/a/b.git/info/refs", "kind": "git", "user": None},
        {"path": "/a/b/releases/download/1/f", "kind": "web", "user": None},
        # an older sandbox: no kind, full path
        {"path": "/api/v3/user", "user": None},
        {"path": "/a/b.git/git-receive-pack", "user": "y"},
    ]
    assert count_requests(log) == (3, 2, {"x": 2, "-anonymous": 1})


def test_app_token_ref_must_be_one_pinned_sha() -> None:
    sha = "d72941d797fd3113feb6b93fd0dec494b13a2547"
    text = f"uses: actions/create-github-app-token@{sha} # v1\n"
    assert app_token_action_ref(text * 2) == f"actions/create-github-app-token@{sha}"
    with pytest.raises(Exception, match="expected one pinned"):
        app_token_action_ref("uses: actions/create-github-app-token@v1\n")
    assert app_token_action_ref(RELEASE_YML.read_text()).endswith(sha)


def test_step_names_of_the_example_release_workflow() -> None:
    names = step_names(RELEASE_YML)
    assert names["prepare"] == "Prepare the release"
    assert names["build"] == "Build"
    assert names["request"] == "Request approval"


def test_read_tree_skips_build_leftovers(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "x.whl").write_bytes(b"w")
    (tmp_path / "src" / "p.egg-info").mkdir(parents=True)
    (tmp_path / "src" / "p.egg-info" / "PKG-INFO").write_text("m")
    (tmp_path / "src" / "p.py").write_text("v = 1\n")
    (tmp_path / ".valet.yml").write_text("targets: []\n")
    assert read_tree(tmp_path) == {".valet.yml": b"targets: []\n", "src/p.py": b"v = 1\n"}


def _result(**kw: object) -> ScenarioResult:
    r = ScenarioResult("1.0.0", "acme/sdk", "acme/publish", {})
    for key, value in kw.items():
        setattr(r, key, value)
    return r


def test_digest_mismatches_name_each_place() -> None:
    a, b = "a" * 64, "b" * 64
    manifest = {"p-1.0.0.tar.gz": a, "p-1.0.0.tgz": b}
    assets = [{"name": "p-1.0.0.tar.gz", "sha256": a, "api_digest": a},
              {"name": "p-1.0.0.tgz", "sha256": b, "api_digest": b}]
    good = _result(manifest=manifest, pypi={"p-1.0.0.tar.gz": a}, npm={"sha256": b},
                   github_release={"assets": assets})
    assert good.digest_mismatches() == []
    bad = _result(manifest=manifest, pypi={"p-1.0.0.tar.gz": b}, npm={},
                  github_release={"assets": assets[:1]})
    problems = bad.digest_mismatches()
    assert any("p-1.0.0.tar.gz: pypi has " + b in p for p in problems)
    assert any("p-1.0.0.tgz: npm has nothing" in p for p in problems)
    assert any("p-1.0.0.tgz: github has nothing" in p for p in problems)


def test_body_excerpt_stops_before_hidden_parts() -> None:
    body = ("Requested by: @dana\n\n### Targets\n - [ ] pypi\n\n### Artifacts\n| f |\n"
            "<!-- valet-request {} -->\n")
    assert body_excerpt(body) == "Requested by: @dana\n### Targets\n - [ ] pypi"
    assert body_excerpt("\n".join(f"l{i}" for i in range(30)), limit=3) == "l0\nl1\nl2\n…"


def test_table_aligns_columns() -> None:
    lines = table([["a", "long value"]], ["h1", "h2"])
    assert lines[0] == "h1  h2        " and lines[2] == "a   long value"
