"""Fixtures shared by the unit tests."""

import pytest

from chalicelib import config, ratelimit


@pytest.fixture
def rate_limits(monkeypatch):
    """rate_limits("kind=burst/per_second,...") sets PARLEY_RATE_LIMITS for one test; the
    cached settings and buckets are rebuilt on the way in and out."""
    def use(limits: str) -> None:
        monkeypatch.setenv("PARLEY_RATE_LIMITS", limits)
        config.settings.cache_clear()
        ratelimit.buckets.cache_clear()

    yield use
    monkeypatch.undo()
    config.settings.cache_clear()
    ratelimit.buckets.cache_clear()


@pytest.fixture
def settings_env(monkeypatch):
    """settings_env(NAME=value, ...) sets the app's settings for one test; the cached
    settings are rebuilt on the way in and out."""
    def use(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        config.settings.cache_clear()

    yield use
    monkeypatch.undo()
    config.settings.cache_clear()
