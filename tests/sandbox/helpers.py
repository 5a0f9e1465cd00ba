"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env=None)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def git_rc(cwd: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def clone(url: str, dest: Path) -> Path:
    git(dest.parent, "clone", "-q", url, str(dest))
    return dest


def commit_file(repo: Path, path: str, content: str, message: str) -> str:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def tagged_sdk_clone(sandbox: Any, gh_repo_factory: Any, dest: Path,
                     files: dict[str, str]) -> tuple[Any, Path]:
    """An SDK repo on the sandbox tagged 1.2.3 plus `feat: add a` and `fix: repair b`,
    cloned to ``dest`` with a token-free origin URL (the token reaches git only
    through env, as in the prepare action)."""
    repo = gh_repo_factory(files)
    git(dest.parent, "clone", "-q", repo.clone_url, str(dest))
    git(dest, "config", "user.name", "dev")
    git(dest, "config", "user.email", "dev@valet.invalid")
    git(dest, "tag", "1.2.3")
    for name, msg in (("a.txt", "feat: add a"), ("b.txt", "fix: repair b")):
        (dest / name).write_text(name)
        git(dest, "add", name)
        git(dest, "commit", "-q", "-m", msg)
    git(dest, "push", "-q", "origin", "main", "--tags")
    git(dest, "remote", "set-url", "origin", sandbox.git_url(repo.full_name))
    return repo, dest


def two_apps(sb: Any, sdk: str, publish: str) -> tuple[Any, Any]:
    """The request App (writes the SDK repo, opens issues) and the publish App, as
    SandboxUsers of their bots."""
    from tests.fixtures.sandbox import SandboxUser

    name = publish.split("/")[1]
    request = SandboxUser(f"{name}-request[bot]", sb.admin.create_app(
        f"{name}-request", repos=[sdk], permission="write"))
    sb.admin.set_permission(publish, request.login, "triage")
    pub = SandboxUser(f"{name}-publish[bot]", sb.admin.create_app(
        f"{name}-publish", repos=[sdk, publish], permission="admin"))
    return request, pub


def open_request(sb: Any, request: Any, *, publish: Any, request_app: Any, requester: str,
                 head: str) -> int:
    """What release.yml does: a workflow_dispatch run by ``requester`` on ``head`` opens
    the request (its run_id in the hidden block) as the request App, seals it, then ends."""
    from valet.issue_format import render_body

    run = sb.admin.create_run(request.repo, path=".github/workflows/release.yml",
                              event="workflow_dispatch", actor=requester, head_sha=head,
                              head_branch="main")
    request.run_id = run["id"]
    body = render_body(request, server_url=sb.server_url)
    number = int(publish.gh(request_app.token).create_issue(request.title, body).number)
    # the request job's upload of its seal (valet.seal), before the run ends
    sb.admin.seal_request(publish.full_name, number, request, body)
    sb.admin.finish_run(request.repo, run["id"], "success")
    return number


def labeled(publish: Any, number: int, who: Any, label: str = "accepted") -> Any:
    """``who`` adds ``label`` to issue ``number`` of ``publish`` (a sandbox repo), and the
    `issues` `labeled` event GitHub sends for it, parsed as the publish job parses it."""
    from valet.events import parse_event

    publish.gh(who.token).get_issue(number).add_to_labels(label)
    issue = publish.gh(who.token).get_issue(number)
    return parse_event("issues", {
        "action": "labeled", "label": {"name": label},
        "issue": {"number": number, "title": issue.title, "body": issue.body,
                  "state": issue.state, "labels": [{"name": x.name} for x in issue.labels]},
        "repository": {"full_name": publish.full_name},
        "sender": {"login": who.login, "type": "User"}})


def identify(issues: Any, request_app: Any) -> Any:
    """Deps.identify for a publish run in-process: the token's bot and the request App."""
    from valet.publish.identity import learn

    return lambda: learn(issues, app_slug=None, request_app=request_app.login[: -len("[bot]")])


# What an SDK repository holds before its release 1.2.3: valet prepare's release commit
# bumps the version in it (``bump``), which is all publish lets a release commit change.
PYPROJECT = '[project]\nname = "pkg"\nversion = "1.2.2"\n'


def bump(repo: Any, branch: str, path: str = "pyproject.toml", version: str = "1.2.3",
         old: str = "1.2.2") -> str:
    """The release commit prepare makes on ``branch`` (a PyGithub repository): the version
    in ``path`` from ``old`` to ``version``, nothing else. Its sha."""
    current = repo.get_contents(path, ref=branch)
    text = current.decoded_content.decode().replace(old, version)
    return str(repo.update_file(path, f"release: {version}", text, current.sha,
                                branch=branch)["commit"].sha)
