"""Trusted publishing: which credential a target uses, and the pure helpers of the exchange."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.targets.ctx import make_crate, make_ctx, make_tgz
from valet import trusted_publishing as tp
from valet.errors import TargetError, TrustedPublishingError, UsageError
from valet.trusted_publishing import Mode

JOB = {tp.REQUEST_URL: "http://127.0.0.1:9/_sandbox/oidc/token?api-version=2.0",
       tp.REQUEST_TOKEN: "request-token-123456"}


def test_the_publish_input_is_one_mode_or_entries_per_target() -> None:
    assert tp.parse_publish_input("") == {}
    assert tp.parse_publish_input("always") == {"*": Mode.ALWAYS}
    assert tp.parse_publish_input("pypi: always\nnpm[@acme/sdk]=never, crates: auto") == {
        "pypi": Mode.ALWAYS, "npm[@acme/sdk]": Mode.NEVER, "crates": Mode.AUTO}
    for bad in ("sometimes", "pypi: maybe", "pypi"):
        with pytest.raises(UsageError):
            tp.parse_publish_input(bad)


@pytest.mark.parametrize(("option", "publish", "mode", "source"), [
    (None, None, Mode.AUTO, "default"),
    ("never", None, Mode.NEVER, "option"),
    ("always", "auto", Mode.ALWAYS, "option"),  # the publish side's auto defers to the SDK
    ("always", "never", Mode.NEVER, "input"),  # the publish side's never wins
    ("never", "always", Mode.ALWAYS, "input"),  # ... and so does its always
    (None, "npm: never", Mode.AUTO, "default"),  # an entry for another target
    ("never", "pypi[b]: always", Mode.ALWAYS, "input"),  # the key beats the name
    ("auto", "pypi: never\npypi[b]: auto", Mode.NEVER, "input"),
])
def test_the_publish_side_decides_when_it_says_always_or_never(
        option: str | None, publish: str | None, mode: Mode, source: str) -> None:
    choice = tp.mode_for("pypi[b]", "pypi", option, publish)
    assert choice.mode is mode
    assert source in choice.source


def test_an_invalid_sdk_option_names_the_key() -> None:
    with pytest.raises(TrustedPublishingError) as info:
        tp.mode_for("npm", "npm", "yes", None)
    assert "trusted_publishing" in info.value.message


def _npm_ctx(tmp_path: Path, env: dict[str, str], **options: str):
    return make_ctx(tmp_path, [make_tgz(tmp_path)], name="npm", env=env, options=options)


@pytest.mark.parametrize(("options", "env", "oidc"), [
    ({}, {"NPM_TOKEN": "npm-secret-1"}, False),  # auto + a secret: the secret
    ({}, {"NPM_TOKEN": "npm-secret-1", **JOB}, False),
    ({}, JOB, True),  # auto, no secret, id-token: write
    ({"trusted_publishing": "always"}, {"NPM_TOKEN": "npm-secret-1", **JOB}, True),
    ({"trusted_publishing": "never"}, {"NPM_TOKEN": "npm-secret-1", **JOB}, False),
])
def test_which_credential(tmp_path: Path, options: dict[str, str], env: dict[str, str],
                          oidc: bool) -> None:
    from valet.targets.npm import uses_oidc

    assert uses_oidc(_npm_ctx(tmp_path, env, **options)) is oidc


def test_auto_with_nothing_recommends_trusted_publishing_and_offers_the_secret(
        tmp_path: Path) -> None:
    from valet.targets.npm import NpmTarget

    with pytest.raises(TargetError) as info:
        NpmTarget().preflight(_npm_ctx(tmp_path, {}))
    assert "NPM_TOKEN is not set" in info.value.message
    hint = str(info.value.hint)
    assert "id-token: write" in hint and "${{ secrets.NPM_TOKEN }}" in hint


def test_always_without_id_token_gives_the_yaml(tmp_path: Path) -> None:
    from valet.targets.crates import CratesTarget

    ctx = make_ctx(tmp_path, [make_crate(tmp_path)], name="crates",
                   env={"CARGO_REGISTRY_TOKEN": "cio-secret-1"},
                   options={"trusted_publishing": "always"})
    with pytest.raises(TrustedPublishingError) as info:
        CratesTarget().preflight(ctx)
    assert "`always`" in info.value.message and tp.REQUEST_URL in info.value.message
    assert "permissions:\n          id-token: write" in str(info.value.hint)


def test_never_without_a_secret_says_trusted_publishing_is_off(tmp_path: Path) -> None:
    from valet.targets.pypi import PyPITarget

    whl = tmp_path / "acme_sdk-1.2.3-py3-none-any.whl"
    whl.write_bytes(b"w")
    ctx = make_ctx(tmp_path, [whl], name="pypi", env=JOB,
                   options={"trusted_publishing": "never"})
    with pytest.raises(TargetError) as info:
        PyPITarget().preflight(ctx)
    assert "PYPI_TOKEN is not set" in info.value.message and "`never`" in info.value.message


def test_the_audience_is_appended_to_githubs_request_url() -> None:
    assert tp.with_query(JOB[tp.REQUEST_URL], audience="npm:registry.npmjs.org") == (
        "http://127.0.0.1:9/_sandbox/oidc/token?api-version=2.0&audience=npm%3Aregistry.npmjs.org")
    assert tp.with_query("https://x/token", audience="pypi") == "https://x/token?audience=pypi"


def test_registry_specific_names() -> None:
    assert tp.npm_audience("https://registry.npmjs.org/") == "npm:registry.npmjs.org"
    assert tp.npm_audience("http://127.0.0.1:4873/") == "npm:127.0.0.1"
    assert tp.npm_escaped("@acme/sdk") == "@acme%2fsdk" and tp.npm_escaped("sdk") == "sdk"
    assert tp.crates_audience("https://crates.io") == "crates.io"
    assert tp.crates_audience("http://127.0.0.1:5000/") == "127.0.0.1:5000"


def test_the_identity_to_register_comes_from_the_job_token() -> None:
    claims = {"repository": "acme/publish", "environment": "production",
              "workflow_ref": "acme/publish/.github/workflows/publish.yml@refs/heads/main"}
    who = tp.identity(claims, {})
    assert who == tp.Identity("acme", "publish", "publish.yml", "production")
    assert who.describe() == ("owner `acme`, repository `publish`, workflow `publish.yml`, "
                              "environment `production`")
    assert tp.workflow_file("o/r/.github/workflows/a.yaml@refs/tags/v1") == "a.yaml"
    assert tp.workflow_file("nonsense") is None
    hint = tp.register_hint("crates.io", "acme-sdk", who)
    assert "`acme-sdk`" in hint and "Trusted Publishing" in hint and who.describe() in hint


def test_pypi_refusal_reasons_keep_code_and_description() -> None:
    body = {"message": "Token request failed", "errors": [
        {"code": "invalid-publisher", "description": "valid token, but no publisher"},
        {"code": "invalid-token", "description": "expired"}]}
    reason, codes = tp.pypi_reason(body)
    assert reason == "invalid-publisher: valid token, but no publisher; invalid-token: expired"
    assert codes == {"invalid-publisher", "invalid-token"}
    assert tp.pypi_reason({"message": "nope"}) == ("nope", set())
    assert tp.pypi_reason(None) == ("no reason given", set())


def test_npm_gets_no_id_token_request_variables(tmp_path: Path) -> None:
    # npm would run its own exchange with them and silently fall back when it fails.
    from valet.targets.base import child_env

    env = child_env({**JOB, "PATH": "/bin", "GITHUB_ACTIONS": "true"}, {"NPM_TOKEN": "t"})
    assert tp.REQUEST_URL not in env and tp.REQUEST_TOKEN not in env
    assert "GITHUB_ACTIONS" not in env


def test_the_option_is_valid_config_for_the_three_registries_only() -> None:
    from valet.config_load import parse_config
    from valet.errors import ConfigError

    text = ("targets:\n  - name: pypi\n    trusted_publishing: always\n"
            "  - name: npm\n    trusted_publishing: never\n  - name: crates\n"
            "    trusted_publishing: auto\n")
    config = parse_config(text, ".valet.yml")
    assert [t.options["trusted_publishing"] for t in config.targets] == ["always", "never", "auto"]
    with pytest.raises(ConfigError):
        parse_config("targets:\n  - name: pypi\n    trusted_publishing: sometimes\n", ".valet.yml")
    with pytest.raises(ConfigError):
        parse_config("targets:\n  - name: github\n    trusted_publishing: always\n", ".valet.yml")
