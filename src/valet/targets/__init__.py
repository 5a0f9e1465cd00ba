"""The explicit registry of publish targets: name -> class.

Adding a target means one module in this package and one line here.
"""

from __future__ import annotations

from valet.errors import ConfigError
from valet.targets.base import Target

# Filled by the target modules' owner; order does not matter, `github` always runs last.
REGISTRY: dict[str, type[Target]] = {}


def get_target(name: str) -> Target:
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown target {name!r}",
            hint=f"supported targets: {', '.join(sorted(REGISTRY))}",
        ) from None
    return cls()
