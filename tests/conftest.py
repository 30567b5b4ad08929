"""Shared fixtures: each module in tests/fixtures starts one real thing once per session."""

pytest_plugins = ["tests.fixtures.dynamo", "tests.fixtures.stack", "tests.fixtures.restartable"]
