"""The explicit registry of publish targets: name -> class.

Adding a target means one module in this package and one line here.
"""

from __future__ import annotations

from valet.errors import ConfigError
from valet.targets.base import Target
from valet.targets.brew import BrewTarget
from valet.targets.commit_on_git_repository import CommitOnGitRepositoryTarget
from valet.targets.crates import CratesTarget
from valet.targets.gh_pages import GhPagesTarget
from valet.targets.github import GitHubTarget
from valet.targets.npm import NpmTarget
from valet.targets.pypi import PyPITarget
from valet.targets.registry import RegistryTarget
from valet.targets.upm import UpmTarget

# Order does not matter: the orchestrator runs `github` last.
REGISTRY: dict[str, type[Target]] = {
    "github": GitHubTarget,
    "pypi": PyPITarget,
    "npm": NpmTarget,
    "crates": CratesTarget,
    # targets that write to git repositories
    "registry": RegistryTarget,
    "gh-pages": GhPagesTarget,
    "commit-on-git-repository": CommitOnGitRepositoryTarget,
    "brew": BrewTarget,
    "upm": UpmTarget,
}


def get_target(name: str) -> Target:
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown target {name!r}",
            hint=f"supported targets: {', '.join(sorted(REGISTRY))}",
        ) from None
    return cls()


def check_git_target_options(name: str, options: dict[str, object], where: str) -> list[str]:
    """Check the options of a registry or brew target when the config is loaded (a bad
    canonical name, regex or template placeholder is a configuration error then, not at
    publish). Returns notes for `valet config check`."""
    from valet.targets import brew, registry

    if name == "registry":
        return registry.check_options(options, where)
    if name == "brew":
        return brew.check_options(options, where)
    return []
