"""One release end to end through act whose targets write to git: registry, gh-pages, github.

release.yml (prepare + request) builds a CLI binary and a docs archive; publish.yml,
on the approval, commits the version file to a release registry in the sandbox,
replaces the SDK repo's gh-pages branch with the docs, publishes the GitHub
release and ticks all three boxes. The destinations are read back with git clone.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.act.world import World, build_world

pytestmark = [pytest.mark.act, pytest.mark.sandbox]

BUILD_PY = textwrap.dedent('''\
    import os, zipfile
    v = os.environ["VALET_VERSION"]
    os.makedirs("dist", exist_ok=True)
    with open("dist/acme-cli-Linux-x86_64", "wb") as f:
        f.write(b"\\x7fELF acme-cli " + v.encode())
    with zipfile.ZipFile("dist/acme-gh-pages.zip", "w") as z:
        z.writestr("html/index.html", "<h1>acme " + v + "</h1>")
        z.writestr("html/api/cli.html", "<p>cli</p>")
''')

VALET_YML = """\
build: python build.py
artifacts: [dist/*]
targets:
  - name: registry
    repository: {registry}
    apps:
      "app:acme-cli":
        name: Acme CLI
        include_names: '^acme-cli-'
        url_template: "https://downloads.acme.test/acme-cli/{{{{version}}}}/{{{{file}}}}"
        checksums:
          - {{algorithm: sha256, format: hex}}
  - name: gh-pages
  - name: github
"""


@pytest.fixture(scope="module")
def git_world(sandbox: Any, registries: Any,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    org = f"acme-{uuid.uuid4().hex[:6]}"
    registry = f"{org}/release-registry"
    sandbox.admin.create_repo(registry, files={"README.md": "registry\n"})
    world = build_world(sandbox, registries, tmp_path_factory.mktemp("git-targets-e2e"),
                        valet_yml=VALET_YML.format(registry=registry), build_py=BUILD_PY,
                        org=org, app_repos=(registry,))
    yield world, registry


def _clone(world: World, repo: str, branch: str | None = None) -> Path:
    dest = world.work / f"clone-{uuid.uuid4().hex[:8]}"
    args = ["git", "clone", "-q", *(["--branch", branch] if branch else []),
            world.sb.git_url(repo, world.app_token), str(dest)]
    subprocess.run(args, check=True, capture_output=True)
    return dest


def test_registry_gh_pages_and_github_publish_and_tick(git_world: tuple[World, str]) -> None:
    world, registry = git_world
    v = "1.4.0"
    world.release(v)
    world.set_ci(v, "completed", "success")
    result = world.label(v, world.approver)
    assert result.ok, result.describe()

    assert world.checked(v) == {"registry": True, "gh-pages": True, "github": True}
    issue = world.issue(v)
    assert issue.state == "closed" and world.labels(v) == {"published"}
    manifest = world.manifest(v)

    checkout = _clone(world, registry)
    version_file = checkout / "apps/acme-cli" / f"{v}.json"
    data = json.loads(version_file.read_text())
    assert data["files"] == {"acme-cli-Linux-x86_64": {
        "url": f"https://downloads.acme.test/acme-cli/{v}/acme-cli-Linux-x86_64",
        "checksums": {"sha256-hex": manifest["acme-cli-Linux-x86_64"]}}}
    assert data["name"] == "Acme CLI" and data["version"] == v
    assert os.readlink(checkout / "apps/acme-cli/latest.json") == f"{v}.json"

    pages = _clone(world, world.sdk, branch="gh-pages")
    assert (pages / "index.html").read_text() == f"<h1>acme {v}</h1>"
    assert (pages / "api/cli.html").exists() and not (pages / ".valet.yml").exists()

    release = world.release_of(v)
    assert not release.draft
    assert {a.name for a in release.get_assets()} >= set(manifest)
    assert world.app_token not in result.stdout
