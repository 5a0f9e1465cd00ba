"""docker target against two real registries (Debian's docker-registry), through skopeo."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.oci_images import delete_manifest, inspect, push_image
from tests.unit.targets.ctx import make_ctx
from valet.config import Config, TargetConfig
from valet.errors import ConflictError, TargetError
from valet.sandbox.cloud import ContainerRegistry
from valet.targets.base import State, TargetContext
from valet.targets.docker import DockerTarget, resolve_images

pytestmark = pytest.mark.sandbox

SHA = "c0ffee" + "0" * 34


def _digest(raw: bytes | None) -> str | None:
    return None if raw is None else "sha256:" + hashlib.sha256(raw).hexdigest()


def _name() -> str:
    return f"acme/app-{uuid.uuid4().hex[:8]}"


def _ctx(tmp_path: Path, regs: tuple[ContainerRegistry, ContainerRegistry], name: str, *,
         version: str = "1.2.3", target_format: str | None = None, target_id: str | None = None,
         approve: bool = True) -> TargetContext:
    src, dst = regs
    options: dict[str, Any] = {"source": f"{src.host}/{name}", "target": f"{dst.host}/{name}"}
    if target_format:
        options["target_format"] = target_format
    env = {**src.env(), **dst.env()}
    ctx = make_ctx(tmp_path, [], name="docker", version=version, options=options, env=env,
                   sha=SHA, target_id=target_id)
    if approve:
        # What the request side records: the digest the source tag points at now.
        ctx.request.images = resolve_images(ctx.config, version, SHA, env)
    return ctx


def test_copies_a_multi_platform_index_by_digest_then_finds_it_done(
        tmp_path: Path, container_registries: tuple[ContainerRegistry, ContainerRegistry]) -> None:
    src, dst = container_registries
    name = _name()
    pushed = push_image(src, tmp_path, f"{name}:{SHA}", "v1", arches=("amd64", "arm64"))
    ctx = _ctx(tmp_path, container_registries, name)
    assert ctx.request.images == [{"id": "docker", "source": f"{src.host}/{name}:{SHA}",
                                   "digest": pushed}]
    target = DockerTarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT

    receipt = target.publish(ctx)
    assert receipt.extra == {"image": f"{dst.host}/{name}:1.2.3", "digest": pushed,
                             "source": f"{src.host}/{name}:{SHA}"}
    # Read back with skopeo: the index itself, byte for byte, and every platform it lists.
    raw = inspect(dst, tmp_path, f"{name}:1.2.3")
    assert _digest(raw) == pushed
    assert raw is not None
    index = json.loads(raw)
    assert len(index["manifests"]) == 2
    for child in index["manifests"]:
        assert _digest(inspect(dst, tmp_path, f"{name}@{child['digest']}")) == child["digest"]

    again = target.status(ctx)
    assert again.state is State.PUBLISHED and again.receipt is not None
    assert again.receipt.detail == f"already there: {dst.host}/{name}:1.2.3 @ {pushed}"
    assert target.publish(ctx).detail.startswith("already there")  # a second run copies nothing
    # No login file is left behind in the scratch dir.
    assert not list(ctx.workdir.glob("auth-*.json"))


def test_other_image_under_the_version_tag_is_a_conflict(
        tmp_path: Path, container_registries: tuple[ContainerRegistry, ContainerRegistry]) -> None:
    src, dst = container_registries
    name = _name()
    push_image(src, tmp_path, f"{name}:{SHA}", "ours")
    theirs = push_image(dst, tmp_path, f"{name}:1.2.3", "someone else's")
    ctx = _ctx(tmp_path, container_registries, name)
    target = DockerTarget()
    target.preflight(ctx)
    status = target.status(ctx)
    assert status.state is State.CONFLICT and "already exists" in status.detail
    with pytest.raises(ConflictError):
        target.publish(ctx)
    assert _digest(inspect(dst, tmp_path, f"{name}:1.2.3")) == theirs


def test_latest_moves_to_the_approved_image(
        tmp_path: Path, container_registries: tuple[ContainerRegistry, ContainerRegistry]) -> None:
    src, dst = container_registries
    name = _name()
    ours = push_image(src, tmp_path, f"{name}:{SHA}", "new")
    push_image(dst, tmp_path, f"{name}:latest", "previous release")
    ctx = _ctx(tmp_path, container_registries, name, target_format="{{{target}}}:latest",
               target_id="latest")
    target = DockerTarget()
    status = target.status(ctx)
    assert status.state is State.ABSENT and "moves it" in status.detail
    target.publish(ctx)
    assert _digest(inspect(dst, tmp_path, f"{name}:latest")) == ours
    assert target.status(ctx).state is State.PUBLISHED


def test_source_tag_moved_after_approval_ships_the_approved_image(
        tmp_path: Path, container_registries: tuple[ContainerRegistry, ContainerRegistry],
        capsys: pytest.CaptureFixture[str]) -> None:
    src, dst = container_registries
    name = _name()
    approved = push_image(src, tmp_path, f"{name}:{SHA}", "approved")
    ctx = _ctx(tmp_path, container_registries, name)
    moved = push_image(src, tmp_path, f"{name}:{SHA}", "pushed after the approval")
    assert moved != approved
    target = DockerTarget()
    capsys.readouterr()
    target.preflight(ctx)
    assert f"points at {moved} now, not at the approved {approved}" in capsys.readouterr().err
    target.publish(ctx)
    assert _digest(inspect(dst, tmp_path, f"{name}:1.2.3")) == approved


def test_source_tag_moved_and_approved_image_gone_is_refused(
        tmp_path: Path, container_registries: tuple[ContainerRegistry, ContainerRegistry]) -> None:
    src, dst = container_registries
    name = _name()
    approved = push_image(src, tmp_path, f"{name}:{SHA}", "approved")
    ctx = _ctx(tmp_path, container_registries, name)
    push_image(src, tmp_path, f"{name}:{SHA}", "pushed after the approval")
    delete_manifest(src, tmp_path, name, approved)
    target = DockerTarget()
    with pytest.raises(TargetError, match="no longer in the source registry"):
        target.preflight(ctx)
    # publish on its own (no preflight) cannot ship the moved tag either
    with pytest.raises(TargetError, match="failed"):
        target.publish(ctx)
    assert inspect(dst, tmp_path, f"{name}:1.2.3") is None


def test_request_names_another_source_than_the_config_is_refused(
        tmp_path: Path, container_registries: tuple[ContainerRegistry, ContainerRegistry]) -> None:
    src, _dst = container_registries
    name = _name()
    push_image(src, tmp_path, f"{name}:{SHA}", "x")
    ctx = _ctx(tmp_path, container_registries, name)
    ctx.request.images = [{**ctx.request.images[0], "source": f"{src.host}/evil:{SHA}"}]
    with pytest.raises(TargetError, match="the configuration on the merge target names"):
        DockerTarget().preflight(ctx)


def test_wrong_destination_password_fails_with_a_hint(
        tmp_path: Path, container_registries: tuple[ContainerRegistry, ContainerRegistry]) -> None:
    src, dst = container_registries
    name = _name()
    push_image(src, tmp_path, f"{name}:{SHA}", "x")
    ctx = _ctx(tmp_path, container_registries, name)
    prefix = next(k for k in dst.env() if k.endswith("_PASSWORD"))
    ctx.env = {**ctx.env, prefix: "wrong"}  # type: ignore[misc]
    with pytest.raises(TargetError) as info:
        DockerTarget().status(ctx)
    assert "refused" in info.value.message and info.value.hint
    assert "wrong" not in info.value.message


def test_resolve_images_reports_a_missing_source(
        tmp_path: Path, container_registries: tuple[ContainerRegistry, ContainerRegistry]) -> None:
    src, dst = container_registries
    config = Config(targets=[TargetConfig("docker", options={
        "source": f"{src.host}/acme/never-pushed", "target": f"{dst.host}/acme/never-pushed"})])
    with pytest.raises(TargetError, match="does not exist"):
        resolve_images(config, "1.0.0", SHA, {**src.env(), "PATH": __import__("os").environ["PATH"]})


def test_the_request_records_the_source_digest_and_publish_copies_it(
        tmp_path: Path, container_registries: tuple[ContainerRegistry, ContainerRegistry],
        sandbox_env: Any, gh_repo_factory: Any, gh_client: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from valet.cli import main
    from valet.issue_format import parse_issue

    src, dst = container_registries
    name = _name()
    pushed = push_image(src, tmp_path, f"{name}:{SHA}", "requested")
    sdk = gh_repo_factory({"README.md": "sdk\n"}, prefix="sdk")
    publish_repo = f"{sdk.owner}/publish"
    sandbox_env.admin.create_repo(publish_repo, files={"README.md": "publish\n"})
    project = tmp_path / "project"
    project.mkdir()
    (project / ".valet.yml").write_text(
        f"targets:\n  - name: docker\n    source: {src.host}/{name}\n"
        f"    target: {dst.host}/{name}\nartifacts: []\n")
    monkeypatch.chdir(project)
    for key, value in {"GITHUB_REPOSITORY": sdk.full_name, "GITHUB_ACTOR": sdk.owner,
                       "GITHUB_TOKEN": sdk.token, **src.env()}.items():
        monkeypatch.setenv(key, value)
    # `artifacts: []`: the release ships images only, so no artifacts directory
    assert main(["request", "--version", "1.2.3", "--sha", SHA]) == 0

    issue = next(iter(gh_client(sdk.token).get_repo(publish_repo).get_issues()))
    request = parse_issue(issue.title, issue.body)
    assert request.images == [{"id": "docker", "source": f"{src.host}/{name}:{SHA}",
                               "digest": pushed}]
    # The source tag moves after the approval; publish ships what the issue approved.
    push_image(src, tmp_path, f"{name}:{SHA}", "pushed after the approval")
    ctx = _ctx(tmp_path, container_registries, name, approve=False)
    ctx.request.images = request.images
    DockerTarget().preflight(ctx)
    DockerTarget().publish(ctx)
    assert _digest(inspect(dst, tmp_path, f"{name}:1.2.3")) == pushed
