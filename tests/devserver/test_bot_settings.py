"""What the local stack tells the app about bots: launch them here, reach the stack on
loopback, accept callbacks and stream sources on this machine, keep their logs in the data
dir; and which page origins may upload to its embedded S3."""

from devserver import environment

STORE = environment.DataStore("embedded", "parley", "http://127.0.0.1:1")


def test_bots_run_here_and_call_the_stack_on_loopback():
    env = {}
    environment.apply(environment.Listen("0.0.0.0", 9000), STORE, env=env,  # noqa: S104
                      bot_logs="/data/bots")
    assert env["PARLEY_BOT_LAUNCHER"] == "local"
    assert env["PARLEY_API_URL"] == "http://127.0.0.1:9000/api"  # not the all-interfaces bind
    assert env["PARLEY_ALLOW_PRIVATE_CALLBACKS"] == "1"
    assert env["PARLEY_ALLOW_PRIVATE_SOURCES"] == "1"
    assert env["PARLEY_BOT_LOG_DIR"] == "/data/bots"
    assert "PARLEY_RECORDINGS_BUCKET" not in env and "PARLEY_S3_ENDPOINT" not in env


def test_a_chosen_log_dir_is_kept_and_without_a_data_dir_none_is_set():
    chosen = {"PARLEY_BOT_LOG_DIR": "/elsewhere"}
    environment.apply(environment.Listen("::1", 8000), STORE, env=chosen, bot_logs="/data/bots")
    assert chosen["PARLEY_BOT_LOG_DIR"] == "/elsewhere"
    assert chosen["PARLEY_API_URL"] == "http://[::1]:8000/api"
    ephemeral = {}
    environment.apply(environment.Listen("127.0.0.1", 8000), STORE, env=ephemeral)
    assert "PARLEY_BOT_LOG_DIR" not in ephemeral  # the launcher's temp dir


def test_pages_of_the_stacks_own_origins_may_upload_to_its_s3():
    env = {"PARLEY_SITE_URL": "https://meet.example.org/parley/"}
    origins = environment.site_origins(environment.Listen("0.0.0.0", 9000), env)  # noqa: S104
    assert origins == ("http://localhost:9000", "http://127.0.0.1:9000",
                       "https://meet.example.org")
    assert environment.site_origins(environment.Listen("127.0.0.1", 8000), {}) == (
        "http://127.0.0.1:8000", "http://localhost:8000")
