"""A whole `valet publish` run (the GitHub sandbox: approval, config from the protected
merge target, tick, merge, close) with real docker, gcs and aws-lambda-layer targets
against the real local services."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.helpers import identify, labeled, open_request, two_apps
from tests.sandbox.oci_images import delete_manifest, inspect, push_image
from tests.unit.publish.fakes import FakeStore
from valet import github_client
from valet.authz import parse_policy
from valet.config_load import parse_config
from valet.issue_format import parse_issue
from valet.manifest import Artifact
from valet.publish import Deps, Publisher, Settings
from valet.publish_api import IssueAPI, Rest, SdkAPI
from valet.request import Request, TargetState
from valet.targets import get_target
from valet.targets.docker import resolve_images

pytestmark = pytest.mark.sandbox

if importlib.util.find_spec("valet.sandbox.routes.issues") is None:  # pragma: no cover
    pytest.skip("the sandbox has no issues routes", allow_module_level=True)

BRANCH = "release/1.2.3"
LOOPBACK = "127.0.0.1:*"  # the emulators' hosts (fake-gcs-server, moto), in valet-publish.yml


def _scene(sb: Any, gh_repo_factory: Any, user_factory: Any, config: str,
           images: Any, artifacts: list[Artifact], policy: str) -> dict[str, Any]:
    """``policy``: the entry of valet-publish.yml for the SDK repo (SDK stands for its name)."""
    approver, requester = user_factory("approver"), user_factory("requester")
    sdk = gh_repo_factory({".valet.yml": config, "README.md": "sdk"}, prefix="sdk")
    publish = gh_repo_factory({"README.md": "publish", "valet-publish.yml":
                               policy.replace("SDK", sdk.full_name)}, prefix="publish")
    sb.admin.protect_branch(sdk.full_name, "main")
    for user, perm in ((approver, "maintain"), (requester, "triage")):
        sb.admin.set_permission(publish.full_name, user.login, perm)
    repo = sdk.gh()
    sha = repo.get_branch("main").commit.sha
    repo.create_git_ref(f"refs/heads/{BRANCH}", sha)
    sb.admin.set_ci(sdk.full_name, sha, check_runs=[
        {"name": "tests", "status": "completed", "conclusion": "success"}])
    keys = [t.key for t in parse_config(config, ".valet.yml").targets]
    request = Request(repo=sdk.full_name, version="1.2.3", requested_by=requester.login,
                      sha=sha, branch=BRANCH, artifacts=artifacts, release_id=1,
                      targets=[TargetState(k) for k in keys])
    request.images = images(parse_config(config, ".valet.yml"), sha)
    request_app, publish_app = two_apps(sb, sdk.full_name, publish.full_name)
    number = open_request(sb, request, publish=publish, request_app=request_app,
                          requester=requester.login, head=sha)
    return {"sb": sb, "sdk": sdk, "publish": publish, "approver": approver,
            "requester": requester, "number": number, "sha": sha,
            "request_app": request_app, "publish_app": publish_app}


def _approve(s: dict[str, Any], env: dict[str, str], tmp_path: Path, store: FakeStore) -> int:
    who, publish = s["approver"], s["publish"]
    event = labeled(publish, s["number"], who)
    gh = github_client.connect(s["publish_app"].token)
    sdk_gh = github_client.connect(s["sdk"].token)
    settings = Settings(publish_repo=publish.full_name, policy=parse_policy(who.login),
                        workdir=tmp_path / "runner", env={"PATH": os.environ["PATH"], **env})
    issues = IssueAPI(Rest(gh), publish.full_name)
    deps = Deps(issues=issues, sdk=lambda repo: SdkAPI(Rest(sdk_gh), repo),
                store=lambda req, cfg: store, resolve=get_target, sdk_github=sdk_gh,
                identify=identify(issues, s["request_app"]))
    return Publisher(settings, deps).handle(event)


def _issue(s: dict[str, Any]) -> Any:
    return s["publish"].gh(s["requester"].token).get_issue(s["number"])


def test_an_approved_release_reaches_the_registry_bucket_and_lambda(
        tmp_path: Path, sandbox_env: Any, gh_repo_factory: Any, sandbox_user_factory: Any,
        container_registries: Any, gcs_server: Any, moto_server: Any) -> None:
    src, dst = container_registries
    name, bucket, layer = (f"acme/app-{uuid.uuid4().hex[:8]}", f"valet-{uuid.uuid4().hex[:10]}",
                           f"Acme{uuid.uuid4().hex[:8]}")
    gcs_server.client().create_bucket(bucket)
    content = {"sdk.min.js": b"console.log(1);", "acme-lambda-1.2.3.zip": b"PK\x05\x06" + b"\0" * 18}
    store = FakeStore()
    store.content = content
    arts = [Artifact(n, len(b), hashlib.sha256(b).hexdigest()) for n, b in sorted(content.items())]
    config = (f"targets:\n  - name: docker\n    source: {src.host}/{name}\n"
              f"    target: {dst.host}/{name}\n"
              f"  - name: gcs\n    bucket: {bucket}\n    include_names: \\.js$\n"
              "    paths: /sdk/{{version}}/\n"
              f"  - name: aws-lambda-layer\n    layer_name: {layer}\n    license: MIT\n"
              "    compatible_runtimes: [{name: node, versions: [nodejs20.x]}]\n"
              "    regions: [us-east-1]\nartifacts: []\n")
    pushed: dict[str, str] = {}

    def images(cfg: Any, sha: str) -> Any:
        pushed["digest"] = push_image(src, tmp_path, f"{name}:{sha}", "release", arches=("amd64", "arm64"))
        return resolve_images(cfg, "1.2.3", sha, src.env())

    policy = (f"repos:\n  SDK:\n    targets: [docker, gcs, aws-lambda-layer]\n"
              f"    packages:\n      docker: [\"{dst.host}/{name}\"]\n"
              f"      aws-lambda-layer: [{layer}]\n"
              f"    buckets:\n      gcs: [\"gs://{bucket}\"]\n"
              f"hosts:\n  docker: [\"{dst.host}\"]\n  gcs: [\"{LOOPBACK}\"]\n"
              f"  aws-lambda-layer: [\"{LOOPBACK}\"]\n")
    s = _scene(sandbox_env, gh_repo_factory, sandbox_user_factory, config, images, arts,
               policy)
    env = {**src.env(), **dst.env(), **gcs_server.env(), **moto_server.env()}
    assert _approve(s, env, tmp_path, store) == 0

    issue = _issue(s)
    assert issue.state == "closed" and {x.name for x in issue.labels} == {"published"}
    assert {t.id: t.checked for t in parse_issue(issue.title, issue.body).targets} == {
        "docker": True, "gcs": True, "aws-lambda-layer": True}
    raw = inspect(dst, tmp_path, f"{name}:1.2.3")
    assert raw is not None and "sha256:" + hashlib.sha256(raw).hexdigest() == pushed["digest"]
    blob = gcs_server.client().bucket(bucket).get_blob("sdk/1.2.3/sdk.min.js")
    assert blob.download_as_bytes() == content["sdk.min.js"]
    import boto3

    lam = boto3.client("lambda", region_name="us-east-1", endpoint_url=moto_server.url,
                       aws_access_key_id="x", aws_secret_access_key="y")
    assert [v["Description"] for v in lam.list_layer_versions(LayerName=layer)["LayerVersions"]] \
        == [f"{layer} 1.2.3"]


def test_a_deleted_approved_image_stops_the_whole_release_before_any_upload(
        tmp_path: Path, sandbox_env: Any, gh_repo_factory: Any, sandbox_user_factory: Any,
        container_registries: Any, gcs_server: Any) -> None:
    src, dst = container_registries
    name, bucket = f"acme/app-{uuid.uuid4().hex[:8]}", f"valet-{uuid.uuid4().hex[:10]}"
    gcs_server.client().create_bucket(bucket)
    store = FakeStore()
    store.content = {"sdk.min.js": b"console.log(1);"}
    arts = [Artifact("sdk.min.js", 15, hashlib.sha256(b"console.log(1);").hexdigest())]
    config = (f"targets:\n  - name: docker\n    source: {src.host}/{name}\n"
              f"    target: {dst.host}/{name}\n"
              f"  - name: gcs\n    bucket: {bucket}\n    paths: /sdk/{{{{version}}}}/\n"
              "artifacts: []\n")
    approved: dict[str, str] = {}

    def images(cfg: Any, sha: str) -> Any:
        approved["digest"] = push_image(src, tmp_path, f"{name}:{sha}", "approved")
        approved["sha"] = sha
        return resolve_images(cfg, "1.2.3", sha, src.env())

    policy = (f"repos:\n  SDK:\n    targets: [docker, gcs]\n"
              f"    packages:\n      docker: [\"{dst.host}/{name}\"]\n"
              f"    buckets:\n      gcs: [\"gs://{bucket}\"]\n"
              f"hosts:\n  docker: [\"{dst.host}\"]\n  gcs: [\"{LOOPBACK}\"]\n")
    s = _scene(sandbox_env, gh_repo_factory, sandbox_user_factory, config, images, arts,
               policy)
    # After the approval the tag is pushed again and the approved image deleted.
    push_image(src, tmp_path, f"{name}:{approved['sha']}", "swapped")
    delete_manifest(src, tmp_path, name, approved["digest"])
    env = {**src.env(), **dst.env(), **gcs_server.env()}
    _approve(s, env, tmp_path, store)

    issue = _issue(s)
    assert issue.state == "open" and "published" not in {x.name for x in issue.labels}
    assert not any(t.checked for t in parse_issue(issue.title, issue.body).targets)
    assert any("no longer in the source registry" in c.body for c in issue.get_comments())
    assert inspect(dst, tmp_path, f"{name}:1.2.3") is None
    assert list(gcs_server.client().bucket(bucket).list_blobs()) == []  # nothing half-way


def test_sentry_clis_docker_targets_with_spaced_ids_publish_and_tick(
        tmp_path: Path, sandbox_env: Any, gh_repo_factory: Any, sandbox_user_factory: Any,
        container_registries: Any) -> None:
    """`id: Docker Hub (release)` / `(latest)` as sentry-cli's .craft.yml has them: the issue
    line `docker[Docker Hub (release)]`, each target its own workdir, both ticked."""
    src, dst = container_registries
    name = f"getsentry/cli-{uuid.uuid4().hex[:8]}"
    config = (f"targets:\n"
              f"  - name: docker\n    id: Docker Hub (release)\n    source: {src.host}/{name}\n"
              f"    target: {dst.host}/{name}\n"
              f"  - name: docker\n    id: Docker Hub (latest)\n    source: {src.host}/{name}\n"
              f"    target: {dst.host}/{name}\n    target_format: '{{{{{{target}}}}}}:latest'\n"
              "artifacts: []\n")
    pushed: dict[str, str] = {}

    def images(cfg: Any, sha: str) -> Any:
        pushed["digest"] = push_image(src, tmp_path, f"{name}:{sha}", "cli")
        return resolve_images(cfg, "1.2.3", sha, src.env())

    policy = (f"repos:\n  SDK:\n    targets: [docker]\n"
              f"    packages:\n      docker: [\"{dst.host}/{name}\"]\n"
              f"hosts:\n  docker: [\"{dst.host}\"]\n")
    s = _scene(sandbox_env, gh_repo_factory, sandbox_user_factory, config, images, [], policy)
    body = _issue(s).body
    assert " - [ ] docker[Docker Hub (release)]" in body.splitlines()
    assert _approve(s, {**src.env(), **dst.env()}, tmp_path, FakeStore()) == 0
    issue = _issue(s)
    assert issue.state == "closed"
    assert {t.id: t.checked for t in parse_issue(issue.title, issue.body).targets} == {
        "docker[Docker Hub (release)]": True, "docker[Docker Hub (latest)]": True}
    for tag in ("1.2.3", "latest"):
        raw = inspect(dst, tmp_path, f"{name}:{tag}")
        assert raw is not None and "sha256:" + hashlib.sha256(raw).hexdigest() == pushed["digest"]
    work = sorted(p.name for p in (tmp_path / "runner" / f"valet-{s['number']}" / "work").iterdir())
    assert len(work) == 2 and all(w.startswith("docker_Docker_Hub__") for w in work)
