"""The explicit registry of publish targets: name -> class.

Adding a target means one module in this package and one line here.
"""

from __future__ import annotations

from valet.errors import ConfigError
from valet.targets.aws_lambda_layer import AwsLambdaLayerTarget
from valet.targets.base import Target
from valet.targets.crates import CratesTarget
from valet.targets.docker import DockerTarget
from valet.targets.gcs import GcsTarget
from valet.targets.github import GitHubTarget
from valet.targets.npm import NpmTarget
from valet.targets.pypi import PyPITarget

# Order does not matter: the orchestrator runs `github` last.
REGISTRY: dict[str, type[Target]] = {
    "github": GitHubTarget,
    "pypi": PyPITarget,
    "npm": NpmTarget,
    "crates": CratesTarget,
    "docker": DockerTarget,
    "gcs": GcsTarget,
    "aws-lambda-layer": AwsLambdaLayerTarget,
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
