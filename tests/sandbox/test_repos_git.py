"""Repos, branches, tags, refs, contents, commits, compare and merges, on real git."""

from __future__ import annotations

import base64

import github
import pytest
import requests

from tests.sandbox.helpers import clone, commit_file, git, git_rc

pytestmark = pytest.mark.sandbox


def test_repo_and_user(sandbox, gh_repo_factory, gh_client):
    repo = gh_repo_factory({"README.md": "hello\n"})
    gh = gh_client(repo.token)
    assert gh.get_user().login == repo.owner
    r = gh.get_repo(repo.full_name)
    assert r.full_name == repo.full_name
    assert r.default_branch == "main"
    assert r.permissions.admin is True
    assert r.clone_url == f"{sandbox.server_url}/{repo.full_name}.git"
    assert gh.get_user(repo.owner).type == "User"


def test_clone_push_and_api_reflects_it(tmp_path, gh_repo_factory):
    repo = gh_repo_factory({"a.txt": "one\n"})
    work = clone(repo.clone_url, tmp_path / "w")
    assert (work / "a.txt").read_text() == "one\n"
    sha = commit_file(work, "b.txt", "two\n", "add b")
    git(work, "push", "-q", "origin", "HEAD:main", "HEAD:refs/heads/feature")
    git(work, "tag", "v1.0.0")
    git(work, "push", "-q", "origin", "v1.0.0")
    r = repo.gh()
    assert r.get_branch("main").commit.sha == sha
    assert sorted(b.name for b in r.get_branches()) == ["feature", "main"]
    assert [t.name for t in r.get_tags()] == ["v1.0.0"]
    assert r.get_git_ref("tags/v1.0.0").object.sha == sha
    assert r.get_contents("b.txt", ref="feature").decoded_content == b"two\n"
    commit = r.get_commit(sha)
    assert commit.commit.message == "add b"
    assert [f.filename for f in commit.files] == ["b.txt"]
    assert [c.sha for c in r.get_commits(path="a.txt")] == [commit.parents[0].sha]


def test_push_needs_write_and_private_repo_hides(tmp_path, gh_repo_factory, sandbox_user_factory,
                                                 sandbox):
    repo = gh_repo_factory({"a.txt": "x"})
    reader = sandbox_user_factory("reader")
    work = clone(sandbox.git_url(repo.full_name, reader.token), tmp_path / "w")
    commit_file(work, "c.txt", "c", "c")
    rc, out = git_rc(work, "push", "origin", "HEAD:main")
    assert rc != 0 and "403" in out
    sandbox.admin.set_permission(repo.full_name, reader.login, "write")
    git(work, "push", "-q", "origin", "HEAD:main")

    private = gh_repo_factory({"s.txt": "secret"}, private=True)
    rc, out = git_rc(tmp_path, "clone", sandbox.git_url(private.full_name, reader.token), "p")
    assert rc != 0 and "not found" in out.lower()
    with pytest.raises(github.UnknownObjectException):
        private.gh(reader.token).get_contents("s.txt")
    bad = requests.get(f"{sandbox.api_url}/repos/{private.full_name}",
                       headers={"Authorization": "token nope"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"


def test_write_refused_for_read_only(gh_repo_factory, sandbox_user_factory, sandbox):
    repo = gh_repo_factory({"a.txt": "x"})
    reader = sandbox_user_factory("reader")
    sandbox.admin.set_permission(repo.full_name, reader.login, "read")
    r = repo.gh(reader.token)
    with pytest.raises(github.GithubException) as exc:
        r.create_file("b.txt", "b", "b")
    assert exc.value.status == 403
    bot = sandbox.admin.create_app(f"app-{repo.name}")
    with pytest.raises(github.GithubException) as exc:
        repo.gh(bot).create_git_ref("refs/heads/x", r.get_branch("main").commit.sha)
    assert exc.value.status == 403
    assert exc.value.data["message"] == "Resource not accessible by integration"


def test_refs_create_update_force_delete(gh_repo_factory):
    repo = gh_repo_factory({"a.txt": "1"})
    r = repo.gh()
    base = r.get_branch("main").commit.sha
    ref = r.create_git_ref("refs/heads/rel/1.0", base)
    assert ref.ref == "refs/heads/rel/1.0"
    with pytest.raises(github.GithubException) as exc:
        r.create_git_ref("refs/heads/rel/1.0", base)
    assert exc.value.status == 422
    new = r.create_file("b.txt", "b", "b", branch="main")["commit"].sha
    ref.edit(new)
    assert r.get_git_ref("heads/rel/1.0").object.sha == new
    with pytest.raises(github.GithubException) as exc:
        ref.edit(base)  # not a fast-forward
    assert exc.value.status == 422
    ref.edit(base, force=True)
    assert r.get_git_ref("heads/rel/1.0").object.sha == base
    assert [x.ref for x in r.get_git_matching_refs("heads/rel")] == ["refs/heads/rel/1.0"]
    ref.delete()
    with pytest.raises(github.UnknownObjectException):
        r.get_git_ref("heads/rel/1.0").object  # noqa: B018 (lazy object: fetch it)
    assert r.get_git_commit(base).sha == base


def test_contents_put_sha_checks(gh_repo_factory):
    repo = gh_repo_factory({"a.txt": "1"})
    r = repo.gh()
    created = r.create_file("dir/new.txt", "create", "hello")
    assert created["content"].path == "dir/new.txt"
    with pytest.raises(github.GithubException) as exc:
        r.create_file("dir/new.txt", "again", "x")  # exists, no sha
    assert exc.value.status == 422
    with pytest.raises(github.GithubException) as exc:
        r.update_file("dir/new.txt", "bad sha", "x", "0" * 40)
    assert exc.value.status == 409
    updated = r.update_file("dir/new.txt", "update", "world", created["content"].sha)
    got = r.get_contents("dir/new.txt")
    assert base64.b64decode(got.content) == b"world"
    assert updated["commit"].sha == r.get_branch("main").commit.sha
    assert [c.name for c in r.get_contents("dir")] == ["new.txt"]


def test_compare_statuses(gh_repo_factory):
    repo = gh_repo_factory({"a.txt": "1"})
    r = repo.gh()
    base = r.get_branch("main").commit.sha
    r.create_git_ref("refs/heads/side", base)
    assert r.compare("main", "side").status == "identical"
    r.create_file("s.txt", "side", "s", branch="side")
    cmp = r.compare("main", "side")
    assert (cmp.status, cmp.ahead_by, cmp.behind_by) == ("ahead", 1, 0)
    assert [f.filename for f in cmp.files] == ["s.txt"]
    r.create_file("m.txt", "main", "m", branch="main")
    assert r.compare("main", "side").status == "diverged"
    assert r.compare("side", "main~1").status == "behind"


def test_merge_is_a_real_merge_commit(tmp_path, gh_repo_factory):
    repo = gh_repo_factory({"a.txt": "1\n"})
    r = repo.gh()
    base = r.get_branch("main").commit.sha
    r.create_git_ref("refs/heads/release/1.0", base)
    r.create_file("CHANGES", "changes", "1.0\n", branch="release/1.0")
    merge = r.merge("main", "release/1.0", "Merge release/1.0")
    assert merge is not None and len(merge.parents) == 2
    assert r.merge("main", "release/1.0") is None  # 204: nothing to merge
    work = clone(repo.clone_url, tmp_path / "w")
    log = git(work, "log", "--format=%H %P %s", "-1")
    assert log.split() == [merge.sha, base, r.get_branch("release/1.0").commit.sha,
                           "Merge", "release/1.0"]
    assert (work / "CHANGES").read_text() == "1.0\n"
    # A conflict answers 409 and leaves main alone.
    r.create_git_ref("refs/heads/c1", merge.sha)
    r.update_file("a.txt", "main", "main\n", r.get_contents("a.txt").sha, branch="main")
    r.update_file("a.txt", "c1", "c1\n", r.get_contents("a.txt", ref="c1").sha, branch="c1")
    head = r.get_branch("main").commit.sha
    with pytest.raises(github.GithubException) as exc:
        r.merge("main", "c1")
    assert exc.value.status == 409
    assert r.get_branch("main").commit.sha == head
    with pytest.raises(github.GithubException) as exc:
        r.merge("main", "nope")
    assert exc.value.status == 404


def test_errors_have_github_bodies(sandbox, gh_repo_factory):
    repo = gh_repo_factory()
    h = {"Authorization": f"Bearer {repo.token}"}
    missing = requests.get(f"{sandbox.api_url}/repos/{repo.full_name}/branches/nope", headers=h,
                           timeout=10)
    assert missing.status_code == 404
    assert set(missing.json()) >= {"message", "documentation_url"}
    assert int(missing.headers["X-RateLimit-Limit"]) == 5000
    bad = requests.post(f"{sandbox.api_url}/repos/{repo.full_name}/git/refs", headers=h,
                        json={"ref": "refs/heads/x", "sha": "zz"}, timeout=10)
    assert bad.status_code == 422
    assert bad.json()["message"] == "Validation Failed" and bad.json()["errors"]
