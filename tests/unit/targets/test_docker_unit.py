"""docker target: the pure parts (names, templates, logins, argv) without a registry."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.targets.ctx import make_ctx
from valet.errors import ConfigError, TargetError
from valet.targets import docker
from valet.targets.base import Destination
from valet.targets.docker import DockerTarget
from valet.template import render

SHA = "a" * 40
DIGEST = "sha256:" + "b" * 64


def test_registry_host_follows_crafts_rule() -> None:
    assert docker.registry_host("ghcr.io/getsentry/craft") == "ghcr.io"
    assert docker.registry_host("127.0.0.1:5000/acme/app") == "127.0.0.1:5000"
    assert docker.registry_host("localhost/app") == "localhost"
    assert docker.registry_host("getsentry/craft") == "docker.io"
    assert docker.registry_host("index.docker.io/getsentry/craft") == "docker.io"
    assert docker.full_name("getsentry/craft") == "docker.io/getsentry/craft"
    assert docker.full_name("registry-1.docker.io/a/b") == "docker.io/a/b"
    assert docker.env_prefix("ghcr.io") == "DOCKER_GHCR_IO"
    assert docker.env_prefix("us-docker.pkg.dev") == "DOCKER_US_DOCKER_PKG_DEV"
    assert docker.env_prefix("127.0.0.1:5000") == "DOCKER_127_0_0_1_5000"


def test_default_formats_and_the_latest_tag() -> None:
    spec = docker.spec_of({"source": "us.gcr.io/sentryio/relay", "target": "getsentry/relay"})
    assert docker.render_ref(spec, "source", version="1.2.3", revision=SHA, where="t") == \
        f"us.gcr.io/sentryio/relay:{SHA}"
    assert docker.render_ref(spec, "target", version="1.2.3", revision=SHA, where="t") == \
        "getsentry/relay:1.2.3"
    assert not docker.moves(spec)
    latest = docker.spec_of({"source": "a.io/x", "target": "b/x",
                             "target_format": "{{{target}}}:latest"})
    assert docker.render_ref(latest, "target", version="1", revision=SHA, where="t") == "b/x:latest"
    assert docker.moves(latest)
    both = docker.spec_of({"source": "a.io/x", "target": "b/x",
                           "source_format": "{{{image}}}:v{{version}}",
                           "target_format": "{{{source}}}-mirror:{{{version}}}"})
    assert docker.render_ref(both, "source", version="2", revision=SHA, where="t") == "a.io/x:v2"
    assert docker.render_ref(both, "target", version="2", revision=SHA, where="t") == \
        "a.io/x-mirror:2"


@pytest.mark.parametrize("options, message", [
    ({"target": "b/x"}, "needs `source`"),
    ({"source": "a.io/x:tag", "target": "b/x"}, "is not an image name"),
    ({"source": "a.io/X", "target": "b/x"}, "is not an image name"),
    ({"source": "a.io/x", "target": "b/x", "target_format": "{{{target}}}:{{{tag}}}"},
     "unknown placeholder"),
    ({"source": "a.io/x", "target": {"image": "b/x", "username_var": "U"}},
     "only one of username_var and password_var"),
    ({"source": "a.io/x", "target": {"image": "b/x", "colour": "red"}}, "target.colour"),
    ({"source": "a.io/x", "target": "b/x", "target_format": "{{{target}}}"}, "not image:tag"),
    ({"source": "a.io/x", "target": "b/x", "target_format": "{{{target}}}:a b"}, "not image:tag"),
])
def test_bad_options_are_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        spec = docker.spec_of(options, "docker")
        docker.render_ref(spec, "target", version="1.0.0", revision=SHA, where="docker")


def test_logins_per_registry_in_order() -> None:
    target = docker.ImageRef(image="ghcr.io/acme/app", format="x")
    env = {"DOCKER_GHCR_IO_USERNAME": "u1", "DOCKER_GHCR_IO_PASSWORD": "p1",
           "DOCKER_USERNAME": "u2", "DOCKER_PASSWORD": "p2", "GITHUB_TOKEN": "gh"}
    assert docker.credentials(target, env, side="target") == docker.Login("ghcr.io", "u1", "p1")
    only_default = {"DOCKER_USERNAME": "u2", "DOCKER_PASSWORD": "p2", "GITHUB_TOKEN": "gh"}
    assert docker.credentials(target, only_default, side="target") == \
        docker.Login("ghcr.io", "u2", "p2")
    # the source never falls back to the target's default login, nor to GITHUB_TOKEN
    assert docker.credentials(target, only_default, side="source") is None
    explicit = docker.ImageRef(image="acme/app", format="x", username_var="HUB_U",
                               password_var="HUB_P")
    assert docker.credentials(explicit, {**env, "HUB_U": "u3", "HUB_P": "p3"},
                              side="target") == docker.Login("docker.io", "u3", "p3")
    with pytest.raises(TargetError, match="HUB_U / HUB_P"):
        docker.credentials(explicit, env, side="target")
    assert docker.credentials(docker.ImageRef("ghcr.io/a/b", "x", skip_login=True), env,
                              side="target") is None
    assert not docker.needs_login(docker.ImageRef("us-docker.pkg.dev/p/r/app", "x"))
    assert not docker.needs_login(docker.ImageRef("us.gcr.io/p/app", "x"))
    assert docker.needs_login(docker.ImageRef("ghcr.io/p/app", "x"))


def _ctx(tmp_path: Path, env: dict[str, str] | None = None, **options: Any) -> Any:
    opts = {"source": "ghcr.io/acme/app", "target": "acme/app", **options}
    ctx = make_ctx(tmp_path, [], name="docker", options=opts, sha=SHA,
                   env={"DOCKER_USERNAME": "hub", "DOCKER_PASSWORD": "hub-secret", **(env or {})})
    ctx.request.images = [{"id": "docker", "source": f"ghcr.io/acme/app:{SHA}", "digest": DIGEST}]
    return ctx


def test_destinations_name_the_host_and_the_full_image(tmp_path: Path) -> None:
    assert DockerTarget().destinations(_ctx(tmp_path)) == [
        Destination("host", "docker.io"), Destination("package", "docker.io/acme/app")]
    ctx = _ctx(tmp_path, target="ghcr.io/acme/app", target_format="{{{target}}}:latest")
    assert DockerTarget().destinations(ctx) == [
        Destination("host", "ghcr.io"), Destination("package", "ghcr.io/acme/app")]


@pytest.mark.parametrize("images, message", [
    ([], "approves no image digest"),
    ([{"id": "docker", "source": f"ghcr.io/acme/app:{SHA}", "digest": "sha256:bad"}],
     "not sha256"),
    ([{"id": "docker", "source": "ghcr.io/acme/other:x", "digest": DIGEST}],
     "names 'ghcr.io/acme/app:"),
    ([{"id": "docker", "source": f"ghcr.io/acme/app:{SHA}", "digest": DIGEST}] * 2,
     "more than one"),
])
def test_the_approved_digest_must_fit_the_config(tmp_path: Path, images: list[dict[str, str]],
                                                 message: str) -> None:
    ctx = _ctx(tmp_path)
    ctx.request.images = images
    with pytest.raises(TargetError, match=message):
        DockerTarget().status(ctx)


class _Recorder:
    def __init__(self, answers: list[tuple[int, bytes, bytes]]) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answers = answers

    def __call__(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        files = {}
        for flag in ("--authfile", "--src-authfile", "--dest-authfile"):
            if flag in argv:
                path = Path(argv[argv.index(flag) + 1])
                files[flag] = (stat.S_IMODE(path.stat().st_mode), json.loads(path.read_text()))
        self.calls.append({"argv": argv, "env": kw.get("env"), "files": files})
        code, out, err = self.answers.pop(0)
        return subprocess.CompletedProcess(argv, code, out, err)


def test_logins_reach_skopeo_in_a_private_file_never_in_argv(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = b'{"schemaVersion": 2}'
    digest = docker.manifest_digest(raw)
    env = {"DOCKER_GHCR_IO_USERNAME": "src-user", "DOCKER_GHCR_IO_PASSWORD": "src-secret",
           "NPM_TOKEN": "not-for-skopeo"}
    ctx = _ctx(tmp_path, env)
    ctx.request.images[0]["digest"] = digest
    rec = _Recorder([(1, b"", b"manifest unknown: manifest unknown"),  # status: not there
                     (0, b"", b""),  # copy
                     (0, raw, b"")])  # re-check
    monkeypatch.setattr(docker.shutil, "which", lambda *a, **k: "/usr/bin/skopeo")
    monkeypatch.setattr(docker.subprocess, "run", rec)
    receipt = DockerTarget().publish(ctx)
    assert receipt.extra["digest"] == digest
    copy = rec.calls[1]
    assert copy["argv"][1:5] == ["copy", "--all", "--preserve-digests", "--quiet"]
    assert copy["argv"][-2:] == [f"docker://ghcr.io/acme/app@{digest}", "docker://acme/app:1.2.3"]
    for call in rec.calls:
        text = " ".join(call["argv"])
        assert "secret" not in text and "hub" not in text.replace("docker.io", "")
        assert "NPM_TOKEN" not in call["env"] and "DOCKER_PASSWORD" not in call["env"]
    src_mode, src_auth = copy["files"]["--src-authfile"]
    dst_mode, dst_auth = copy["files"]["--dest-authfile"]
    assert src_mode == dst_mode == 0o600
    assert list(src_auth["auths"]) == ["ghcr.io"] and list(dst_auth["auths"]) == ["docker.io"]
    assert not list(ctx.workdir.glob("auth-*"))  # removed afterwards


def test_preflight_needs_skopeo_and_a_target_login(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _ctx(tmp_path)
    ctx.env = {"PATH": str(tmp_path)}  # no skopeo there, no login
    with pytest.raises(TargetError, match="skopeo"):
        DockerTarget().preflight(ctx)
    monkeypatch.setattr(docker.shutil, "which", lambda *a, **k: "/usr/bin/skopeo")
    with pytest.raises(TargetError, match="no login for docker.io") as info:
        DockerTarget().preflight(ctx)
    assert "DOCKER_DOCKER_IO_PASSWORD" in str(info.value.hint)


def test_template_rules() -> None:
    assert render("{{version}}-{{{ version }}}", {"version": "1"}, where="w") == "1-1"
    with pytest.raises(ConfigError, match="not a placeholder"):
        render("{{#version}}x{{/version}}", {"version": "1"}, where="w")
    with pytest.raises(ConfigError, match="unknown placeholder"):
        render("{{nope}}", {"version": "1"}, where="w")
