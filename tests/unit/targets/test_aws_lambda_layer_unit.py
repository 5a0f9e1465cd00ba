"""aws-lambda-layer target: options, names, hashes and destinations without AWS."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.unit.targets.ctx import make_ctx
from valet.errors import ConfigError, TargetError
from valet.targets import aws_lambda_layer as lam
from valet.targets.aws_lambda_layer import AwsLambdaLayerTarget
from valet.targets.base import Destination

BASE = {"layer_name": "SentryNodeServerlessSDKv{{{major}}}", "license": "MIT",
        "compatible_runtimes": [{"name": "node", "versions": ["nodejs20.x"]}]}


def test_layer_name_placeholders_and_defaults() -> None:
    spec = lam.spec_of(BASE, "t")
    assert lam.layer_name(spec, "10.2.3", "t") == "SentryNodeServerlessSDKv10"
    assert spec.regions == lam.DEFAULT_REGIONS and len(spec.regions) == 17
    assert not spec.link_prereleases and spec.architectures == ()
    assert lam.code_sha256(hashlib.sha256(b"zip").hexdigest()) == \
        base64.b64encode(hashlib.sha256(b"zip").digest()).decode()


@pytest.mark.parametrize("change, message", [
    ({"layer_name": None}, "needs layer_name"),
    ({"compatible_runtimes": [{"name": "node"}]}, r"compatible_runtimes\[0\]"),
    ({"compatible_runtimes": [{"name": "node", "versions": [f"nodejs{i}.x" for i in range(16)]}]},
     "at most 15"),
    ({"compatible_architectures": ["mips"]}, "x86_64, arm64"),
    ({"regions": ["mars-1"]}, "region names"),
    ({"layer_name": "Layer{{{sha}}}"}, "unknown placeholder"),
    ({"link_prereleases": "yes"}, "true or false"),
])
def test_bad_options_are_config_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        lam.spec_of({k: v for k, v in {**BASE, **change}.items() if v is not None}, "t")


def _ctx(tmp_path: Path, env: dict[str, str], **options: Any) -> Any:
    z = tmp_path / "layer-1.2.3.zip"
    z.write_bytes(b"PK")
    return make_ctx(tmp_path, [z], name="aws-lambda-layer", env=env, options={**BASE, **options})


def test_destinations_are_the_regions_endpoints_and_the_layer(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, {}, regions=["us-east-1", "eu-west-1"])
    assert AwsLambdaLayerTarget().destinations(ctx) == [
        Destination("host", "lambda.us-east-1.amazonaws.com"),
        Destination("host", "lambda.eu-west-1.amazonaws.com"),
        Destination("package", "SentryNodeServerlessSDKv1")]
    local = _ctx(tmp_path, {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert AwsLambdaLayerTarget().destinations(local)[0] == Destination("host", "127.0.0.1:5000")
    with pytest.raises(TargetError, match="not an https URL"):
        AwsLambdaLayerTarget().destinations(_ctx(tmp_path, {"AWS_ENDPOINT_URL": "http://aws.evil"}))


def test_preflight_recommends_oidc_and_wants_one_zip(tmp_path: Path) -> None:
    with pytest.raises(TargetError) as info:
        AwsLambdaLayerTarget().preflight(_ctx(tmp_path, {}))
    assert "aws-actions/configure-aws-credentials" in str(info.value.hint)
    assert "role-to-assume" in str(info.value.hint)
    ctx = _ctx(tmp_path, {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    AwsLambdaLayerTarget().preflight(ctx)
    two = make_ctx(tmp_path, [tmp_path / "layer-1.2.3.zip", _second_zip(tmp_path)],
                   name="aws-lambda-layer", options=BASE,
                   env={"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    with pytest.raises(TargetError, match="2 layer zip"):
        AwsLambdaLayerTarget().preflight(two)


def _second_zip(tmp_path: Path) -> Path:
    z = tmp_path / "other-1.2.3.zip"
    z.write_bytes(b"PK2")
    return z


def test_a_skipped_pre_release_is_done_with_a_receipt_listing_no_layers(tmp_path: Path) -> None:
    """Nothing to publish is done (as the registry's own skip is): read again on a
    resumed release, it hands the registry a receipt without layers, not "absent"."""
    from valet.targets.base import State
    from valet.targets.registry import layer_manifests

    zip_path = tmp_path / "layer-2.0.0-beta.1.zip"
    zip_path.write_bytes(b"PK")
    ctx = make_ctx(tmp_path, [zip_path], name="aws-lambda-layer", version="2.0.0-beta.1",
                   options={**BASE, "regions": ["us-east-1"]})
    result = AwsLambdaLayerTarget().status(ctx)  # no AWS call: nothing to look up
    assert result.state is State.PUBLISHED and result.receipt is not None
    assert result.receipt.detail.startswith("skipped: a pre-release")
    assert layer_manifests([result.receipt], "2.0.0-beta.1") == []
