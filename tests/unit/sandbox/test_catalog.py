"""`valet sandbox --with/--all/--no-registries` -> the services to start; missing tools
are named with the command that installs them, and nothing starts."""

from __future__ import annotations

import pytest

from valet.errors import SandboxError, UsageError
from valet.sandbox import catalog, service
from valet.sandbox.service import Sandbox, check_tools


def test_the_registries_alone_by_default_and_none_with_no_registries() -> None:
    assert catalog.resolve() == ("registries",)
    assert catalog.resolve(registries=False) == ()


def test_with_takes_lists_groups_and_repeats_and_keeps_the_start_order() -> None:
    assert catalog.resolve(["trusted-publishing", "crates"], registries=False) == (
        "crates", "trusted-publishing")
    assert catalog.resolve(["aws,gcs", "cloud"]) == ("registries", "docker", "gcs", "aws")
    assert catalog.resolve(["trusted-publishing,crates"]) == (
        "registries", "crates", "trusted-publishing")


def test_all_is_every_service_and_no_registries_still_holds() -> None:
    assert catalog.resolve(everything=True) == tuple(catalog.SERVICES)
    assert "registries" not in catalog.resolve(everything=True, registries=False)


@pytest.mark.parametrize(("requested", "registries", "says"), [
    (["crate"], True, "unknown service 'crate'"),
    (["registries"], False, "contradict"),
    (["trusted-publishing"], False, "needs a registry"),
])
def test_impossible_requests_are_usage_errors(requested: list[str], registries: bool,
                                              says: str) -> None:
    with pytest.raises(UsageError) as err:
        catalog.resolve(requested, registries=registries)
    assert says in err.value.message
    assert err.value.hint


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as err:
        catalog.resolve(["docker,s3"])
    assert err.value.hint is not None
    assert all(name in err.value.hint for name in [*catalog.SERVICES, *catalog.GROUPS])


def test_every_service_has_a_start_method_and_every_tool_a_check() -> None:
    assert set(service.STARTERS) == set(catalog.SERVICES)
    assert all(callable(getattr(Sandbox, method, None)) for method in service.STARTERS.values())
    tools = {tool.name for spec in catalog.SERVICES.values() for tool in spec.tools}
    assert set(service.CHECKS) == tools


def test_a_missing_tool_says_how_to_install_it_and_nothing_starts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(service.CHECKS, "docker-registry", lambda: False)
    monkeypatch.setitem(service.CHECKS, "moto", lambda: False)
    with pytest.raises(SandboxError) as err:
        check_tools(["crates", "docker", "aws"])
    message = err.value.message
    assert "service(s) aws, docker" in message
    assert "docker-registry (for docker): apt-get install docker-registry skopeo" in message
    assert 'moto (for aws): pip install "moto[server]"' in message
    sb = Sandbox(services=["crates", "docker"])
    with pytest.raises(SandboxError):
        sb.start()
    assert sb.app is None and sb.crates is None  # not even the GitHub fake started


def test_unknown_services_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="dockr"):
        Sandbox(services=["dockr"])
