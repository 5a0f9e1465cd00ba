"""The registry target and the layers of the release's aws-lambda-layer targets:
it never takes itself as published, nor writes, without every layer receipt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from valet.config import Config, TargetConfig
from valet.errors import TargetError
from valet.request import TargetState
from valet.targets.base import Receipt, State, TargetContext
from valet.targets.registry import RegistryTarget, _Look, layer_manifests, unseen_layers
from valet.version import parse_version

from .ctx import make_ctx

LAYER = TargetConfig(name="aws-lambda-layer", options={"layer_name": "L"})
ARN = "arn:aws:lambda:us-east-1:123456789012:layer:L:3"


def _receipt() -> Receipt:
    return Receipt("aws-lambda-layer", extra={
        "layer_name": "L", "account": "123456789012",
        "layers": [{"runtime": "python", "region": "us-east-1", "arn": ARN, "version": 3}]})


def _ctx(tmp_path: Path, *, earlier: dict[str, Receipt] | None = None) -> TargetContext:
    reg = TargetConfig(name="registry", options={"repository": "acme/registry",
                                                 "sdks": {"pypi:acme": None}})
    ctx = make_ctx(tmp_path, [], name="registry", options=reg.options,
                   config=Config(targets=[reg, LAYER]), env={"REGISTRY_GITHUB_TOKEN": "t"})
    ctx.request.targets = [TargetState("registry"), TargetState("aws-lambda-layer")]
    ctx.earlier = dict(earlier or {})
    return ctx


class _Repo:
    """The registry repository as _Look reads it: ``files`` at the tip, no links."""

    full_name = "acme/registry"

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = dict(files or {})

    def read(self, tip: str, path: str) -> bytes | None:
        return self.files.get(path)

    def entry(self, tip: str, path: str) -> tuple[str, str] | None:
        return ("100644", path) if path in self.files else None

    @property
    def git(self) -> Any:
        files = self.files

        class _Git:
            def blob(self, sha: str) -> bytes:
                return files[sha]
        return _Git()


def _published_look(target: RegistryTarget, ctx: TargetContext) -> _Look:
    """Every package already in the registry: what the look would say without layers."""
    return _Look(branch="master", tip="t" * 40, skipped=["pypi:acme: skipped"])


def test_unseen_layers_are_the_release_layer_targets_without_a_receipt(tmp_path: Path):
    assert unseen_layers(_ctx(tmp_path)) == ["aws-lambda-layer"]
    assert unseen_layers(_ctx(tmp_path, earlier={"aws-lambda-layer": _receipt()})) == []
    alone = _ctx(tmp_path)
    alone.request.targets = [TargetState("registry")]  # no layer target in this release
    assert unseen_layers(alone) == []


def test_status_is_not_published_while_a_layer_receipt_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Without the layer target's receipt the registry cannot know whether its layer
    file is there: never "published" (a resumed release would end without it)."""
    monkeypatch.setattr(RegistryTarget, "_look", _published_look)
    result = RegistryTarget().status(_ctx(tmp_path))
    assert result.state is State.ABSENT and "aws-lambda-layer" in result.detail
    # with the receipt the look decides (here: everything there)
    seen = RegistryTarget().status(_ctx(tmp_path, earlier={"aws-lambda-layer": _receipt()}))
    assert seen.state is State.PUBLISHED


def test_publish_refuses_without_every_layer_receipt_before_touching_the_registry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def no_repo(self: RegistryTarget, ctx: TargetContext) -> Any:
        raise AssertionError("the registry repository was used")
    monkeypatch.setattr(RegistryTarget, "_repo", no_repo)
    with pytest.raises(TargetError, match="aws-lambda-layer") as err:
        RegistryTarget().publish(_ctx(tmp_path))
    assert "accepted" in (err.value.hint or "")


def test_a_missing_layer_file_the_receipts_expect_is_not_published(tmp_path: Path):
    ctx = _ctx(tmp_path, earlier={"aws-lambda-layer": _receipt()})
    [data] = layer_manifests(ctx.earlier.values(), "1.2.3")
    look = _Look(branch="master", tip="t" * 40)
    look.add_layer(ctx, _Repo(), parse_version("1.2.3"), data)  # type: ignore[arg-type]
    status = look.status(ctx)
    assert status.state is State.ABSENT
    [entry, *links] = look.todo[0].entries
    assert entry.path == "aws-lambda-layers/python/1.2.3.json" and ARN.encode() in entry.data
    # the same file there: published
    there = _Look(branch="master", tip="t" * 40)
    there.add_layer(ctx, _Repo({entry.path: entry.data}),  # type: ignore[arg-type]
                    parse_version("1.2.3"), data)
    assert there.status(ctx).state is State.PUBLISHED
