"""Settings, read from the environment in one place so every module agrees on them."""

import json
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from chalice import CORSConfig

DEFAULT_ICE = [{"urls": "stun:stun.l.google.com:19302"}]
PLACEHOLDER_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/parley/stream/local"


@dataclass(frozen=True)
class Settings:
    table: str
    region: str
    dynamodb_endpoint: str | None
    jwt_secret_value: str | None
    jwt_secret_param: str | None
    token_ttl: int
    ws_api_id: str | None
    ws_stage: str
    ws_url: str
    site_url: str
    allowed_origin: str
    retention_hours: float
    ice_servers: list = field(default_factory=list)
    turn_urls: list = field(default_factory=list)
    turn_secret: str | None = None  # locally; in AWS the SSM SecureString below holds it
    turn_secret_param: str | None = None
    stream_arn: str = PLACEHOLDER_STREAM_ARN
    rate_limits: str = ""
    report_sender: str | None = None  # SES sender of poll reports; none: no email
    ses_endpoint: str | None = None  # another SES (tests: moto's server); none: AWS's
    # recordings (docs/API.md, "Recordings"): who starts a bot, where it calls and stores
    bot_launcher: str | None = None  # local | ecs; none: recordings are unavailable
    api_url: str | None = None  # the REST base a bot calls; none: read off the request
    recordings_bucket: str | None = None
    s3_endpoint: str | None = None  # another S3 (local stack: moto's); none: AWS's
    bot_idle_seconds: int = 300
    allow_private_callbacks: bool = False  # local stack only: callbacks to this machine
    bot_module: str | None = None  # what the local launcher runs; none: bots.<kind>
    # streams (docs/API.md, "Streams"): uploads go to this bucket under streams/
    streams_bucket: str | None = None  # none: the recordings bucket
    stream_max_bytes: int = 524_288_000  # the largest file a moderator may upload (500 MB)
    allow_private_sources: bool = False  # local stack only: sources on this machine
    bot_log_dir: str | None = None  # local launcher: where bot logs go; none: a temp dir
    bot_workdir: str | None = None  # passed on to the bot (its files); none: its own temp dir
    ecs_cluster: str | None = None
    bot_task_definition: str | None = None
    bot_subnets: list = field(default_factory=list)
    bot_security_groups: list = field(default_factory=list)
    bot_public_ip: bool = True  # a bot task in a public subnet needs one to reach anything

    def cors_config(self) -> CORSConfig:
        # Browsers cache a preflight per URL for at most this long (Chromium caps it at
        # 7200 s, Firefox at 86400 s): each uncached POST pays one more round trip first.
        return CORSConfig(allow_origin=self.allowed_origin, max_age=7200,
                          allow_headers=["Authorization", "Content-Type"],
                          expose_headers=["Retry-After"])

    def jwt_secret(self) -> str:
        return _jwt_secret(self)

    def turn_shared_secret(self) -> str | None:
        """coturn's `static-auth-secret`: PARLEY_TURN_SECRET, else the SSM SecureString
        PARLEY_TURN_SECRET_PARAM names (read once per cold start); None: no TURN."""
        if self.turn_secret or not self.turn_secret_param:
            return self.turn_secret
        return _parameter(self.region, self.turn_secret_param)


def _env_json(name: str, default):
    raw = os.environ.get(name)
    if not raw:
        return default
    return json.loads(raw)


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def load() -> Settings:
    """Build Settings from the current environment (uncached: tests call this)."""
    env = os.environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    turn_urls = env.get("PARLEY_TURN_URLS", "")
    return Settings(
        table=env.get("PARLEY_TABLE", "parley"),
        region=region,
        dynamodb_endpoint=env.get("PARLEY_DYNAMODB_ENDPOINT") or None,
        jwt_secret_value=env.get("PARLEY_JWT_SECRET") or None,
        jwt_secret_param=env.get("PARLEY_JWT_SECRET_PARAM") or None,
        token_ttl=int(env.get("PARLEY_TOKEN_TTL", "43200")),
        ws_api_id=env.get("PARLEY_WS_API_ID") or None,
        ws_stage=env.get("PARLEY_WS_STAGE", "api"),
        ws_url=env.get("PARLEY_WS_URL", ""),
        site_url=env.get("PARLEY_SITE_URL", "http://localhost:8000/"),
        allowed_origin=env.get("PARLEY_ALLOWED_ORIGIN", "*"),
        retention_hours=float(env.get("PARLEY_RETENTION_HOURS", "48")),
        ice_servers=_env_json("PARLEY_ICE_SERVERS", DEFAULT_ICE),
        turn_urls=[u for u in turn_urls.split(",") if u.strip()],
        turn_secret=env.get("PARLEY_TURN_SECRET") or None,
        turn_secret_param=env.get("PARLEY_TURN_SECRET_PARAM") or None,
        stream_arn=env.get("PARLEY_STREAM_ARN", PLACEHOLDER_STREAM_ARN),
        rate_limits=env.get("PARLEY_RATE_LIMITS", ""),
        report_sender=env.get("PARLEY_REPORT_SENDER") or None,
        ses_endpoint=env.get("PARLEY_SES_ENDPOINT") or None,
        bot_launcher=env.get("PARLEY_BOT_LAUNCHER") or None,
        api_url=env.get("PARLEY_API_URL") or None,
        recordings_bucket=env.get("PARLEY_RECORDINGS_BUCKET") or None,
        s3_endpoint=env.get("PARLEY_S3_ENDPOINT") or None,
        bot_idle_seconds=int(env.get("PARLEY_BOT_IDLE_SECONDS") or "300"),
        allow_private_callbacks=env.get("PARLEY_ALLOW_PRIVATE_CALLBACKS") == "1",
        bot_module=env.get("PARLEY_BOT_MODULE") or None,
        streams_bucket=(env.get("PARLEY_STREAMS_BUCKET") or env.get("PARLEY_RECORDINGS_BUCKET")
                        or None),
        stream_max_bytes=int(env.get("PARLEY_STREAM_MAX_BYTES") or "524288000"),
        allow_private_sources=env.get("PARLEY_ALLOW_PRIVATE_SOURCES") == "1",
        bot_log_dir=env.get("PARLEY_BOT_LOG_DIR") or None,
        bot_workdir=env.get("PARLEY_BOT_WORKDIR") or None,
        ecs_cluster=env.get("PARLEY_ECS_CLUSTER") or None,
        bot_task_definition=env.get("PARLEY_BOT_TASK_DEFINITION") or None,
        bot_subnets=_env_list("PARLEY_BOT_SUBNETS"),
        bot_security_groups=_env_list("PARLEY_BOT_SECURITY_GROUPS"),
        bot_public_ip=env.get("PARLEY_BOT_PUBLIC_IP", "1") != "0",
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read once (a Lambda cold start, or devserver start)."""
    return load()


_SECRETS: dict = {}


def _jwt_secret(s: Settings) -> str:
    """The token signing key: SSM SecureString in AWS (read once per cold start), env locally.

    With neither configured a random per-process key is used, so tokens simply do not
    survive a restart; that is only acceptable for tests and one-process local runs.
    """
    if s.jwt_secret_param:
        return _parameter(s.region, s.jwt_secret_param)
    key = (None, s.jwt_secret_value)
    if key not in _SECRETS:
        _SECRETS[key] = s.jwt_secret_value or secrets.token_urlsafe(32)
    return _SECRETS[key]


def _parameter(region: str, name: str) -> str:
    """A SecureString's value, decrypted, read once per process (a Lambda cold start)."""
    key = (region, name)
    if key not in _SECRETS:
        import boto3

        ssm = boto3.client("ssm", region_name=region)
        _SECRETS[key] = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return _SECRETS[key]
