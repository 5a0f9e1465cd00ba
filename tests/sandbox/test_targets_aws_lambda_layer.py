"""aws-lambda-layer target against moto in server mode, read back with boto3."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.unit.targets.ctx import make_ctx
from valet.errors import ConflictError
from valet.targets.aws_lambda_layer import AwsLambdaLayerTarget
from valet.targets.base import State, TargetContext

pytestmark = pytest.mark.sandbox

REGIONS = ["us-east-1", "eu-west-1"]
RUNTIMES = [{"name": "python", "versions": ["python3.12", "python3.13"]}]


def _zip(tmp_path: Path, payload: str, version: str = "1.2.3") -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("python/sdk.py", date_time=(2024, 1, 1, 0, 0, 0))
        z.writestr(info, f"VALUE = {payload!r}\n")
    d = tmp_path / f"zip-{payload}"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"sentry-python-serverless-{version}.zip"
    path.write_bytes(buf.getvalue())
    return path


def _ctx(tmp_path: Path, server: Any, layer: str, zip_path: Path, *, version: str = "1.2.3",
         **options: Any) -> TargetContext:
    opts = {"layer_name": layer, "compatible_runtimes": RUNTIMES, "license": "MIT",
            "regions": REGIONS, **options}
    return make_ctx(tmp_path, [zip_path], name="aws-lambda-layer", version=version,
                    env=server.env(), options=opts)


def _lambda(server: Any, region: str) -> Any:
    import boto3

    env = server.env()
    return boto3.client("lambda", region_name=region, endpoint_url=env["AWS_ENDPOINT_URL"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def test_publishes_a_public_layer_version_per_region_then_finds_it_done(
        tmp_path: Path, moto_server: Any) -> None:
    layer = f"ValetTest{uuid.uuid4().hex[:8]}"
    zip_path = _zip(tmp_path, "one")
    ctx = _ctx(tmp_path, moto_server, layer, zip_path, compatible_architectures=["x86_64"])
    target = AwsLambdaLayerTarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    receipt = target.publish(ctx)
    assert receipt.detail == f"published 2 layer version(s): {layer} in 2 region(s)"
    layers = receipt.extra["layers"]
    assert [(x["region"], x["version"]) for x in layers] == [("us-east-1", 1), ("eu-west-1", 1)]
    assert receipt.extra["account"] and receipt.extra["layer_name"] == layer

    ours = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    for entry in layers:
        lam = _lambda(moto_server, entry["region"])
        got = lam.get_layer_version(LayerName=layer, VersionNumber=entry["version"])
        assert got["LayerVersionArn"] == entry["arn"]
        assert entry["arn"].startswith(f"arn:aws:lambda:{entry['region']}:")
        assert got["Content"]["CodeSha256"] == ours
        assert got["CompatibleRuntimes"] == ["python3.12", "python3.13"]
        assert got["LicenseInfo"] == "MIT"
        assert got["Description"] == f"{layer} 1.2.3"
        policy = json.loads(lam.get_layer_version_policy(
            LayerName=layer, VersionNumber=entry["version"])["Policy"])
        assert [(s["Principal"], s["Action"]) for s in policy["Statement"]] == \
            [("*", "lambda:GetLayerVersion")]

    again = target.status(ctx)
    assert again.state is State.PUBLISHED and again.receipt is not None
    assert again.receipt.extra["layers"] == layers
    assert target.publish(ctx).detail.startswith("already there")  # a second run publishes nothing
    for region in REGIONS:
        assert len(_lambda(moto_server, region).list_layer_versions(
            LayerName=layer)["LayerVersions"]) == 1


def test_other_code_for_the_same_version_is_a_conflict(tmp_path: Path, moto_server: Any) -> None:
    layer = f"ValetTest{uuid.uuid4().hex[:8]}"
    AwsLambdaLayerTarget().publish(_ctx(tmp_path / "a", moto_server, layer,
                                        _zip(tmp_path / "a", "one")))
    ctx = _ctx(tmp_path / "b", moto_server, layer, _zip(tmp_path / "b", "two"))
    status = AwsLambdaLayerTarget().status(ctx)
    assert status.state is State.CONFLICT and "other code" in status.detail
    with pytest.raises(ConflictError):
        AwsLambdaLayerTarget().publish(ctx)
    assert len(_lambda(moto_server, "us-east-1").list_layer_versions(
        LayerName=layer)["LayerVersions"]) == 1


def test_next_release_adds_a_version_and_a_private_one_is_made_public(
        tmp_path: Path, moto_server: Any) -> None:
    layer = f"ValetTest{uuid.uuid4().hex[:8]}"
    AwsLambdaLayerTarget().publish(_ctx(tmp_path / "a", moto_server, layer,
                                        _zip(tmp_path / "a", "one")))
    # 1.3.0 reached us-east-1 but the run died before the permission was added.
    zip2 = _zip(tmp_path / "b", "two", version="1.3.0")
    lam = _lambda(moto_server, "us-east-1")
    lam.publish_layer_version(LayerName=layer, Description=f"{layer} 1.3.0",
                              Content={"ZipFile": zip2.read_bytes()},
                              CompatibleRuntimes=RUNTIMES[0]["versions"], LicenseInfo="MIT")
    ctx = _ctx(tmp_path / "b", moto_server, layer, zip2, version="1.3.0")
    status = AwsLambdaLayerTarget().status(ctx)
    assert status.state is State.ABSENT
    assert status.detail == "1 of 2 layer version(s) to publish, 1 to make public"
    receipt = AwsLambdaLayerTarget().publish(ctx)
    assert [(x["region"], x["version"]) for x in receipt.extra["layers"]] == \
        [("us-east-1", 2), ("eu-west-1", 2)]
    assert AwsLambdaLayerTarget().status(ctx).state is State.PUBLISHED


def test_a_prerelease_publishes_nothing_unless_linked(tmp_path: Path, moto_server: Any) -> None:
    layer = f"ValetTest{uuid.uuid4().hex[:8]}"
    zip_path = _zip(tmp_path, "beta", version="2.0.0-beta.1")
    ctx = _ctx(tmp_path, moto_server, layer, zip_path, version="2.0.0-beta.1")
    assert AwsLambdaLayerTarget().publish(ctx).detail.startswith("skipped: a pre-release")
    assert _lambda(moto_server, "us-east-1").list_layer_versions(
        LayerName=layer)["LayerVersions"] == []
    linked = _ctx(tmp_path, moto_server, layer, zip_path, version="2.0.0-beta.1",
                  link_prereleases=True)
    assert AwsLambdaLayerTarget().publish(linked).detail.startswith("published 2")
