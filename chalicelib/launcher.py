"""Starting a bot: one interface, `launch(job)`, two ways (PARLEY_BOT_LAUNCHER).

A job's kind names its bot: `recorder` runs `python -m bots.recorder`, `streamer` runs
`python -m bots.streamer` (PARLEY_BOT_MODULE, for tests, runs another module instead).
`local`: a subprocess of this process (the local stack), from the repository root, in a
process group of its own so the stack can stop it and all it started at once
(devserver/bots.py), its output in a log file. `ecs`: an ECS Fargate task (RunTask) of
the bot task definition in infra/parley.yaml, its command the job's bot; Lambda's
15-minute limit cannot hold a meeting. Either way the bot's whole input is its
environment (`BotJob`), the same for a process and a container.
"""

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from .config import Settings, settings

log = logging.getLogger("parley")
ROOT = Path(__file__).resolve().parent.parent
CONTAINER = "bot"  # the container of the task definition the overrides apply to


class LaunchFailed(Exception):
    """The bot could not be started; the message says why (logged, never shown as is)."""


# The variable that names a bot's job, by the bot's kind
JOB_VARIABLES = {"recorder": "PARLEY_BOT_RECORDING", "streamer": "PARLEY_BOT_STREAM"}


@dataclass(frozen=True)
class BotJob:
    """One bot to start: its kind, meeting, job (a recording, a stream), invitation and
    options."""

    kind: str  # JOB_VARIABLES
    api_url: str
    meeting: str
    job: str  # the recording's or stream's id
    token: str  # the bot invitation (bot_access.issue_invite)
    options: dict  # recorder: {"mode", "reserve", "callbackUrl"}; streamer: {"mode", ...}

    @property
    def module(self) -> str:
        return f"bots.{self.kind}"

    def environment(self, s: Settings) -> dict[str, str]:
        """The bot's environment: everything it is told (docs/API.md, "The bot process")."""
        env = {
            "PARLEY_API_URL": self.api_url,
            "PARLEY_BOT_KIND": self.kind,
            "PARLEY_BOT_MEETING": self.meeting,
            JOB_VARIABLES[self.kind]: self.job,
            "PARLEY_BOT_TOKEN": self.token,
            "PARLEY_BOT_OPTIONS": json.dumps(self.options, separators=(",", ":")),
            "PARLEY_RECORDINGS_BUCKET": s.recordings_bucket or "",
            "PARLEY_BOT_IDLE_SECONDS": str(s.bot_idle_seconds),
            "AWS_REGION": s.region,
        }
        if s.s3_endpoint:
            env["PARLEY_S3_ENDPOINT"] = s.s3_endpoint
        if s.bot_workdir:
            env["PARLEY_BOT_WORKDIR"] = s.bot_workdir
        return env


class Launcher(Protocol):
    kind: str

    def launch(self, job: BotJob) -> str:
        """Start the bot; return what identifies it (a pid, a task ARN) or raise
        LaunchFailed."""


class LocalLauncher:
    """Bots as subprocesses of this process, each the leader of its own process group.

    `running()` lists those still alive (reaping the finished ones); the local stack
    stops them when it stops. Nothing of this process's PARLEY_* settings (the token
    secret, the table) is passed on: a bot knows only its job."""

    kind = "local"

    def __init__(self, s: Settings, module: str | None = None, cwd: Path = ROOT,
                 log_dir: str | None = None, base_env: dict | None = None):
        self._settings = s
        self.module = module or s.bot_module  # None: each job's own bot
        self.cwd = cwd
        self.log_dir = Path(log_dir or s.bot_log_dir
                            or Path(tempfile.gettempdir()) / "parley-bots")
        self._base_env = base_env
        self._children: list[subprocess.Popen] = []
        self._lock = threading.Lock()

    def _env(self, job: BotJob) -> dict[str, str]:
        base = os.environ if self._base_env is None else self._base_env
        kept = {k: v for k, v in base.items() if not k.startswith("PARLEY_")}
        return {**kept, **job.environment(self._settings)}

    def log_path(self, job: BotJob) -> Path:
        return self.log_dir / f"{job.kind}-{job.meeting}-{job.job}.log"

    def launch(self, job: BotJob) -> str:
        path = self.log_path(job)
        module = self.module or job.module
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as out:
                proc = subprocess.Popen(  # noqa: S603 (fixed argv: this Python, a module)
                    [sys.executable, "-m", module], cwd=self.cwd, env=self._env(job),
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
        except OSError as err:
            raise LaunchFailed(f"cannot start {module}: {err}") from err
        with self._lock:
            self._children.append(proc)
        log.info("%s %s: bot started, pid %d, log %s", job.kind, job.job, proc.pid, path)
        return f"pid {proc.pid}"

    def running(self) -> list[subprocess.Popen]:
        """The bots still running; finished ones are reaped and forgotten."""
        with self._lock:
            self._children = [p for p in self._children if p.poll() is None]
            return list(self._children)


class EcsLauncher:
    """Bots as ECS Fargate tasks: RunTask of the bot task definition in the bot subnets,
    the job's environment and its bot's command as overrides of its container `bot`."""

    kind = "ecs"

    def __init__(self, s: Settings, client=None):
        self._settings = s
        self._client = client

    def _ecs(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("ecs", region_name=self._settings.region)
        return self._client

    def request(self, job: BotJob) -> dict:
        """The RunTask parameters for `job`."""
        s = self._settings
        environment = [{"name": k, "value": v} for k, v in sorted(job.environment(s).items())]
        return {
            "cluster": s.ecs_cluster,
            "taskDefinition": s.bot_task_definition,
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": job.job[:36],  # find it again: ListTasks startedBy=<rid or sid>
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": list(s.bot_subnets),
                "securityGroups": list(s.bot_security_groups),
                "assignPublicIp": "ENABLED" if s.bot_public_ip else "DISABLED"}},
            "overrides": {"containerOverrides": [{
                "name": CONTAINER, "environment": environment,
                "command": ["python", "-m", job.module]}]},
        }

    def launch(self, job: BotJob) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._ecs().run_task(**self.request(job))
        except (BotoCoreError, ClientError) as err:
            raise LaunchFailed(f"RunTask failed: {err}") from err
        if answer.get("failures") or not answer.get("tasks"):
            reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip()
                                for f in answer.get("failures", ())) or "no task started"
            raise LaunchFailed(f"RunTask failed: {reasons}")
        arn = answer["tasks"][0]["taskArn"]
        log.info("%s %s: bot task %s started", job.kind, job.job, arn)
        return arn


def from_settings(s: Settings) -> Launcher | None:
    """The launcher PARLEY_BOT_LAUNCHER names, or None (no bots: recording and streaming
    unavailable): unset,
    unknown, or `ecs` without its cluster, task definition and subnets."""
    if s.bot_launcher == "local":
        return LocalLauncher(s)
    if s.bot_launcher == "ecs":
        if s.ecs_cluster and s.bot_task_definition and s.bot_subnets:
            return EcsLauncher(s)
        log.warning("PARLEY_BOT_LAUNCHER=ecs needs PARLEY_ECS_CLUSTER, "
                    "PARLEY_BOT_TASK_DEFINITION and PARLEY_BOT_SUBNETS; bots are off")
        return None
    if s.bot_launcher:
        log.warning("PARLEY_BOT_LAUNCHER=%r is neither local nor ecs; bots are off",
                    s.bot_launcher)
    return None


@lru_cache(maxsize=1)
def current() -> Launcher | None:
    """The process-wide launcher (the local one remembers the bots it started)."""
    return from_settings(settings())
