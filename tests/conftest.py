"""Shared fixtures live in tests/fixtures/ as plugins, one module per area."""

pytest_plugins = [
    "tests.fixtures.guards",
    "tests.fixtures.sandbox",
    "tests.fixtures.registries",
    "tests.fixtures.act",
    "tests.fixtures.trusted_publishing",
    "tests.fixtures.secrets_guard",
]
