"""crates target against a small fake of the crates.io publish + version API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.targets.ctx import CARGO_TOML, make_crate, make_ctx, write_tar_gz
from valet.errors import ConflictError, TargetError
from valet.sandbox.crates_io import FakeCrates
from valet.targets.base import State, TargetContext
from valet.targets.crates import CratesTarget, read_crate

pytestmark = pytest.mark.sandbox


@pytest.fixture
def crates_api() -> Iterator[FakeCrates]:
    fake = FakeCrates().start()
    try:
        yield fake
    finally:
        fake.stop()


def _ctx(tmp_path: Path, fake: FakeCrates, files: list[Path], token: str | None = None
         ) -> TargetContext:
    return make_ctx(tmp_path, files, name="crates", options={"api_url": fake.url},
                    env={"CARGO_REGISTRY_TOKEN": token or fake.token})


def test_publish_then_published_then_skip(tmp_path: Path, crates_api: FakeCrates) -> None:
    crate = make_crate(tmp_path)
    ctx = _ctx(tmp_path, crates_api, [crate])
    target = CratesTarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    receipt = target.publish(ctx)
    assert receipt.detail == "uploaded 1 crate(s)"
    assert receipt.url == f"{crates_api.url}/crates/acme-sdk/1.2.3"
    stored = crates_api.crates[("acme_sdk", "1.2.3")]
    assert stored.crate == crate.read_bytes()
    assert stored.checksum == ctx.artifacts[crate.name].sha256
    assert stored.metadata == read_crate(crate)  # the metadata survived the framing
    assert target.status(ctx).state is State.PUBLISHED
    assert target.publish(ctx).detail == "already there"
    assert crates_api.uploads() == 1


def test_other_crate_same_version_is_conflict_and_nothing_uploaded(
        tmp_path: Path, crates_api: FakeCrates) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_crate(tmp_path / "a", payload="one")
    CratesTarget().publish(_ctx(tmp_path / "a", crates_api, [first]))
    other = make_crate(tmp_path / "b", payload="two")
    ctx = _ctx(tmp_path / "b", crates_api, [other])
    assert CratesTarget().status(ctx).state is State.CONFLICT
    with pytest.raises(ConflictError):
        CratesTarget().publish(ctx)
    assert crates_api.uploads() == 1


def test_workspace_crates_go_dependencies_first_and_partial_is_finished(
        tmp_path: Path, crates_api: FakeCrates) -> None:
    core = make_crate(tmp_path, name="acme-core", version="0.3.0")
    app_toml = CARGO_TOML.format(name="acme-app", version="0.3.0",
                                 extra='[dependencies.acme-core]\nversion = "=0.3.0"\n')
    app = write_tar_gz(tmp_path / "acme-app-0.3.0.crate", {
        "acme-app-0.3.0/Cargo.toml": app_toml.encode(),
        "acme-app-0.3.0/README.md": b"app\n"})
    ctx = _ctx(tmp_path, crates_api, [app, core])
    CratesTarget().publish(ctx)
    puts = [i for i, (m, _p) in enumerate(crates_api.requests) if m == "PUT"]
    assert len(puts) == 2
    assert list(crates_api.crates) == [("acme_core", "0.3.0"), ("acme_app", "0.3.0")]

    # a later crate of the same release, with the first already there: only it goes up
    extra = make_crate(tmp_path, name="acme-extra", version="0.3.0")
    ctx2 = _ctx(tmp_path, crates_api, [app, core, extra])
    status = CratesTarget().status(ctx2)
    assert status.state is State.ABSENT and "acme-extra-0.3.0.crate" in status.detail
    assert CratesTarget().publish(ctx2).detail == "uploaded 1 crate(s)"
    assert crates_api.uploads() == 3


def test_a_refused_token_is_a_target_error_with_a_hint(tmp_path: Path,
                                                       crates_api: FakeCrates) -> None:
    ctx = _ctx(tmp_path, crates_api, [make_crate(tmp_path)], token="wrong-token")
    with pytest.raises(TargetError) as info:
        CratesTarget().publish(ctx)
    assert "HTTP 403" in info.value.message
    assert "CARGO_REGISTRY_TOKEN" in str(info.value.hint)
    assert crates_api.crates == {}


def test_a_fake_with_a_root_remembers_its_crates_across_restarts(tmp_path: Path) -> None:
    # `valet sandbox --state DIR --with crates`: a restarted sandbox still has the crate.
    crate = make_crate(tmp_path)
    first = FakeCrates(root=tmp_path / "crates").start()
    try:
        CratesTarget().publish(_ctx(tmp_path / "a", first, [crate]))
    finally:
        first.stop()
    again = FakeCrates(root=tmp_path / "crates").start()
    try:
        ctx = _ctx(tmp_path / "b", again, [crate])
        assert CratesTarget().status(ctx).state is State.PUBLISHED
        assert again.crates[("acme_sdk", "1.2.3")].metadata == read_crate(crate)
    finally:
        again.stop()
