"""registry target against a release registry on the sandbox, read back with git clone."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.git_scene import Scene, artifact, git, make_scene
from valet.errors import ConflictError
from valet.targets.base import State
from valet.targets.git_destination import RemoteRepo
from valet.targets.registry import RegistryTarget

pytestmark = pytest.mark.sandbox

SDK_DIR = "packages/npm/@acme/sdk"


@pytest.fixture
def scene(sandbox_env: Any, tmp_path: Path) -> Scene:
    return make_scene(sandbox_env, tmp_path / "scene")


def _registry(scene: Scene) -> str:
    """A registry holding npm:@acme/sdk 1.0.0 with its links, as craft leaves it."""
    full = scene.repo({"README.md": "registry\n"}, prefix="registry", default_branch="master")

    def seed(checkout: Path) -> None:
        d = checkout / SDK_DIR
        d.mkdir(parents=True)
        (d / "1.0.0.json").write_text(json.dumps({
            "canonical": "npm:@acme/sdk", "name": "Acme SDK", "version": "1.0.0",
            "package_url": "https://npmjs.com/package/@acme/sdk",
            "repo_url": "https://github.com/acme/sdk", "main_docs_url": "https://docs.acme",
            "created_at": "2020-01-01T00:00:00.000Z",
            "files": {"old.js": {"checksums": {"sha384-base64": "old"}}}}, indent=2) + "\n")
        for link in ("latest.json", "1.json", "1.0.json"):
            os.symlink("1.0.0.json", d / link)

    scene.push_change(full, "master", seed, "seed")
    return full


def _files(tmp: Path, version: str, js: bytes = b"console.log(1)") -> list[Path]:
    return [artifact(tmp, f"acme-sdk-{version}.tgz", b"npm tarball " + version.encode()),
            artifact(tmp, "bundle.min.js", js),
            artifact(tmp, "acme-cli-Linux-x86_64", b"\x7fELF cli " + version.encode())]


def _options(registry: str) -> dict[str, Any]:
    return {"repository": registry,
            "sdks": {"npm:@acme/sdk": {"include_names": r"\.js$",
                                       "checksums": [{"algorithm": "sha384", "format": "base64"}]},
                     "pypi:acme": {"only_if_present": r"^acme-.*\.whl$"}},
            "apps": {"app:acme-cli": {
                "name": "Acme CLI", "include_names": "^acme-cli-",
                "url_template": "https://dl.acme.test/cli/{{version}}/{{file}}",
                "checksums": [{"algorithm": "sha256", "format": "hex"}]}}}


def _link(checkout: Path, path: str) -> str:
    p = checkout / path
    assert p.is_symlink(), f"{path} is not a symlink"
    return os.readlink(p)


def test_publish_reads_back_with_git_clone_and_a_rerun_writes_nothing(
        scene: Scene, tmp_path: Path) -> None:
    registry = _registry(scene)
    files = _files(tmp_path / "a", "1.2.0")
    ctx = scene.ctx(tmp_path / "ctx", files, name="registry", version="1.2.0",
                    options=_options(registry))
    target = RegistryTarget()
    assert [d.value for d in target.destinations(ctx) if d.kind == "repository"] == [registry]
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    receipt = target.publish(ctx)

    checkout = scene.clone(registry)
    assert git(checkout, "log", "-1", "--format=%s").strip() == \
        f'valet: release "{scene.sdk.split("/")[1]}", version "1.2.0"'
    sdk = json.loads((checkout / SDK_DIR / "1.2.0.json").read_text())
    js = (tmp_path / "a" / "bundle.min.js").read_bytes()
    assert sdk["files"] == {"bundle.min.js": {"checksums": {
        "sha384-base64": base64.b64encode(hashlib.sha384(js).digest()).decode()}}}
    assert sdk["version"] == "1.2.0" and sdk["canonical"] == "npm:@acme/sdk"
    assert sdk["name"] == "Acme SDK"  # carried over from the previous latest
    assert sdk["repo_url"].endswith(f"/{scene.sdk}") and sdk["created_at"].endswith("Z")
    for link in ("latest.json", "1.json", "1.2.json"):
        assert _link(checkout, f"{SDK_DIR}/{link}") == "1.2.0.json"
    assert _link(checkout, f"{SDK_DIR}/1.0.json") == "1.0.0.json"

    app = json.loads((checkout / "apps/acme-cli/1.2.0.json").read_text())
    cli = tmp_path / "a" / "acme-cli-Linux-x86_64"
    url = "https://dl.acme.test/cli/1.2.0/acme-cli-Linux-x86_64"
    assert app["file_urls"] == {"acme-cli-Linux-x86_64": url}
    assert app["files"] == {"acme-cli-Linux-x86_64": {
        "url": url, "checksums": {"sha256-hex": hashlib.sha256(cli.read_bytes()).hexdigest()}}}
    assert app["name"] == "Acme CLI" and app["canonical"] == "app:acme-cli"
    assert _link(checkout, "apps/acme-cli/latest.json") == "1.2.0.json"
    assert not (checkout / "packages/pypi").exists()  # only_if_present matched nothing
    assert receipt.digests == {n.name: hashlib.sha256(n.read_bytes()).hexdigest()
                               for n in files if n.name != "acme-sdk-1.2.0.tgz"}

    scene.sb.admin.clear_request_log()
    again = RegistryTarget()
    assert again.status(ctx).state is State.PUBLISHED
    again.publish(ctx)
    assert scene.writes(registry) == []


def test_an_older_line_never_moves_latest(scene: Scene, tmp_path: Path) -> None:
    registry = _registry(scene)
    for version in ("1.2.0", "1.1.5"):
        ctx = scene.ctx(tmp_path / version, _files(tmp_path / f"a{version}", version),
                        name="registry", version=version, options=_options(registry))
        RegistryTarget().publish(ctx)
    checkout = scene.clone(registry)
    assert _link(checkout, f"{SDK_DIR}/latest.json") == "1.2.0.json"
    assert _link(checkout, f"{SDK_DIR}/1.json") == "1.2.0.json"
    assert _link(checkout, f"{SDK_DIR}/1.1.json") == "1.1.5.json"
    assert json.loads((checkout / SDK_DIR / "1.1.5.json").read_text())["version"] == "1.1.5"


def test_a_version_file_with_other_checksums_is_a_conflict(scene: Scene, tmp_path: Path) -> None:
    registry = _registry(scene)
    ctx = scene.ctx(tmp_path / "ctx", _files(tmp_path / "a", "1.2.0"), name="registry",
                    options=_options(registry))
    RegistryTarget().publish(ctx)
    # the same version again, with a different bundle: the registry must not change
    other = scene.ctx(tmp_path / "ctx2", _files(tmp_path / "b", "1.2.0", js=b"evil()"),
                      name="registry", options=_options(registry))
    status = RegistryTarget().status(other)
    assert status.state is State.CONFLICT and "npm:@acme/sdk" in status.detail
    scene.sb.admin.clear_request_log()
    with pytest.raises(ConflictError):
        RegistryTarget().publish(other)
    assert scene.writes(registry) == []


def test_a_pre_release_is_skipped_unless_linked(scene: Scene, tmp_path: Path) -> None:
    registry = _registry(scene)
    ctx = scene.ctx(tmp_path / "ctx", _files(tmp_path / "a", "2.0.0-rc.1"), name="registry",
                    version="2.0.0-rc.1", options=_options(registry))
    status = RegistryTarget().status(ctx)
    assert status.state is State.PUBLISHED and "pre-release" in status.detail
    options = _options(registry)
    options["sdks"]["npm:@acme/sdk"]["link_prereleases"] = True
    linked = scene.ctx(tmp_path / "ctx2", _files(tmp_path / "b", "2.0.0-rc.1"), name="registry",
                       version="2.0.0-rc.1", options=options)
    RegistryTarget().publish(linked)
    checkout = scene.clone(registry)
    assert _link(checkout, f"{SDK_DIR}/latest.json") == "2.0.0-rc.1.json"
    assert not (checkout / "apps/acme-cli/2.0.0-rc.1.json").exists()


def test_a_registry_that_moves_meanwhile_is_fetched_again_not_overwritten(
        scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = _registry(scene)
    ctx = scene.ctx(tmp_path / "ctx", _files(tmp_path / "a", "1.2.0"), name="registry",
                    options=_options(registry))
    real_push = RemoteRepo.push
    moved: list[str] = []

    def push_after_someone_else(self: RemoteRepo, updates: dict[str, str]) -> bool:
        if not moved:  # another release lands between our look and our push
            moved.append(scene.push_change(
                registry, "master", lambda c: (c / "other.txt").write_text("x"), "other"))
        return real_push(self, updates)

    monkeypatch.setattr(RemoteRepo, "push", push_after_someone_else)
    RegistryTarget().publish(ctx)
    checkout = scene.clone(registry)
    log = git(checkout, "log", "--format=%s", "-3").splitlines()
    assert log[:2] == [log[0], "other"] and log[0].startswith("valet: release")
    assert (checkout / "other.txt").exists() and (checkout / SDK_DIR / "1.2.0.json").exists()


def test_the_registry_waits_for_the_lambda_layers_and_lists_their_arns(
        scene: Scene, tmp_path: Path, moto_server: Any) -> None:
    """Both real targets through execute: moto's layer versions, then the registry's
    aws-lambda-layers/<runtime>/<version>.json with their ARNs, in one release."""
    import uuid

    from tests.sandbox.test_targets_aws_lambda_layer import REGIONS, _ctx, _zip
    from valet.publish import PlanItem, execute
    from valet.publish.plan import Plan
    from valet.targets import get_target

    registry = _registry(scene)
    layer = f"ValetTest{uuid.uuid4().hex[:8]}"
    zip_path = _zip(tmp_path, "one")
    ctxs = {
        "registry": scene.ctx(tmp_path / "reg", [zip_path], name="registry", version="1.2.3",
                              options={"repository": registry,
                                       "sdks": {"pypi:acme": {"only_if_present": r"\.whl$"}}}),
        "aws-lambda-layer": _ctx(tmp_path / "lam", moto_server, layer, zip_path),
    }
    # The registry first in the plan: the order comes from its declaration, not the list.
    plan = Plan(run=[PlanItem(k, c.target, [zip_path.name]) for k, c in ctxs.items()])
    ticks: list[str] = []
    out = execute(plan, get_target, lambda item: ctxs[item.key], tick=ticks.append)
    assert ticks == ["aws-lambda-layer", "registry"], out.results
    layers = out.results["aws-lambda-layer"].receipt.extra["layers"]  # type: ignore[union-attr]

    checkout = scene.clone(registry)
    data = json.loads((checkout / "aws-lambda-layers/python/1.2.3.json").read_text())
    assert data["canonical"] == "aws-layer:python" and data["sdk_version"] == "1.2.3"
    assert data["layer_name"] == layer
    assert data["account_number"] == layers[0]["arn"].split(":")[4]
    assert data["regions"] == sorted(({"region": x["region"], "version": str(x["version"]),
                                       "arn": x["arn"]} for x in layers),
                                     key=lambda r: r["region"])
    assert {r["region"] for r in data["regions"]} == set(REGIONS)
    assert _link(checkout, "aws-lambda-layers/python/latest.json") == "1.2.3.json"

    # A second run finds both done and writes nothing to the registry.
    scene.sb.admin.clear_request_log()
    ctxs["registry"].earlier = {}
    again = execute(plan, get_target, lambda item: ctxs[item.key], tick=lambda key: None)
    assert {k: r.outcome for k, r in again.results.items()} == {
        "aws-lambda-layer": "already published", "registry": "already published"}
    assert scene.writes(registry) == []


def test_a_resumed_release_writes_the_layer_file_of_a_lambda_target_ticked_before(
        scene: Scene, tmp_path: Path, moto_server: Any) -> None:
    """The registry fails once after the lambda target published and was ticked; the
    re-run (the lambda target ticked, so not in the run) still writes the layer file,
    once, with the ARNs, and publishes no layer version twice."""
    import uuid

    from tests.sandbox.test_targets_aws_lambda_layer import REGIONS, _ctx, _lambda, _zip
    from valet.publish import PlanItem, execute
    from valet.publish.plan import Plan
    from valet.targets import get_target

    registry = _registry(scene)
    layer = f"ValetTest{uuid.uuid4().hex[:8]}"
    zip_path = _zip(tmp_path, "one")
    reg_options = {"repository": registry, "sdks": {"pypi:acme": {"only_if_present": r"\.whl$"}}}

    def contexts(run: str) -> dict[str, Any]:  # each run starts from nothing, as a job does
        return {"registry": scene.ctx(tmp_path / run / "reg", [zip_path], name="registry",
                                      version="1.2.3", options=reg_options),
                "aws-lambda-layer": _ctx(tmp_path / run / "lam", moto_server, layer, zip_path)}

    # Run 1: the registry refuses the push (a pull request rule on its branch).
    scene.sb.admin.protect_branch(registry, "master", reviews=1)
    first = contexts("one")
    items = {k: PlanItem(k, c.target, [zip_path.name]) for k, c in first.items()}
    ticks: list[str] = []
    out = execute(Plan(run=list(items.values())), get_target, lambda item: first[item.key],
                  tick=ticks.append)
    assert ticks == ["aws-lambda-layer"], out.results
    assert out.results["registry"].outcome == "failed"
    layers = out.results["aws-lambda-layer"].receipt.extra["layers"]  # type: ignore[union-attr]
    assert not (scene.clone(registry) / "aws-lambda-layers").exists()

    # Run 2, as the issue now reads: the lambda box ticked, the registry's not.
    scene.sb.admin.protect_branch(registry, "master", protected=False)
    again = contexts("two")
    resumed = Plan(run=[items["registry"]], ticked=["aws-lambda-layer"],
                   done=[items["aws-lambda-layer"]])
    ticks2: list[str] = []
    out2 = execute(resumed, get_target, lambda item: again[item.key], tick=ticks2.append)
    assert ticks2 == ["registry"], out2.results
    assert {k: r.outcome for k, r in out2.results.items()} == {"registry": "published"}

    checkout = scene.clone(registry)
    path = "aws-lambda-layers/python/1.2.3.json"
    data = json.loads((checkout / path).read_text())
    assert data["layer_name"] == layer
    assert data["regions"] == sorted(({"region": x["region"], "version": str(x["version"]),
                                       "arn": x["arn"]} for x in layers),
                                     key=lambda r: r["region"])
    assert git(checkout, "log", "--format=%H", "--", path).split() == [
        git(checkout, "rev-parse", "HEAD").strip()]  # written once, by this run
    for region in REGIONS:  # one layer version per region: nothing published twice
        versions = _lambda(moto_server, region).list_layer_versions(LayerName=layer)
        assert [v["Version"] for v in versions["LayerVersions"]] == [1]

    # Run 3, the same resume again: all there, nothing written.
    scene.sb.admin.clear_request_log()
    third = contexts("three")
    out3 = execute(resumed, get_target, lambda item: third[item.key], tick=lambda key: None)
    assert {k: r.outcome for k, r in out3.results.items()} == {"registry": "already published"}
    assert scene.writes(registry) == []


def test_a_resumed_release_whose_ticked_layers_were_deleted_lists_nothing(
        scene: Scene, tmp_path: Path, moto_server: Any) -> None:
    import uuid

    from tests.sandbox.test_targets_aws_lambda_layer import REGIONS, _ctx, _lambda, _zip
    from valet.publish import PlanItem, execute
    from valet.publish.plan import Plan
    from valet.targets import get_target

    registry = _registry(scene)
    layer = f"ValetTest{uuid.uuid4().hex[:8]}"
    zip_path = _zip(tmp_path, "one")
    lam = _ctx(tmp_path / "lam", moto_server, layer, zip_path)
    get_target("aws-lambda-layer").publish(lam)  # the earlier run, ticked
    for region in REGIONS:  # deleted since
        _lambda(moto_server, region).delete_layer_version(LayerName=layer, VersionNumber=1)
    ctxs = {"registry": scene.ctx(tmp_path / "reg", [zip_path], name="registry",
                                  version="1.2.3", options={
                                      "repository": registry,
                                      "sdks": {"pypi:acme": {"only_if_present": r"\.whl$"}}}),
            "aws-lambda-layer": _ctx(tmp_path / "lam2", moto_server, layer, zip_path)}
    items = {k: PlanItem(k, c.target, [zip_path.name]) for k, c in ctxs.items()}
    scene.sb.admin.clear_request_log()
    ticks: list[str] = []
    out = execute(Plan(run=[items["registry"]], ticked=["aws-lambda-layer"],
                       done=[items["aws-lambda-layer"]]),
                  get_target, lambda item: ctxs[item.key], tick=ticks.append)
    res = out.results["registry"]
    assert res.outcome == "failed" and res.error is not None and ticks == []
    assert "not published any more" in res.error.message
    assert "uncheck" in res.error.hint
    assert scene.writes(registry) == []
    assert _lambda(moto_server, REGIONS[0]).list_layer_versions(
        LayerName=layer)["LayerVersions"] == []  # publish republished nothing
