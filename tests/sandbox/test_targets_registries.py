"""pypi and npm targets against the real sandbox registries (pypiserver, verdaccio)."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.registries import npm_available
from tests.unit.targets.ctx import make_ctx
from valet.errors import ConflictError
from valet.sandbox.registries import Registries
from valet.targets.base import State, TargetContext
from valet.targets.npm import NpmTarget
from valet.targets.pypi import PyPITarget

pytestmark = pytest.mark.sandbox


def _uid() -> str:
    return uuid.uuid4().hex[:8]


# -- pypi ---------------------------------------------------------------------


def _pypi_ctx(tmp_path: Path, regs: Registries, files: list[Path], **kw) -> TargetContext:
    env = {"TWINE_USERNAME": regs.pypi_user, "TWINE_PASSWORD": regs.pypi_password}
    return make_ctx(tmp_path, files, name="pypi", env=env,
                    options={"repository_url": regs.pypi_url, "index_url": regs.pypi_index_url},
                    **kw)


def _index_files(regs: Registries, project: str) -> list[str]:
    with urllib.request.urlopen(f"{regs.pypi_index_url}{project}/", timeout=10) as resp:
        page = resp.read().decode()
    return sorted(part.split("#", 1)[0].rsplit("/", 1)[-1]
                  for part in page.split('href="')[1:])


def test_pypi_publish_then_published_then_skip(tmp_path: Path, registries: Registries,
                                               make_python_dist: Callable[..., list[Path]]) -> None:
    name = f"valet-t-{_uid()}"
    files = make_python_dist(name, "1.2.3")
    ctx = _pypi_ctx(tmp_path, registries, files)
    target = PyPITarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT

    receipt = target.publish(ctx)
    assert receipt.digests == {f.name: ctx.artifacts[f.name].sha256 for f in files}
    assert receipt.url == f"{registries.pypi_index_url}{name}/"
    assert receipt.detail == "uploaded 2 file(s)"

    again = target.status(ctx)
    assert again.state is State.PUBLISHED
    assert again.receipt is not None and again.receipt.digests == receipt.digests
    # publish on a published version uploads nothing and still returns the receipt
    assert target.publish(ctx).detail == "already there"


def test_the_documented_pypi_token_alone_uploads_to_the_sandbox(
        tmp_path: Path, registries: Registries,
        make_python_dist: Callable[..., list[Path]]) -> None:
    """What docs/cli.md tells a newcomer: PYPI_TOKEN from the sandbox's exports, nothing else."""
    env = registries.env()
    assert env["PYPI_TOKEN"] == env["TWINE_PASSWORD"] and env["TWINE_USERNAME"] == "__token__"
    files = make_python_dist(f"valet-t-{_uid()}", "1.0.0")
    ctx = make_ctx(tmp_path, files, name="pypi", env={"PYPI_TOKEN": env["PYPI_TOKEN"]},
                   options={"repository_url": env["VALET_PYPI_URL"],
                            "index_url": env["VALET_PYPI_INDEX_URL"]})
    PyPITarget().preflight(ctx)
    assert PyPITarget().publish(ctx).detail == "uploaded 2 file(s)"


def test_pypi_partial_upload_is_finished(tmp_path: Path, registries: Registries,
                                         make_python_dist: Callable[..., list[Path]]) -> None:
    name = f"valet-t-{_uid()}"
    wheel, sdist = make_python_dist(name, "0.1.0")
    PyPITarget().publish(_pypi_ctx(tmp_path, registries, [wheel]))
    ctx = _pypi_ctx(tmp_path, registries, [wheel, sdist])
    status = PyPITarget().status(ctx)
    assert status.state is State.ABSENT and sdist.name in status.detail
    receipt = PyPITarget().publish(ctx)
    assert receipt.detail == "uploaded 1 file(s)"
    assert _index_files(registries, name.replace("_", "-")) == sorted([wheel.name, sdist.name])


def test_pypi_other_content_same_version_is_conflict(
        tmp_path: Path, registries: Registries,
        make_python_dist: Callable[..., list[Path]]) -> None:
    name = f"valet-t-{_uid()}"
    first = make_python_dist(name, "2.0.0", payload="one")
    PyPITarget().publish(_pypi_ctx(tmp_path / "a", registries, first))
    other_dir = tmp_path / "b"
    second = make_python_dist(name, "2.0.0", payload="two")
    ctx = _pypi_ctx(other_dir, registries, second)
    assert ctx.artifacts[second[0].name].sha256 != make_ctx(
        tmp_path / "a", first, name="pypi").artifacts[first[0].name].sha256
    status = PyPITarget().status(ctx)
    assert status.state is State.CONFLICT
    with pytest.raises(ConflictError):
        PyPITarget().publish(ctx)
    # the index still serves the first upload only
    assert PyPITarget().status(_pypi_ctx(tmp_path / "a", registries, first)).state \
        is State.PUBLISHED


def test_pypi_twine_already_exists_answer_is_rechecked_by_digest(
        tmp_path: Path, registries: Registries, capsys: pytest.CaptureFixture[str],
        make_python_dist: Callable[..., list[Path]]) -> None:
    # The index answers "already exists" (400 for twine) when status raced with
    # another upload of the same bytes: publish must count it as done.
    name = f"valet-t-{_uid()}"
    files = make_python_dist(name, "3.0.0")
    ctx = _pypi_ctx(tmp_path, registries, files)
    PyPITarget().publish(ctx)
    target = PyPITarget()
    capsys.readouterr()
    target._upload(ctx, sorted(ctx.files), sorted(ctx.files))  # the index refuses: same bytes
    out = capsys.readouterr().out
    assert "already exists" in out  # pypiserver's refusal, shown to the user
    assert "already holds these files with the approved digests" in out


def test_pypi_bad_password_fails_with_a_hint(tmp_path: Path, registries: Registries,
                                             make_python_dist: Callable[..., list[Path]]) -> None:
    from valet.errors import TargetError

    files = make_python_dist(f"valet-t-{_uid()}", "1.0.0")
    ctx = _pypi_ctx(tmp_path, registries, files)
    ctx.env = {**ctx.env, "TWINE_PASSWORD": "wrong-password"}  # type: ignore[misc]
    with pytest.raises(TargetError) as info:
        PyPITarget().publish(ctx)
    assert "wrong-password" not in str(info.value)
    assert PyPITarget().status(ctx).state is State.ABSENT


# -- npm ----------------------------------------------------------------------


def _npm_ctx(tmp_path: Path, regs: Registries, files: list[Path], **kw) -> TargetContext:
    return make_ctx(tmp_path, files, name="npm", env={"NPM_TOKEN": regs.npm_token},
                    options={"registry": regs.npm_url, **kw.pop("options", {})}, **kw)


def _packument(regs: Registries, name: str) -> dict:
    req = urllib.request.Request(f"{regs.npm_url}{name.replace('/', '%2f')}",
                                 headers={"Authorization": f"Bearer {regs.npm_token}",
                                          "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


needs_npm = pytest.mark.skipif(not npm_available(), reason="npm is not installed")


@needs_npm
def test_npm_publish_then_published_then_skip(tmp_path: Path, registries: Registries,
                                              make_npm_tarball: Callable[..., Path]) -> None:
    name = f"@valet/t-{_uid()}"
    tgz = make_npm_tarball(name, "1.0.0")
    # a scoped package is named by the target's id (the publish side checks it by name)
    ctx = _npm_ctx(tmp_path, registries, [tgz], options={"access": "public"}, target_id=name)
    target = NpmTarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    receipt = target.publish(ctx)
    assert receipt.detail == f"{name}@1.0.0 -> latest"
    doc = _packument(registries, name)
    assert doc["dist-tags"]["latest"] == "1.0.0"
    assert target.status(ctx).state is State.PUBLISHED
    assert target.publish(ctx).detail == "already there"
    # the token never reached the disk
    rcs = list(ctx.workdir.glob("npmrc-*"))
    assert rcs and all(registries.npm_token not in p.read_text() for p in rcs)


@needs_npm
def test_npm_prerelease_goes_to_next_and_old_line_never_takes_latest(
        tmp_path: Path, registries: Registries, make_npm_tarball: Callable[..., Path]) -> None:
    name = f"valet-t-{_uid()}"
    NpmTarget().publish(_npm_ctx(tmp_path / "a", registries, [make_npm_tarball(name, "2.0.0")]))
    pre = make_npm_tarball(name, "2.1.0-rc.1")
    NpmTarget().publish(_npm_ctx(tmp_path / "b", registries, [pre]))
    old = make_npm_tarball(name, "1.4.1")
    NpmTarget().publish(_npm_ctx(tmp_path / "c", registries, [old]))
    tags = _packument(registries, name)["dist-tags"]
    assert tags["latest"] == "2.0.0"
    assert tags["next"] == "2.1.0-rc.1"
    assert tags["v1-latest"] == "1.4.1"


@needs_npm
def test_npm_other_tarball_same_version_is_conflict(
        tmp_path: Path, registries: Registries, make_npm_tarball: Callable[..., Path]) -> None:
    name = f"valet-t-{_uid()}"
    first = make_npm_tarball(name, "1.0.0", payload="one")
    NpmTarget().publish(_npm_ctx(tmp_path / "a", registries, [first]))
    before = _packument(registries, name)["versions"]["1.0.0"]["dist"]["integrity"]
    second = make_npm_tarball(name, "1.0.0", payload="two")
    ctx = _npm_ctx(tmp_path / "b", registries, [second])
    assert NpmTarget().status(ctx).state is State.CONFLICT
    with pytest.raises(ConflictError):
        NpmTarget().publish(ctx)
    assert _packument(registries, name)["versions"]["1.0.0"]["dist"]["integrity"] == before
