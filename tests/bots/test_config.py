"""A bot's whole input comes from its environment (the launcher sets it)."""

import pytest

from bots.runtime import BotConfig, ConfigError

BASE = {"PARLEY_API_URL": "http://127.0.0.1:8000/api/", "PARLEY_BOT_MEETING": "m1"}


def test_the_contracts_variables_become_the_config():
    config = BotConfig.from_env({**BASE, "PARLEY_BOT_TOKEN": "invite", "PARLEY_BOT_RECORDING": "r1",
                                 "PARLEY_BOT_OPTIONS": '{"mode": "av", "reserve": false}',
                                 "PARLEY_BOT_IDLE_SECONDS": "2.5"})
    assert config == BotConfig(api_url="http://127.0.0.1:8000/api", meeting="m1", token="invite",
                               recording="r1", options={"mode": "av", "reserve": False},
                               idle_seconds=2.5)


def test_only_the_api_and_the_meeting_are_required():
    config = BotConfig.from_env(BASE)
    assert (config.token, config.recording, config.options, config.idle_seconds, config.name) == (
        None, None, {}, 300.0, None)


@pytest.mark.parametrize("env, complaint", [
    ({"PARLEY_BOT_MEETING": "m1"}, "PARLEY_API_URL"),
    ({**BASE, "PARLEY_BOT_MEETING": ""}, "PARLEY_BOT_MEETING"),
    ({**BASE, "PARLEY_BOT_OPTIONS": "{mode"}, "not JSON"),
    ({**BASE, "PARLEY_BOT_OPTIONS": "[1]"}, "JSON object"),
    ({**BASE, "PARLEY_BOT_IDLE_SECONDS": "soon"}, "not a number"),
    ({**BASE, "PARLEY_BOT_IDLE_SECONDS": "0"}, "positive"),
])
def test_a_missing_or_malformed_setting_is_refused_with_its_name(env, complaint):
    with pytest.raises(ConfigError, match=complaint):
        BotConfig.from_env(env)
