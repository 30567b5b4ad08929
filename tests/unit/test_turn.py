"""TURN credentials: coturn's REST API scheme (`use-auth-secret`), checked with known values.

coturn's documentation (README.turnserver, "--use-auth-secret") defines the scheme: the
username is "<expiry timestamp>:<user>", the password base64(HMAC-SHA1(key = the shared
secret, message = that username)). The expected passwords below were computed apart from
Parley, with OpenSSL:
    printf '%s' "$username" | openssl dgst -sha1 -hmac "$secret" -binary | base64
"""

import dataclasses

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib import config, turn

SECRET = "north-star-shared-secret"  # noqa: S105 (a test vector)
URLS = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]


def settings(**changes):
    return dataclasses.replace(config.load(), ice_servers=[{"urls": "stun:stun.example:3478"}],
                               **changes)


def test_the_password_is_base64_of_hmac_sha1_of_expiry_colon_pid_keyed_by_the_secret():
    assert turn.credentials(SECRET, "abcDEF123456", 1700043200) == (
        "1700043200:abcDEF123456", "BKDCHBS/mUmfRr6irCismC1Dcu0=")


def test_a_join_gets_turn_credentials_that_expire_with_its_token():
    s = settings(turn_secret=SECRET, turn_urls=URLS, token_ttl=43200)
    servers = turn.ice_servers(s, "abcDEF123456", now=1700000000.9)
    assert servers == [{"urls": "stun:stun.example:3478"},
                       {"urls": URLS, "username": "1700043200:abcDEF123456",
                        "credential": "BKDCHBS/mUmfRr6irCismC1Dcu0="}]


def test_each_participant_and_each_secret_gets_its_own_password():
    one = turn.credentials(SECRET, "abcDEF123456", 1700043200)[1]
    assert turn.credentials(SECRET, "abcDEF123457", 1700043200)[1] != one
    assert turn.credentials(SECRET + "x", "abcDEF123456", 1700043200)[1] != one


def test_without_a_secret_or_urls_only_the_stun_servers_are_given():
    for s in (settings(turn_secret=SECRET, turn_urls=[]), settings(turn_secret=None, turn_urls=URLS)):
        assert turn.ice_servers(s, "abcDEF123456") == [{"urls": "stun:stun.example:3478"}]


@pytest.fixture
def ssm(monkeypatch):
    """moto's SSM on a loopback port of its own (mock_aws would reset the embedded
    DynamoDB), which the app's own boto3 client reaches through AWS_ENDPOINT_URL_SSM; the
    per-process cache of secrets starts empty."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setattr(config, "_SECRETS", {})
    try:
        yield boto3.client("ssm", endpoint_url=endpoint, region_name="eu-west-1")
    finally:
        server.stop()


def test_in_aws_the_secret_is_read_from_its_secure_string_once_per_cold_start(ssm):
    ssm.put_parameter(Name="/parley/prod/turn-secret", Type="SecureString", Value=SECRET)
    s = settings(turn_secret=None, turn_secret_param="/parley/prod/turn-secret",
                 turn_urls=URLS, token_ttl=43200, region="eu-west-1")
    servers = turn.ice_servers(s, "abcDEF123456", now=1700000000)
    assert servers[1]["credential"] == "BKDCHBS/mUmfRr6irCismC1Dcu0="
    ssm.put_parameter(Name="/parley/prod/turn-secret", Type="SecureString", Value="rotated",
                      Overwrite=True)
    assert turn.ice_servers(s, "abcDEF123456", now=1700000000) == servers  # not read again


def test_without_turn_urls_the_secret_is_not_read(ssm):
    s = settings(turn_secret=None, turn_secret_param="/parley/prod/missing", turn_urls=[],
                 region="eu-west-1")
    assert turn.ice_servers(s, "abcDEF123456") == [{"urls": "stun:stun.example:3478"}]
