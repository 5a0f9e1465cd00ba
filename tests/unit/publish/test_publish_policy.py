"""valet-publish.yml: parsing (pure), the decisions, and where the flow checks them."""

from __future__ import annotations

import pytest
import yaml

from valet.errors import ConfigError, NotServedError
from valet.publish_policy import (
    Item,
    check_served,
    parse,
    refusal,
    refusals,
)

from .test_publisher import World

GH = ("api.github.com", "github.com")
POLICY = """\
repos:
  Acme/SDK:
    targets: [pypi, npm, github, gh-pages]
    packages:
      pypi: [acme_sdk]
      npm: ["@acme/*"]
    repositories:
      gh-pages: [acme/docs]
hosts:
  pypi: ["127.0.0.1:8080"]
"""


def _one(items, text=POLICY, repo="acme/sdk"):
    policy = parse(text, "org/publish")
    rp = policy.repo(repo)
    assert rp is not None
    return refusals(policy, rp, items, github_hosts=GH)


def test_repository_names_compare_without_case():
    policy = parse(POLICY, "org/publish")
    assert policy.repo("acme/sdk") is not None and policy.repo("ACME/sdk") is not None
    assert policy.repo("acme/sdk-other") is None


def test_the_official_registry_and_the_listed_hosts_are_allowed_nothing_else():
    ok = Item("pypi", "pypi", (("host", "upload.pypi.org"), ("package", "Acme.SDK")))
    local = Item("pypi", "pypi", (("host", "127.0.0.1:8080"), ("package", "acme-sdk")))
    assert _one([ok, local]) == []
    other_port = Item("pypi", "pypi", (("host", "127.0.0.1:8081"),))
    test_pypi = Item("pypi", "pypi", (("host", "test.pypi.org"),))
    npm_on_pypi_host = Item("npm", "npm", (("host", "127.0.0.1:8080"),))
    assert _one([other_port, test_pypi, npm_on_pypi_host]) == [
        ("pypi", "hosts", "127.0.0.1:8081"), ("pypi", "hosts", "test.pypi.org"),
        ("npm", "hosts", "127.0.0.1:8080")]


def test_packages_match_as_the_registry_compares_them_and_globs_work():
    assert _one([Item("npm", "npm", (("package", "@acme/browser"),)),
                 Item("pypi", "pypi", (("package", "ACME-sdk"),))]) == []
    assert _one([Item("npm", "npm", (("package", "@evil/browser"),)),
                 Item("npm", "npm", (("package", "acme-browser"),)),
                 Item("pypi", "pypi", (("package", "acme-sdk-core"),))]) == [
        ("npm", "packages", "@evil/browser"), ("npm", "packages", "acme-browser"),
        ("pypi", "packages", "acme-sdk-core")]


def test_a_kind_not_listed_is_refused_whatever_it_writes():
    assert _one([Item("crates", "crates", (("host", "crates.io"), ("package", "x")))]) == [
        ("crates", "targets", "crates")]


def test_repositories_the_repo_itself_and_the_github_it_runs_on_are_allowed():
    assert _one([Item("github", "github", (("host", "api.github.com"),
                                           ("repository", "ACME/sdk"))),
                 Item("gh-pages", "gh-pages", (("host", "github.com"),
                                               ("repository", "acme/docs")))]) == []
    assert _one([Item("gh-pages", "gh-pages", (("repository", "acme/website"),))]) == [
        ("gh-pages", "repositories", "acme/website")]


def test_the_refusal_carries_yaml_that_allows_what_was_found_and_parses():
    policy = parse(POLICY, "org/publish")
    rp = policy.repo("acme/sdk")
    assert rp is not None
    found = [("pypi", "packages", "acme-core"), ("crates", "targets", "crates"),
             ("npm", "hosts", "npm.internal.example:8443")]
    err = refusal(policy, rp, "org/publish", found)
    assert isinstance(err, NotServedError) and err.exit_code == 19
    assert "pypi: the package acme-core is not listed for Acme/SDK" in err.message
    assert "the target crates is not one org/publish releases" in err.message
    assert "npm: the host npm.internal.example:8443 is not allowed" in err.message
    snippet = err.hint.split("\n", 1)[1]
    widened = parse(yaml.safe_dump({"repos": yaml.safe_load(
        "\n".join(x[4:] for x in snippet.splitlines()))["repos"]}), "org/publish")
    rp2 = widened.repo("acme/sdk")
    assert rp2 is not None
    assert refusals(widened, rp2, [Item("pypi", "pypi", (("package", "acme-core"),)),
                                   Item("crates", "crates", (("host", "crates.io"),)),
                                   Item("npm", "npm", (("host", "npm.internal.example:8443"),))],
                    github_hosts=GH) == []


def test_a_repository_not_listed_and_a_missing_file_say_how_to_add_it():
    with pytest.raises(NotServedError, match="acme/other is not served by org/publish") as exc:
        check_served(parse(POLICY, "org/publish"), "acme/other", "org/publish",
                     ["pypi", "npm[@acme/x]"])
    assert "    repos:\n      acme/other:\n        targets: [npm, pypi]" in (exc.value.hint or "")
    with pytest.raises(NotServedError, match="has no valet-publish.yml") as exc:
        check_served(parse(None, "org/publish"), "acme/sdk", "org/publish", ["github"])
    assert "acme/sdk:" in (exc.value.hint or "")


@pytest.mark.parametrize("text,why", [
    ("repos:\n  acme/sdk:\n    targets: [pypy]\n", "did you mean 'pypi'"),
    ("repo: {}\n", "did you mean 'repos'"),
    ("repos:\n  acme:\n    targets: [pypi]\n", "'acme'"),
    ("repos:\n  acme/sdk:\n    packages: {pypi: [x]}\n", "targets is missing"),
    ("repos:\n  acme/sdk: {targets: [pypi]}\n  ACME/sdk: {targets: [npm]}\n", "more than once"),
    ("repos:\n  acme/sdk: {targets: [pypi]}\n  acme/sdk: {targets: [npm]}\n", "appears twice"),
    ("repos: [acme/sdk]\n", "got a list"),
])
def test_a_broken_file_is_a_config_error_naming_it_with_the_fix(text, why):
    with pytest.raises(ConfigError) as exc:
        parse(text, "org/publish")
    assert "valet-publish.yml of org/publish" in exc.value.message
    assert why in exc.value.message, exc.value.message


# -- in the flow -----------------------------------------------------------------------


def test_a_repository_not_served_is_refused_before_the_sdk_is_read(tmp_path):
    w = World(tmp_path)
    w.issues.policy = "repos:\n  org/other:\n    targets: [pypi, npm, github]\n"
    assert w.label() == 0
    assert w.reg.calls == [] and w.store.downloads == 0
    assert w.sdk.file_reads == [] and w.sdk.branch_reads == []
    assert "org/sdk is not served by org/publish" in w.comments[-1]
    assert "accepted" not in w.labels


def test_a_target_kind_not_listed_is_refused_before_any_download(tmp_path):
    w = World(tmp_path)
    w.issues.policy = "repos:\n  org/sdk:\n    targets: [pypi, github]\n"
    assert w.label() == 0
    assert w.reg.calls == [] and w.store.downloads == 0
    assert "the target npm is not one org/publish releases for org/sdk" in w.comments[-1]
    assert w.sdk.file_reads  # the configuration was read: the plan decides


def test_a_broken_policy_fails_the_run_visibly(tmp_path):
    w = World(tmp_path)
    w.issues.policy = "repos:\n  org/sdk:\n    targets: [pypy]\n"
    assert w.label() == 3
    assert w.reg.calls == [] and w.store.downloads == 0
    assert "valet-publish.yml of org/publish" in w.comments[-1]


def test_the_policy_is_read_once_per_run(tmp_path):
    w = World(tmp_path)
    assert w.label() == 0 and w.labels == {"published"}
    assert w.issues.policy_reads == 1
