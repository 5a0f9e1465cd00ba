"""Trusted publishing against the real registries, through their sandbox exchanges.

The publish job's ID token comes from the sandbox issuer (an id-token request
token bound to a repository, workflow file and environment); the exchange in
front of each registry verifies it against the issuer's JWKS and the registered
trusted publisher, mints a short-lived token, and the upload goes to the real
registry (pypiserver, verdaccio, the crates.io fake).
"""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures.registries import npm_available
from tests.fixtures.trusted_publishing import Trusted
from tests.unit.targets.ctx import make_crate, make_ctx
from valet.errors import TargetError, TrustedPublishingError
from valet.publish import Plan, PlanItem, execute
from valet.sandbox.exchange import Front
from valet.targets import get_target
from valet.targets.base import State, TargetContext
from valet.targets.crates import CratesTarget
from valet.targets.npm import NpmTarget
from valet.targets.pypi import PyPITarget

pytestmark = pytest.mark.sandbox


def _uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def publish_repo(gh_repo_factory: Callable[..., Any]) -> str:
    """The publish repository whose workflow is (or is not) the trusted publisher."""
    return str(gh_repo_factory(prefix="publish").full_name)


def _pypi(tmp_path: Path, t: Trusted, files: list[Path], env: dict[str, str],
          **options: Any) -> TargetContext:
    return make_ctx(tmp_path, files, name="pypi", env=env,
                    options={"repository_url": t.fronts.pypi.url,
                             "index_url": f"{t.registries.pypi_index_url}", **options})


def _npm(tmp_path: Path, t: Trusted, files: list[Path], env: dict[str, str],
         target_id: str | None = None, **options: Any) -> TargetContext:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    # A scoped package is named by the target's id (its file name drops the "@").
    return make_ctx(tmp_path, files, name="npm", env={"HOME": str(home), **env},
                    options={"registry": t.fronts.npm.url, **options}, target_id=target_id)


def _crates(tmp_path: Path, t: Trusted, files: list[Path], env: dict[str, str],
            **options: Any) -> TargetContext:
    return make_ctx(tmp_path, files, name="crates", env=env,
                    options={"registry_url": t.fronts.crates.url.rstrip("/"), **options})


def _minted(front: Front) -> list[str]:
    return [g.token for g in front.grants.values()]


def _never_on_disk(ctx: TargetContext, tokens: list[str]) -> None:
    for path in ctx.workdir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(tok.encode() in data for tok in tokens), path


# -- the three registries, no secret at all -----------------------------------------------


def test_pypi_publishes_through_the_exchange_without_a_secret(
        tmp_path: Path, trusted: Trusted, publish_repo: str,
        make_python_dist: Callable[..., list[Path]]) -> None:
    name = f"valet-tp-{_uid()}"
    files = make_python_dist(name, "1.0.0")
    trusted.fronts.register(publish_repo, pypi=name)
    ctx = _pypi(tmp_path, trusted, files, trusted.job_env(publish_repo))
    target = PyPITarget()
    before = len(trusted.fronts.pypi.exchanges)
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    receipt = target.publish(ctx)
    assert receipt.detail == "uploaded 2 file(s)"
    assert target.status(ctx).state is State.PUBLISHED
    (exchange,) = trusted.fronts.pypi.exchanges[before:]
    assert exchange.outcome == "minted" and name in exchange.packages
    assert exchange.claims["repository"] == publish_repo
    assert exchange.claims["environment"] == "production"
    uploads = [f for f in trusted.fronts.pypi.uploads() if f.with_grant]
    assert len(uploads) >= 2
    _never_on_disk(ctx, _minted(trusted.fronts.pypi))


@pytest.mark.skipif(not npm_available(), reason="npm not installed")
def test_npm_publishes_through_the_exchange_without_a_secret(
        tmp_path: Path, trusted: Trusted, publish_repo: str,
        make_npm_tarball: Callable[..., Path]) -> None:
    name = f"@valet-tp/pkg-{_uid()}"
    trusted.npm_first_version(make_npm_tarball(name, "0.1.0"))  # npm: first one by token
    tgz = make_npm_tarball(name, "1.0.0")
    trusted.fronts.register(publish_repo, npm=name)
    ctx = _npm(tmp_path, trusted, [tgz], trusted.job_env(publish_repo), target_id=name,
               access="public")
    target = NpmTarget()
    target.preflight(ctx)
    assert target.status(ctx).state is State.ABSENT
    target.publish(ctx)
    assert target.status(ctx).state is State.PUBLISHED
    assert trusted.fronts.npm.exchanges[-1].packages == (name,)
    assert any(f.with_grant and f.method == "PUT" for f in trusted.fronts.npm.uploads())
    _never_on_disk(ctx, _minted(trusted.fronts.npm))


def _first_version(trusted: Trusted, tmp_path: Path, name: str) -> None:
    """crates.io: the first version of a crate goes up with an API token."""
    (tmp_path / "first").mkdir()
    first = make_crate(tmp_path / "first", name=name, version="0.1.0")
    ctx = make_ctx(tmp_path / "first", [first], name="crates",
                   options={"registry_url": trusted.crates.url},
                   env={"CARGO_REGISTRY_TOKEN": trusted.crates.token})
    CratesTarget().publish(ctx)


def test_crates_publishes_through_the_exchange_and_revokes_the_token(
        tmp_path: Path, trusted: Trusted, publish_repo: str) -> None:
    name = f"acme-tp-{_uid()}"
    _first_version(trusted, tmp_path, name)
    trusted.fronts.register(publish_repo, crates=name)
    crate = make_crate(tmp_path, name=name, version="0.2.0")
    ctx = _crates(tmp_path, trusted, [crate], trusted.job_env(publish_repo))
    target = CratesTarget()
    target.preflight(ctx)
    assert target.publish(ctx).detail == "uploaded 1 crate(s)"
    assert target.status(ctx).state is State.PUBLISHED
    kinds = [e.outcome for e in trusted.fronts.crates.exchanges[-2:]]
    assert kinds == ["minted", "revoked"]
    token = _minted(trusted.fronts.crates)[-1]
    assert trusted.fronts.crates.grants[token].revoked
    # a revoked token publishes nothing any more
    again = requests.put(f"{trusted.fronts.crates.url}api/v1/crates/new", data=b"x",
                         headers={"Authorization": token}, timeout=10)
    assert again.status_code == 403


def test_crates_token_is_revoked_after_a_failed_upload(
        tmp_path: Path, trusted: Trusted, publish_repo: str) -> None:
    name = f"acme-tp-{_uid()}"
    _first_version(trusted, tmp_path, name)
    trusted.fronts.register(publish_repo, crates=name)
    crate = make_crate(tmp_path, name=name, version="0.2.0")
    ctx = _crates(tmp_path, trusted, [crate], trusted.job_env(publish_repo))
    trusted.crates.fail_uploads = 1
    with pytest.raises(TargetError, match="HTTP 500"):
        CratesTarget().publish(ctx)
    assert [e.outcome for e in trusted.fronts.crates.exchanges[-2:]] == ["minted", "revoked"]
    assert trusted.fronts.crates.grants[_minted(trusted.fronts.crates)[-1]].revoked
    assert (name.replace("-", "_"), "0.2.0") not in trusted.crates.crates


def test_a_crate_without_any_version_says_its_first_version_needs_a_token(
        tmp_path: Path, trusted: Trusted, publish_repo: str) -> None:
    name = f"acme-new-{_uid()}"
    trusted.fronts.register(publish_repo, crates=name)
    crate = make_crate(tmp_path, name=name, version="0.1.0")
    ctx = _crates(tmp_path, trusted, [crate], trusted.job_env(publish_repo))
    before = len(trusted.fronts.crates.exchanges)
    with pytest.raises(TrustedPublishingError) as info:
        CratesTarget().preflight(ctx)
    assert "first version" in info.value.message and name in info.value.message
    assert "CARGO_REGISTRY_TOKEN" in str(info.value.hint)
    assert len(trusted.fronts.crates.exchanges) == before  # nothing was asked for


# -- refused: another repository, workflow or environment ---------------------------------

VARIANTS = {
    "another repository": {"repository": "other"},
    "another workflow": {"workflow": "release.yml"},
    "another environment": {"environment": "staging"},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("registry", ["pypi", "npm", "crates"])
def test_a_token_of_another_identity_is_refused_and_nothing_is_published(
        tmp_path: Path, trusted: Trusted, publish_repo: str, gh_repo_factory: Callable[..., Any],
        registry: str, variant: str) -> None:
    if registry == "npm" and not npm_available():
        pytest.skip("npm not installed")
    name = f"acme-ref-{_uid()}"
    change = VARIANTS[variant]
    job_repo = gh_repo_factory(prefix="other").full_name if "repository" in change else publish_repo
    env = trusted.job_env(job_repo, workflow=change.get("workflow", "publish.yml"),
                          environment=change.get("environment", "production"))
    tmp = tmp_path / "files"
    tmp.mkdir()
    if registry == "pypi":
        whl = tmp / f"{name.replace('-', '_')}-1.0.0-py3-none-any.whl"
        with zipfile.ZipFile(whl, "w") as zf:  # never uploaded, but it must be a wheel
            zf.writestr(f"{name.replace('-', '_')}-1.0.0.dist-info/METADATA",
                        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n")
        trusted.fronts.register(publish_repo, pypi=name)
        ctx, target, front = _pypi(tmp_path, trusted, [whl], env), PyPITarget(), \
            trusted.fronts.pypi
        reason = "invalid-publisher"
    elif registry == "npm":
        from tests.unit.targets.ctx import make_tgz

        (tmp / "first").mkdir()
        trusted.npm_first_version(make_tgz(tmp / "first", name=name, version="0.1.0"))
        tgz = make_tgz(tmp, name=name, version="1.0.0")
        trusted.fronts.register(publish_repo, npm=name)
        ctx, target, front = _npm(tmp_path, trusted, [tgz], env), NpmTarget(), trusted.fronts.npm
        reason = "no trusted publisher matches"
    else:
        _first_version(trusted, tmp_path, name)
        crate = make_crate(tmp, name=name, version="0.2.0")
        trusted.fronts.register(publish_repo, crates=name)
        ctx, target, front = _crates(tmp_path, trusted, [crate], env), CratesTarget(), \
            trusted.fronts.crates
        reason = "No matching Trusted Publishing config found"
    target.preflight(ctx)  # the job can request an ID token: preflight is fine
    uploads_before = len(front.uploads())
    with pytest.raises(TrustedPublishingError) as info:
        target.publish(ctx)
    err = info.value
    assert reason in err.message and "refused the trusted publishing exchange" in err.message
    # the hint names the exact identity to register: this job's
    owner, repo_name = job_repo.split("/")
    assert f"owner `{owner}`, repository `{repo_name}`" in str(err.hint)
    assert f"workflow `{change.get('workflow', 'publish.yml')}`" in str(err.hint)
    assert f"environment `{change.get('environment', 'production')}`" in str(err.hint)
    assert front.exchanges[-1].outcome == "refused"
    assert len(front.uploads()) == uploads_before
    assert target.status(ctx).state is State.ABSENT


def test_npm_says_a_package_that_was_never_published_needs_its_first_version_by_token(
        tmp_path: Path, trusted: Trusted, publish_repo: str) -> None:
    from tests.unit.targets.ctx import make_tgz

    name = f"acme-never-{_uid()}"
    trusted.fronts.register(publish_repo, npm=name)
    ctx = _npm(tmp_path, trusted, [make_tgz(tmp_path, name=name, version="1.0.0")],
               trusted.job_env(publish_repo))
    with pytest.raises(TrustedPublishingError) as info:
        NpmTarget().publish(ctx)
    assert "package not found" in info.value.message
    assert "first version with an NPM_TOKEN" in str(info.value.hint)
    assert NpmTarget().status(ctx).state is State.ABSENT


def test_an_audience_the_registry_does_not_accept_is_explained(
        tmp_path: Path, trusted: Trusted, publish_repo: str) -> None:
    # A registry that expects another audience than the one its URL implies.
    front = Front("npm", trusted.registries.npm_url, trusted.registries.npm_token,
                  issuer=trusted.issuer, audience="npm:registry.npmjs.org").start()
    try:
        name = f"acme-aud-{_uid()}"
        front.register(name, publish_repo)
        from tests.unit.targets.ctx import make_tgz

        tgz = make_tgz(tmp_path, name=name, version="1.0.0")
        ctx = make_ctx(tmp_path, [tgz], name="npm", options={"registry": front.url},
                       env=trusted.job_env(publish_repo))
        with pytest.raises(TrustedPublishingError) as info:
            NpmTarget().publish(ctx)
        assert "audience" in info.value.message.lower()
        assert "audience `npm:127.0.0.1`" in str(info.value.hint)
        assert front.uploads() == []
    finally:
        front.stop()


# -- which credential -----------------------------------------------------------------------


def test_auto_with_a_secret_set_uses_the_secret(
        tmp_path: Path, trusted: Trusted, publish_repo: str,
        make_python_dist: Callable[..., list[Path]]) -> None:
    name = f"valet-tp-{_uid()}"
    files = make_python_dist(name, "1.0.0")
    trusted.fronts.register(publish_repo, pypi=name)
    env = {**trusted.job_env(publish_repo), "TWINE_USERNAME": trusted.registries.pypi_user,
           "TWINE_PASSWORD": trusted.registries.pypi_password}
    ctx = _pypi(tmp_path, trusted, files, env)
    before = len(trusted.fronts.pypi.exchanges)
    PyPITarget().preflight(ctx)
    PyPITarget().publish(ctx)
    assert PyPITarget().status(ctx).state is State.PUBLISHED
    assert len(trusted.fronts.pypi.exchanges) == before  # no exchange at all
    assert [f.with_grant for f in trusted.fronts.pypi.uploads()][-2:] == [False, False]


def test_always_without_id_token_fails_preflight_before_any_target_uploads(
        tmp_path: Path, trusted: Trusted, make_python_dist: Callable[..., list[Path]],
        make_npm_tarball: Callable[..., Path]) -> None:
    # pypi must use trusted publishing but the job has no id-token: write; crates has a
    # token and would publish. Nothing may be uploaded anywhere.
    name = f"valet-tp-{_uid()}"
    files = make_python_dist(name, "1.0.0")
    crate = make_crate(tmp_path, name=f"acme-al-{_uid()}", version="0.1.0")
    contexts = {
        "pypi": _pypi(tmp_path / "p", trusted, files,
                      {"TWINE_USERNAME": trusted.registries.pypi_user,
                       "TWINE_PASSWORD": trusted.registries.pypi_password},
                      trusted_publishing="always"),
        "crates": make_ctx(tmp_path / "c", [crate], name="crates",
                           options={"registry_url": trusted.crates.url},
                           env={"CARGO_REGISTRY_TOKEN": trusted.crates.token}),
    }
    plan = Plan(run=[PlanItem(k, ctx.target, list(ctx.files)) for k, ctx in contexts.items()])
    pypi_before, crates_before = len(trusted.fronts.pypi.uploads()), trusted.crates.uploads()
    outcome = execute(plan, get_target, lambda item: contexts[item.key], tick=lambda k: None)
    assert outcome.preflight_failed
    err = outcome.results["pypi"].error
    assert isinstance(err, TrustedPublishingError)
    assert "`always`" in err.message and "id-token: write" in str(err.hint)
    assert "permissions:" in str(err.hint)
    assert outcome.results["crates"].outcome == "not run"
    assert len(trusted.fronts.pypi.uploads()) == pypi_before
    assert trusted.crates.uploads() == crates_before


def test_the_publish_side_can_force_never_over_the_sdk_option(
        tmp_path: Path, trusted: Trusted, publish_repo: str) -> None:
    name = f"acme-nv-{_uid()}"
    _first_version(trusted, tmp_path, name)
    trusted.fronts.register(publish_repo, crates=name)
    crate = make_crate(tmp_path, name=name, version="0.2.0")
    env = {**trusted.job_env(publish_repo), "INPUT_TRUSTED_PUBLISHING": "crates: never",
           "CARGO_REGISTRY_TOKEN": trusted.crates.token}
    # the SDK asks for trusted publishing; the publish repo's admins said never.
    ctx = make_ctx(tmp_path, [crate], name="crates", env=env,
                   options={"registry_url": trusted.fronts.crates.url.rstrip("/"),
                            "trusted_publishing": "always"})
    before = len(trusted.fronts.crates.exchanges)
    CratesTarget().preflight(ctx)
    CratesTarget().publish(ctx)
    assert len(trusted.fronts.crates.exchanges) == before
    assert (name.replace("-", "_"), "0.2.0") in trusted.crates.crates



def test_minted_and_id_tokens_are_guarded_secrets(trusted: Trusted, publish_repo: str) -> None:
    # The secrets guard fails the session if any of these appears in a log.
    from tests.fixtures.secrets_guard import recorded_secrets
    from valet import trusted_publishing as tp

    env = trusted.job_env(publish_repo)
    trusted.fronts.register(publish_repo, crates="acme-guarded")
    with tp.crates_token("crates", trusted.fronts.crates.url.rstrip("/"), ["acme-guarded"],
                         env) as token:
        assert token in recorded_secrets()
    id_token = tp.request_id_token(env, "anything")
    assert id_token in recorded_secrets()
    assert env[tp.REQUEST_TOKEN] in recorded_secrets()
