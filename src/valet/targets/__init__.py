"""The explicit registry of publish targets: name -> class.

Adding a target means one module in this package and one line here.
"""

from __future__ import annotations

from valet.errors import ConfigError
from valet.targets.aws_lambda_layer import AwsLambdaLayerTarget
from valet.targets.base import Target
from valet.targets.brew import BrewTarget
from valet.targets.commit_on_git_repository import CommitOnGitRepositoryTarget
from valet.targets.crates import CratesTarget
from valet.targets.docker import DockerTarget
from valet.targets.gcs import GcsTarget
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
    "docker": DockerTarget,
    "gcs": GcsTarget,
    "aws-lambda-layer": AwsLambdaLayerTarget,
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


def check_options(name: str, options: dict[str, object], where: str) -> list[str]:
    """Check a target's options when the config is loaded (a bad template, path,
    canonical name or regex is a configuration error then, not at publish).
    Returns notes for `valet config check`; other targets have nothing to check here."""
    from valet.targets import aws_lambda_layer, brew, docker, gcs, registry

    if name == "registry":
        return registry.check_options(options, where)
    if name == "brew":
        return brew.check_options(options, where)

    if name == "docker":
        docker.spec_of(options, where)
    elif name == "gcs":
        gcs.bucket_of(options, where)
        gcs.paths_of(options, where)
    elif name == "aws-lambda-layer":
        if not any(k in options for k in ("layer_name", "compatible_runtimes", "license")):
            return [f"{where} sets no layer name, compatible runtimes or license: publishing "
                    "refuses it until they are set"]
        aws_lambda_layer.spec_of(options, where)
    return []
