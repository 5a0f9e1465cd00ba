"""Trusted publishing end to end: no registry secret anywhere, only `id-token: write`.

release.yml prepares and requests a release with a wheel, an sdist, an npm
tarball and a crate; publish.yml (the example, whose publish job grants
`id-token: write`) runs under act with nothing but the App key as a secret. The
job's ID token comes from the sandbox issuer; the exchanges in front of
pypiserver, verdaccio and the crates.io fake trade it for short-lived tokens,
and the uploads reach the real registries.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.act.world import World, build_world
from tests.fixtures.trusted_publishing import Trusted
from tests.unit.targets.ctx import make_crate, make_ctx, make_tgz

pytestmark = [pytest.mark.act, pytest.mark.sandbox]

PKG = "valet-tp-demo"
DIST = "valet_tp_demo"

VALET_YML = """\
build: python build.py
artifacts: [dist/*]
targets:
  - name: pypi
  - name: npm
  - name: crates
  - name: github
"""

# A wheel, an sdist, an npm tarball and a .crate from VALET_VERSION, stdlib only.
BUILD_PY = textwrap.dedent(f'''\
    import io, json, os, tarfile, zipfile
    v = os.environ["VALET_VERSION"]
    os.makedirs("dist", exist_ok=True)
    meta = "Metadata-Version: 2.1\\nName: {PKG}\\nVersion: " + v + "\\nSummary: demo\\n"
    info = "{DIST}-" + v + ".dist-info"
    with zipfile.ZipFile("dist/{DIST}-" + v + "-py3-none-any.whl", "w") as whl:
        whl.writestr("{DIST}/__init__.py", "VERSION = %r\\n" % v)
        whl.writestr(info + "/METADATA", meta)
        whl.writestr(info + "/WHEEL", "Wheel-Version: 1.0\\nGenerator: e2e\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
        whl.writestr(info + "/RECORD", "")
    def tgz(path, files):
        with tarfile.open(path, "w:gz") as tar:
            for name, text in files.items():
                data = text.encode()
                ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 0
                tar.addfile(ti, io.BytesIO(data))
    tgz("dist/{DIST}-" + v + ".tar.gz", {{"{DIST}-" + v + "/PKG-INFO": meta,
        "{DIST}-" + v + "/setup.py": "from setuptools import setup; setup()\\n"}})
    tgz("dist/{PKG}-" + v + ".tgz", {{"package/package.json": json.dumps(
        {{"name": "{PKG}", "version": v, "main": "index.js", "license": "MIT"}}),
        "package/index.js": "module.exports = 1;\\n"}})
    tgz("dist/{PKG}-" + v + ".crate", {{"{PKG}-" + v + "/Cargo.toml":
        '[package]\\nname = "{PKG}"\\nversion = "' + v + '"\\nlicense = "MIT"\\n'
        'description = "demo"\\n', "{PKG}-" + v + "/src/lib.rs": "pub fn f() {{}}\\n"}})
''')


@pytest.fixture(scope="module")
def tp_world(sandbox: Any, registries: Any, trusted: Trusted,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("tp-e2e")
    world = build_world(sandbox, registries, work, valet_yml=VALET_YML, build_py=BUILD_PY)
    # The publish repository's publish.yml in `production` is the trusted publisher.
    trusted.fronts.register(world.publish, pypi=PKG, npm=PKG, crates=PKG)
    # npm and crates.io: a package's first version needs a token.
    trusted.npm_first_version(make_tgz(work, name=PKG, version="0.0.1"))
    first = make_crate(work, name=PKG, version="0.0.1")
    from valet.targets.crates import CratesTarget

    CratesTarget().publish(make_ctx(work / "first", [first], name="crates",
                                    options={"registry_url": trusted.crates.url},
                                    env={"CARGO_REGISTRY_TOKEN": trusted.crates.token}))
    yield world


def _pypi_digests(trusted: Trusted) -> dict[str, str]:
    page = requests.get(f"{trusted.registries.pypi_index_url}{PKG}/", timeout=30)
    return {m.group(1): m.group(2) for m in
            re.finditer(r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"', page.text)}


def _npm_sha256(trusted: Trusted, version: str) -> str | None:
    regs = trusted.registries
    auth = {"Authorization": f"Bearer {regs.npm_token}"}
    meta = requests.get(f"{regs.npm_url}{PKG}", headers=auth, timeout=30).json()
    dist = meta.get("versions", {}).get(version, {}).get("dist")
    if not dist:
        return None
    return hashlib.sha256(requests.get(dist["tarball"], headers=auth, timeout=30).content
                          ).hexdigest()


def test_publish_with_no_registry_secret_only_id_token_write(tp_world: World,
                                                            trusted: Trusted) -> None:
    w, v = tp_world, "2.0.0"
    w.release(v)
    w.set_ci(v, "completed", "success")
    fronts = trusted.fronts
    seen = {f.kind: len(f.exchanges) for f in fronts.all()}
    granted = {f.kind: len(f.grants) for f in fronts.all()}
    # No registry secret and no registry credential in the environment: only where the
    # registries are, and the job's ID-token request variables (id-token: write).
    env = {"TWINE_REPOSITORY_URL": fronts.pypi.url,
           "PYPI_INDEX_URL": trusted.registries.pypi_index_url,
           "NPM_REGISTRY": fronts.npm.url, "CRATES_API_URL": fronts.crates.url.rstrip("/")}
    result = w.label(v, w.approver, secrets={"PUBLISH_APP_PRIVATE_KEY": w.app_token}, env=env,
                     id_token=trusted.job_env(w.publish))
    assert result.ok, result.describe()
    assert w.labels(v) == {"published"}
    assert w.checked(v) == {"pypi": True, "npm": True, "crates": True, "github": True}

    manifest = w.manifest(v)
    pypi = _pypi_digests(trusted)
    for name in (f"{DIST}-{v}-py3-none-any.whl", f"{DIST}-{v}.tar.gz"):
        assert pypi[name] == manifest[name]
    assert _npm_sha256(trusted, v) == manifest[f"{PKG}-{v}.tgz"]
    assert trusted.crates.crates[(DIST, v)].checksum == manifest[f"{PKG}-{v}.crate"]

    # Each registry minted a token for this job's identity; crates.io's was revoked.
    for front in fronts.all():
        new = front.exchanges[seen[front.kind]:]
        assert [e.outcome for e in new] == (["minted", "revoked"] if front.kind == "crates"
                                            else ["minted"]), front.kind
        claims = new[0].claims
        assert claims["repository"] == w.publish and claims["environment"] == "production"
        assert claims["workflow_ref"].startswith(f"{w.publish}/.github/workflows/publish.yml@")
        assert any(f.with_grant for f in front.uploads()), front.kind
    minted = [t for f in fronts.all() for t in list(f.grants)[granted[f.kind]:]]
    assert len(minted) == 3
    for token in minted:  # (the secrets guard also scans every log of the session)
        assert token not in result.stdout
        assert not any(token in value for out in result.outputs.values()
                       for value in out.values())
    assert "publishes with trusted publishing" in result.stdout
