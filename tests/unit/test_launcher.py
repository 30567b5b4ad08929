"""The two launchers: a local subprocess in a process group of its own (a stand-in bot
records how it was started), and ECS RunTask against moto's ECS server."""

import dataclasses
import json
import os
import signal
import time

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib import launcher
from chalicelib.config import load
from devserver import bots as bot_processes

REGION = "us-east-1"


def settings(**changes):
    return dataclasses.replace(load(), recordings_bucket="parley-recordings",
                               bot_idle_seconds=120, **changes)


def job(**changes):
    fields = {"kind": "recorder", "api_url": "http://127.0.0.1:8000/api", "meeting": "Mx1",
              "job": "R1",
              "token": "invite.jwt.value", "options": {"mode": "av", "reserve": False,
                                                       "callbackUrl": None}}
    return launcher.BotJob(**{**fields, **changes})


def wait_for(path, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)
    return path


CONTRACT = {
    "PARLEY_API_URL": "http://127.0.0.1:8000/api",
    "PARLEY_BOT_KIND": "recorder",
    "PARLEY_BOT_MEETING": "Mx1",
    "PARLEY_BOT_RECORDING": "R1",
    "PARLEY_BOT_TOKEN": "invite.jwt.value",
    "PARLEY_BOT_OPTIONS": '{"mode":"av","reserve":false,"callbackUrl":null}',
    "PARLEY_RECORDINGS_BUCKET": "parley-recordings",
    "PARLEY_BOT_IDLE_SECONDS": "120",
    "AWS_REGION": REGION,
}


def test_a_job_tells_the_bot_everything_in_its_environment():
    s = settings(s3_endpoint="http://127.0.0.1:5000", bot_workdir="/tmp/bot")
    assert job().environment(s) == {**CONTRACT, "PARLEY_S3_ENDPOINT": "http://127.0.0.1:5000",
                                    "PARLEY_BOT_WORKDIR": "/tmp/bot"}
    assert job().environment(settings()) == CONTRACT


def test_the_setting_chooses_the_launcher_and_an_incomplete_ecs_one_is_off():
    assert launcher.from_settings(settings(bot_launcher=None)) is None
    assert launcher.from_settings(settings(bot_launcher="docker")) is None
    assert isinstance(launcher.from_settings(settings(bot_launcher="local")),
                      launcher.LocalLauncher)
    assert launcher.from_settings(settings(bot_launcher="ecs", ecs_cluster="c")) is None
    ecs = launcher.from_settings(settings(bot_launcher="ecs", ecs_cluster="c",
                                          bot_task_definition="bot", bot_subnets=["s"]))
    assert isinstance(ecs, launcher.EcsLauncher)


def test_local_bot_runs_in_its_own_process_group_with_only_its_job(tmp_path):
    s = settings(bot_workdir=str(tmp_path))
    local = launcher.LocalLauncher(s, module="tests.fixtures.fake_recorder",
                                   log_dir=str(tmp_path / "logs"),
                                   base_env={**os.environ, "PARLEY_JWT_SECRET": "secret!",
                                             "PARLEY_DYNAMODB_ENDPOINT": "http://db"})
    started = local.launch(job())
    record = json.loads(wait_for(tmp_path / "R1.json").read_text())
    assert started == f"pid {record['pid']}"
    assert record["pgid"] == record["pid"] != os.getpgid(0)  # a group of its own
    assert record["cwd"] == str(launcher.ROOT)
    assert record["env"] == {**CONTRACT, "PARLEY_BOT_WORKDIR": str(tmp_path)}
    deadline = time.monotonic() + 30
    while local.running():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    log = (tmp_path / "logs" / "recorder-Mx1-R1.log").read_text()
    assert "fake recorder for R1 started" in log


def test_a_bot_that_cannot_start_is_a_launch_failure(tmp_path):
    (tmp_path / "plain").write_text("a file, not a directory")
    local = launcher.LocalLauncher(settings(), log_dir=str(tmp_path / "plain" / "logs"))
    with pytest.raises(launcher.LaunchFailed, match="cannot start bots.recorder"):
        local.launch(job())
    assert local.running() == []


def test_the_stack_stops_its_bots_group_and_all_term_first_then_kill(tmp_path):
    (tmp_path / "linger").write_text("")
    local = launcher.LocalLauncher(settings(bot_workdir=str(tmp_path)),
                                   module="tests.fixtures.fake_recorder",
                                   log_dir=str(tmp_path))
    local.launch(job(job="R1"))
    local.launch(job(job="R2"))
    records = [json.loads(wait_for(tmp_path / f"R{n}.json").read_text()) for n in (1, 2)]
    assert len(local.running()) == 2
    assert bot_processes.stop_launched(local) == 2
    assert local.running() == []
    for n, record in enumerate(records, start=1):
        assert (tmp_path / f"R{n}.stopped").read_text() == "SIGTERM"
        with pytest.raises(ProcessLookupError):
            os.killpg(record["pgid"], 0)


def test_a_bot_that_ignores_sigterm_is_killed_after_the_grace(tmp_path):
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
         "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout.readline().strip() == b"ready"
    started = time.monotonic()
    assert bot_processes.stop_all([proc], grace=0.5) == 1
    assert proc.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10


@pytest.fixture(scope="module")
def ecs_account():
    """moto's ECS and EC2 on a loopback port of their own (moto's `mock_aws` would reset
    the embedded DynamoDB of this process): a cluster, a VPC with two subnets and a
    security group, and the bot task definition as infra/parley.yaml registers it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()

    def client(service):
        return boto3.client(service, endpoint_url=f"http://{host}:{port}", region_name=REGION,
                            aws_access_key_id="local", aws_secret_access_key="local")

    try:
        ec2 = client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.72.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.72.{n}.0/24")["Subnet"]["SubnetId"]
                   for n in (0, 1)]
        group = ec2.create_security_group(GroupName="bots", Description="bots",
                                          VpcId=vpc)["GroupId"]
        ecs = client("ecs")
        ecs.create_cluster(clusterName="parley-dev-bots")
        ecs.register_task_definition(
            family="parley-dev-bot", requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc", cpu="1024", memory="2048",
            containerDefinitions=[{"name": "bot", "image": "parley-bot:latest",
                                   "memory": 2048, "essential": True}])
        yield ecs, subnets, group
    finally:
        server.stop()


def test_ecs_runs_the_bot_task_with_its_network_and_environment(ecs_account):
    ecs, subnets, group = ecs_account
    s = settings(bot_launcher="ecs", ecs_cluster="parley-dev-bots",
                 bot_task_definition="parley-dev-bot", bot_subnets=subnets,
                 bot_security_groups=[group], s3_endpoint=None)
    arn = launcher.EcsLauncher(s, client=ecs).launch(job())
    task = ecs.describe_tasks(cluster="parley-dev-bots", tasks=[arn])["tasks"][0]
    assert task["taskDefinitionArn"].endswith(":task-definition/parley-dev-bot:1")
    assert task["launchType"] == "FARGATE"
    assert task["startedBy"] == "R1"
    (override,) = task["overrides"]["containerOverrides"]
    assert override["name"] == "bot"
    assert {e["name"]: e["value"] for e in override["environment"]} == CONTRACT
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert details["subnetId"] == subnets[0]
    assert ecs.list_tasks(cluster="parley-dev-bots", startedBy="R1")["taskArns"] == [arn]


def test_ecs_request_names_every_subnet_group_and_the_public_address_choice(ecs_account):
    _, subnets, group = ecs_account
    s = settings(ecs_cluster="parley-dev-bots", bot_task_definition="parley-dev-bot",
                 bot_subnets=subnets, bot_security_groups=[group], bot_public_ip=False)
    request = launcher.EcsLauncher(s).request(job())
    assert request["networkConfiguration"] == {"awsvpcConfiguration": {
        "subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}}
    assert (request["cluster"], request["taskDefinition"], request["count"]) == (
        "parley-dev-bots", "parley-dev-bot", 1)


def test_ecs_refusing_the_task_is_a_launch_failure(ecs_account):
    ecs, subnets, group = ecs_account
    s = settings(ecs_cluster="no-such-cluster", bot_task_definition="parley-dev-bot",
                 bot_subnets=subnets, bot_security_groups=[group])
    with pytest.raises(launcher.LaunchFailed, match="RunTask failed"):
        launcher.EcsLauncher(s, client=ecs).launch(job())
