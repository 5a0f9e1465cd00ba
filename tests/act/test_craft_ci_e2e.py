"""craft repositories switch to valet as they are: `.craft.yml`, files built by their own CI
(act, end to end, no `.valet.yml` anywhere).

Two SDK repositories, each with a `.craft.yml` shaped like a real one of the corpus and
the example `release-from-ci.yml` (bump, prepare, request) as their release workflow:

* like getsentry/arroyo: github + pypi, `artifactProvider: github` with no config, so
  the release takes the one artifact named after the release commit's sha, which the
  SDK's CI workflow (`build.py` from the bumped `pyproject.toml`) uploads;
* like getsentry/dotagents: two `npm` targets with `id`s and `includeNames`, a
  `preReleaseCommand` that bumps both package.json files (run in the token-free bump
  job), and `config.artifacts: {CI: [npm-package]}`: CI packs both packages with
  `npm pack` into one artifact named npm-package.

The release runs under act; the prepare job's push starts CI as on GitHub, here by
tests/act/ci_on_push.py: the sandbox reports the push, CI runs with act on the pushed
commit as a recorded workflow run, its uploads go through act's artifact server, and
the zips are then served by the sandbox's Actions API (runs of a commit, a run's
artifacts, the zip behind a 302), which is all the request job reads. The request job
really waits: it polls (every second here) until that run has finished. Then the
approval issue lists exactly the digests of the files inside CI's zips, the release is
approved and publish.yml ships them to pypiserver / verdaccio and GitHub.

Changed from the example for the test: the wait is 5 minutes instead of 60, so that a
broken CI fails the test in minutes. What act's host mode changes is in
tests/act/ci_on_push.py and tests/act/test_token_free_build.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import textwrap
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.act.ci_on_push import CiOnPush, CiRun
from tests.act.world import REPO_ROOT, World, build_world
from valet.issue_format import parse_issue

pytestmark = [pytest.mark.act, pytest.mark.sandbox]

RELEASE_FROM_CI = (REPO_ROOT / "examples/sdk-repo/.github/workflows/release-from-ci.yml") \
    .read_text().replace('ci-timeout-minutes: "60"', 'ci-timeout-minutes: "5"')
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
UPLOAD = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0"


def ci_yml(build: list[str], upload: str, name: str) -> str:
    runs = "".join(f"      - run: {line}\n" for line in build)
    return textwrap.dedent(f"""\
        name: CI
        on:
          push:
            branches: [release/**]
        permissions: {{}}
        jobs:
          build:
            runs-on: ubuntu-latest
            permissions:
              contents: read
            steps:
              - uses: {CHECKOUT}
                with:
                  persist-credentials: false
              - uses: {SETUP_PYTHON}
                with:
                  python-version: "3.12"
        """) + runs + textwrap.indent(textwrap.dedent(f"""\
        - uses: {UPLOAD}
          with:
            name: {name}
            path: {upload}
            if-no-files-found: error
        """), "      ")


# -- like getsentry/arroyo ----------------------------------------------------------------

PY_BUILD = textwrap.dedent('''\
    """The SDK's build: a wheel and an sdist of the version in pyproject.toml."""
    import io, os, tarfile, tomllib, zipfile
    project = tomllib.load(open("pyproject.toml", "rb"))["project"]
    name, v = project["name"], project["version"]
    dist = name.replace("-", "_")
    os.makedirs("dist", exist_ok=True)
    meta = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {v}\\nSummary: e2e\\n"
    info = f"{dist}-{v}.dist-info"
    with zipfile.ZipFile(f"dist/{dist}-{v}-py3-none-any.whl", "w") as whl:
        whl.writestr(f"{dist}/__init__.py", f"VERSION = {v!r}\\n")
        whl.writestr(f"{info}/METADATA", meta)
        whl.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\\nGenerator: e2e\\n"
                     "Root-Is-Purelib: true\\nTag: py3-none-any\\n")
        whl.writestr(f"{info}/RECORD", "")
    with tarfile.open(f"dist/{dist}-{v}.tar.gz", "w:gz") as tar:
        for member, text in {f"{dist}-{v}/PKG-INFO": meta,
                             f"{dist}-{v}/pyproject.toml": open("pyproject.toml").read()}.items():
            data = text.encode()
            ti = tarfile.TarInfo(member); ti.size = len(data); ti.mtime = 0
            tar.addfile(ti, io.BytesIO(data))
''')


def arroyo_files(org: str, package: str) -> dict[str, str | None]:
    return {
        ".valet.yml": None,
        "build.py": PY_BUILD,
        "pyproject.toml": f'[project]\nname = "{package}"\nversion = "0.0.0"\n',
        "CHANGES.rst": "Changes\n=======\n",
        ".craft.yml": textwrap.dedent(f"""\
            minVersion: 0.23.1
            github:
              owner: {org}
              repo: sdk
            changelog: CHANGES.rst
            changelogPolicy: auto
            statusProvider:
              name: github
            artifactProvider:
              name: github
            targets:
              - name: github
              - name: pypi
            """),
        ".github/workflows/ci.yml": ci_yml(["python build.py"], "dist/", "${{ github.sha }}"),
        ".github/workflows/release.yml": RELEASE_FROM_CI,
    }


# -- like getsentry/dotagents -------------------------------------------------------------

BUMP_MJS = textwrap.dedent("""\
    // The SDK's own bump script (craft's preReleaseCommand): both packages, and the
    // host's dependency on the library, get the new version.
    import { readFileSync, writeFileSync } from "node:fs";
    const version = process.argv.at(-1);
    for (const dir of ["packages/lib", "packages/host"]) {
      const file = `${dir}/package.json`;
      const pkg = JSON.parse(readFileSync(file, "utf8"));
      pkg.version = version;
      for (const dep of Object.keys(pkg.dependencies ?? {})) pkg.dependencies[dep] = version;
      writeFileSync(file, JSON.stringify(pkg, null, 2) + "\\n");
    }
""")


def dotagents_files(org: str) -> dict[str, str | None]:
    lib, host = f"@{org}/dotagents-lib", f"@{org}/dotagents"
    return {
        ".valet.yml": None,
        "build.py": None,
        "scripts/bump-version.mjs": BUMP_MJS,
        "packages/lib/package.json": json.dumps(
            {"name": lib, "version": "0.0.0", "main": "index.js", "license": "MIT"},
            indent=2) + "\n",
        "packages/lib/index.js": "module.exports = 'lib';\n",
        "packages/host/package.json": json.dumps(
            {"name": host, "version": "0.0.0", "main": "index.js", "license": "MIT",
             "dependencies": {lib: "0.0.0"}}, indent=2) + "\n",
        "packages/host/index.js": "module.exports = require('" + lib + "');\n",
        "CHANGELOG.md": "# Changelog\n",
        ".craft.yml": textwrap.dedent(f"""\
            minVersion: "2.21.2"
            changelog:
              policy: auto
            preReleaseCommand: node scripts/bump-version.mjs
            artifactProvider:
              name: github
              config:
                artifacts:
                  CI:
                    - npm-package
            targets:
              # Publish lib first, host second, as dotagents does.
              - name: npm
                id: "{lib}"
                includeNames: /^{org}-dotagents-lib-\\d.*\\.tgz$/
                access: public
              - name: npm
                id: "{host}"
                includeNames: /^{org}-dotagents-\\d.*\\.tgz$/
                access: public
              - name: github
            """),
        ".github/workflows/ci.yml": ci_yml(
            ["mkdir -p dist", "cd packages/lib && npm pack --pack-destination ../../dist",
             "cd packages/host && npm pack --pack-destination ../../dist"],
            "dist/*.tgz", "npm-package"),
        ".github/workflows/release.yml": RELEASE_FROM_CI,
    }


# -- worlds ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def arroyo(sandbox: Any, registries: Any, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[World, str]]:
    org = f"acme-{uuid.uuid4().hex[:6]}"
    package = f"arroyo-e2e-{uuid.uuid4().hex[:6]}"
    yield build_world(sandbox, registries, tmp_path_factory.mktemp("craft-arroyo"), org=org,
                      sdk_files=arroyo_files(org, package)), package


@pytest.fixture(scope="module")
def dotagents(sandbox: Any, registries: Any, tmp_path_factory: pytest.TempPathFactory,
              ) -> Iterator[World]:
    org = f"acme-{uuid.uuid4().hex[:6]}"
    yield build_world(sandbox, registries, tmp_path_factory.mktemp("craft-dotagents"), org=org,
                      sdk_files=dotagents_files(org))


def release_with_ci(world: World, version: str) -> tuple[Any, CiRun]:
    """release.yml as the requester, while CI runs on the pushed release branch."""
    event = {"inputs": {"version": version}, "sender": {"login": world.requester[0]},
             "repository": {"full_name": world.sdk, "name": world.sdk.split("/")[1],
                            "owner": {"login": world.org}}}
    with CiOnPush(world) as ci:
        result = world.act(world.sdk_dir, ".github/workflows/release.yml", "workflow_dispatch",
                           event, secrets={"REQUEST_APP_PRIVATE_KEY": world.request_app[1]},
                           env={"VALET_CI_POLL_SECONDS": "1"})
    assert not ci.errors, ci.errors
    assert result.ok, result.describe()
    assert result.jobs == {"bump": "success", "prepare": "success", "request": "success"}
    (run,) = ci.runs
    assert run.result.ok, run.result.describe()
    assert run.ref == f"refs/heads/release/{version}"
    title = f"publish: {world.sdk}@{version}"
    (issue,) = [i for i in world.gh().get_repo(world.publish).get_issues(state="open")
                if i.title == title]
    world.issues[version] = issue.number
    return result, run


def digests_in(zip_data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(zip_data)) as zf:
        return {Path(i.filename).name: hashlib.sha256(zf.read(i)).hexdigest()
                for i in zf.infolist() if not i.is_dir()}


def no_valet_yml(world: World) -> bool:
    return not [p for p in world.gh().get_repo(world.sdk).get_contents("")
                if p.name == ".valet.yml"]


def approve_and_publish(world: World, version: str) -> Any:
    result = world.label(version, world.approver)
    assert result.ok, result.describe()
    assert world.issue(version).state == "closed", world.comments(version)
    assert world.labels(version) == {"published"}
    return result


def test_a_craft_repository_like_arroyo_ships_the_sha_named_artifact_of_its_ci(
        arroyo: tuple[World, str]) -> None:
    world, package = arroyo
    v = "1.0.0"
    release, ci = release_with_ci(world, v)
    assert no_valet_yml(world)
    # The request job waited for CI, and took the artifact named after the release commit.
    assert re.search(rf"waiting for CI on {ci.sha[:12]}", release.stdout)
    assert list(ci.artifacts) == [ci.sha]
    request = parse_issue(world.issue(v).title, world.issue(v).body)
    assert request.sha == ci.sha and request.build == "ci"
    dist = package.replace("-", "_")
    wanted = {f"{dist}-{v}-py3-none-any.whl", f"{dist}-{v}.tar.gz"}
    assert {a.name: a.sha256 for a in request.artifacts} == digests_in(ci.artifacts[ci.sha])
    assert set(digests_in(ci.artifacts[ci.sha])) == wanted
    # The release commit CI built carries the bumped version (valet's own pyproject bump).
    pyproject = world.gh().get_repo(world.sdk).get_contents("pyproject.toml", ref=ci.sha)
    assert f'version = "{v}"' in pyproject.decoded_content.decode()

    approve_and_publish(world, v)
    page = requests.get(f"{world.regs.pypi_index_url}{package}/", timeout=30).text
    on_pypi = dict(re.findall(r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"', page))
    assert on_pypi == {a.name: a.sha256 for a in request.artifacts}
    published = world.release_of(v)
    assert not published.draft and published.tag_name == v
    assert {a.name for a in published.get_assets()} >= wanted
    assert world.checked(v) == {"github": True, "pypi": True}


def test_a_craft_repository_like_dotagents_ships_its_npm_packages_from_ci(
        dotagents: World) -> None:
    world = dotagents
    v = "2.0.0"
    _release, ci = release_with_ci(world, v)
    assert no_valet_yml(world)
    assert list(ci.artifacts) == ["npm-package"]
    lib, host = f"@{world.org}/dotagents-lib", f"@{world.org}/dotagents"
    request = parse_issue(world.issue(v).title, world.issue(v).body)
    assert [t.id for t in request.targets] == [f"npm[{lib}]", f"npm[{host}]", "github"]
    files = digests_in(ci.artifacts["npm-package"])
    assert set(files) == {f"{world.org}-dotagents-lib-{v}.tgz", f"{world.org}-dotagents-{v}.tgz"}
    assert {a.name: a.sha256 for a in request.artifacts} == files
    # The bump job ran the SDK's own script on both packages; CI packed that commit.
    repo = world.gh().get_repo(world.sdk)
    host_json = json.loads(repo.get_contents("packages/host/package.json",
                                             ref=ci.sha).decoded_content)
    assert host_json["version"] == v and host_json["dependencies"] == {lib: v}

    approve_and_publish(world, v)
    for name, tarball in ((lib, f"{world.org}-dotagents-lib-{v}.tgz"),
                          (host, f"{world.org}-dotagents-{v}.tgz")):
        meta = requests.get(f"{world.regs.npm_url.rstrip('/')}/{name.replace('/', '%2f')}",
                            headers={"Authorization": f"Bearer {world.regs.npm_token}"},
                            timeout=30).json()
        dist = meta["versions"][v]["dist"]
        data = requests.get(dist["tarball"], timeout=30,
                            headers={"Authorization": f"Bearer {world.regs.npm_token}"}).content
        assert hashlib.sha256(data).hexdigest() == files[tarball]
    assert world.checked(v) == {f"npm[{lib}]": True, f"npm[{host}]": True, "github": True}
    assert {a.name for a in world.release_of(v).get_assets()} >= set(files)
