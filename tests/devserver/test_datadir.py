"""The data directory: where it is, how to keep nothing, and the token secret kept in it."""

import os
import stat

import pytest

from devserver import datadir, environment


def test_the_default_is_parley_at_the_repository_root():
    assert datadir.resolve({}) == datadir.ROOT / ".parley"
    assert datadir.resolve({"PARLEY_DATA_DIR": " "}) == datadir.ROOT / ".parley"
    assert datadir.resolve({"PARLEY_EPHEMERAL": "0"}) == datadir.ROOT / ".parley"


def test_another_directory_or_none(tmp_path):
    assert datadir.resolve({"PARLEY_DATA_DIR": str(tmp_path / "state")}) == tmp_path / "state"
    assert datadir.resolve({"PARLEY_EPHEMERAL": "1"}) is None


@pytest.mark.parametrize("env, says", [
    ({"PARLEY_EPHEMERAL": "1", "PARLEY_DATA_DIR": "/srv/parley"}, "unset one of them"),
    ({"PARLEY_EPHEMERAL": "yes"}, "use 1 to keep nothing"),
])
def test_contradictions_are_refused(env, says, capsys):
    with pytest.raises(SystemExit):
        datadir.resolve(env)
    assert says in capsys.readouterr().err


def test_the_directory_is_created_for_the_owner_only(tmp_path):
    path = datadir.prepare(tmp_path / "a" / "b")
    assert path.is_dir() and stat.S_IMODE(path.stat().st_mode) == 0o700


def test_one_stack_at_a_time_holds_a_data_directory(tmp_path, capsys):
    held = datadir.lock(tmp_path)
    try:
        assert (tmp_path / datadir.LOCK_FILE).read_text().strip() == str(os.getpid())
        with pytest.raises(SystemExit):
            datadir.lock(tmp_path)
        assert f"another local stack (pid {os.getpid()})" in capsys.readouterr().err
    finally:
        os.close(held)
    os.close(datadir.lock(tmp_path))  # free again


def test_the_secret_is_made_once_for_the_owner_only_and_then_reused(tmp_path):
    secret = datadir.token_secret(tmp_path)
    file = tmp_path / datadir.SECRET_FILE
    assert len(secret) >= 43 and stat.S_IMODE(file.stat().st_mode) == 0o600
    assert datadir.token_secret(tmp_path) == secret


def test_the_app_gets_the_kept_secret_unless_one_is_set(tmp_path):
    listen = environment.Listen("127.0.0.1", 8000)
    store = environment.DataStore("embedded", "parley", "http://127.0.0.1:1", kept_in="x")
    kept, chosen, none = {}, {"PARLEY_JWT_SECRET": "mine-" * 8}, {}
    def kept_secret():
        return datadir.token_secret(tmp_path)

    environment.apply(listen, store, kept_secret, kept)
    environment.apply(listen, store, kept_secret, chosen)
    environment.apply(listen, store, None, none)
    assert kept["PARLEY_JWT_SECRET"] == (tmp_path / datadir.SECRET_FILE).read_text().strip()
    assert chosen["PARLEY_JWT_SECRET"] == "mine-" * 8
    assert none["PARLEY_JWT_SECRET"] not in (kept["PARLEY_JWT_SECRET"], "")


def test_an_empty_secret_file_is_refused_with_what_to_do(tmp_path, capsys):
    (tmp_path / datadir.SECRET_FILE).write_text("")
    with pytest.raises(SystemExit):
        datadir.token_secret(tmp_path)
    assert "Delete it to make a new one" in capsys.readouterr().err


def test_the_store_says_where_it_is_kept():
    kept = environment.DataStore("embedded", "parley", "http://127.0.0.1:1", kept_in=".parley")
    assert kept.describe() == "embedded DynamoDB (moto) at http://127.0.0.1:1, kept in .parley/"
    assert "wiped on exit" in environment.DataStore("embedded", "parley", "http://x").describe()
