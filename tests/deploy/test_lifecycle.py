"""`make deploy` / `make destroy` with chalice's own deployer and deletion deployer, run in
process against moto (mock_aws): a first deploy and a re-run, a deploy after a destroy,
a deploy or destroy that fails part way and what the next run does about it, and a stage
that already runs in another region.

chalice plans and executes for real; tests.deploy.conftest.MotoGaps fills what moto 5.2.5
lacks on chalice's path, and MappingStates adds Lambda's busy mapping states. CloudFront
is left out of the infra stack as in test_deploy_script.py.
"""

import json
import os
import re
from types import SimpleNamespace
from urllib.parse import unquote

import boto3
import pytest
from chalice.deploy.deployer import ChaliceDeploymentError
from moto import mock_aws

from scripts import deploy as deploy_script
from scripts import destroy as destroy_script
from scripts.chalice_cli import ChaliceCli, previous_deploy
from scripts.cloudformation import stack_outputs, stack_status
from scripts.common import function_name, placeholders_in, policy_files
from scripts.stage_region import StageInAnotherRegion
from tests.deploy.conftest import (
    EMPTY_RECORD,
    FailOnce,
    FreshApp,
    MappingStates,
    MotoGaps,
    UnemulatedCalls,
    create_distribution,
    moto_template,
    write_chalice_project,
    write_frontend,
)

pytestmark = pytest.mark.filterwarnings(
    r"ignore:Tried to parse AWS\W+S3\W+BucketPolicy")

REGION = "us-east-1"
STAGE = "dev"
PREFIX = f"parley-{STAGE}"


@pytest.fixture
def account(tmp_path):
    """An empty moto account with the project copied to deploy from."""
    states, gaps = MappingStates(), MotoGaps()
    with FreshApp(), mock_aws(), gaps, states:
        os.environ.pop("AWS_PROFILE", None)
        os.environ["AWS_DEFAULT_REGION"] = REGION
        session = boto3.Session(region_name=REGION)
        states.enforce(session)
        UnemulatedCalls().install(session)
        yield SimpleNamespace(
            session=session, states=states, gaps=gaps, sleeps=[],
            project=write_chalice_project(tmp_path / "project"),
            frontend=write_frontend(tmp_path / "frontend"), build=tmp_path / "build",
            template=moto_template(*create_distribution(session.client("cloudfront"))))


def run_deploy(account, region: str = REGION, chalice_cli=ChaliceCli):
    """scripts.deploy.deploy as `make deploy` runs it; returns (site URL, log lines)."""
    os.environ["AWS_DEFAULT_REGION"] = region  # chalice's session, as open_session sets it
    FreshApp.forget()
    session = account.session if region == REGION else boto3.Session(region_name=region)
    logs = []
    url = deploy_script.deploy(
        STAGE, session=session, chalice=chalice_cli(account.project, log=logs.append),
        template_body=account.template, frontend_dir=account.frontend,
        build_dir=account.build, log=logs.append, sleep=account.sleeps.append)
    return url, logs


def run_destroy(account, region: str = REGION, chalice_cli=ChaliceCli) -> list[str]:
    os.environ["AWS_DEFAULT_REGION"] = region
    FreshApp.forget()
    session = account.session if region == REGION else boto3.Session(region_name=region)
    logs = []
    destroy_script.destroy(STAGE, session=session,
                           chalice=chalice_cli(account.project, log=logs.append),
                           log=logs.append)
    return logs


def record(account) -> dict | None:
    return ChaliceCli(account.project).deployed(STAGE)


def entry(values: dict, kind: str) -> dict:
    (found,) = [r for r in values["resources"] if r["resource_type"] == kind]
    return found


class ChaliceWithoutRecovery(ChaliceCli):
    """chalice as it is: its record taken as it stands."""

    def reconcile(self, session, config, stage):
        return self.deployed(stage) or {}


def what_the_stage_has(account) -> dict[str, list[str]]:
    """Everything of stage dev in the account, by kind."""
    client = account.session.client
    lam, logs = client("lambda"), client("logs")
    functions = [f["FunctionName"] for f in lam.list_functions()["Functions"]
                 if f["FunctionName"].startswith(PREFIX)]
    return {
        "functions": sorted(functions),
        "roles": sorted(r["RoleName"] for r in client("iam").list_roles()["Roles"]
                        if r["RoleName"].startswith(PREFIX)),
        "rules": sorted(r["Name"] for r in client("events").list_rules()["Rules"]
                        if r["Name"].startswith(PREFIX)),
        "rest_apis": [a["id"] for a in client("apigateway").get_rest_apis()["items"]],
        "websocket_apis": [a["ApiId"] for a in client("apigatewayv2").get_apis()["Items"]],
        "mappings": [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]],
        "layer_versions": [v["LayerVersionArn"] for v in lam.list_layer_versions(
            LayerName=f"{PREFIX}-managed-layer")["LayerVersions"]],
        "log_groups": sorted(g["logGroupName"] for g in logs.describe_log_groups(
            logGroupNamePrefix=f"/aws/lambda/{PREFIX}")["logGroups"]),
    }


def fail_first_deploy(account) -> FailOnce:
    """A first deploy that stops after chalice created the WebSocket API, before its
    stage: roles, functions, layer, schedule, stream mapping and REST API exist, and
    chalice has written no record."""
    failure = FailOnce("apigatewayv2.CreateStage")
    with failure, pytest.raises(ChaliceDeploymentError):
        run_deploy(account)
    assert failure.failed
    assert record(account) is None
    return failure


# --- a stage's life ---------------------------------------------------------------------

def test_first_deploy_records_everything_and_gives_the_lambdas_the_websocket_api(account):
    url, logs = run_deploy(account)
    values = record(account)
    ws = entry(values, "websocket_api")["websocket_api_id"]
    lam = account.session.client("lambda")
    env = lam.get_function_configuration(
        FunctionName=f"{PREFIX}-on_table_change")["Environment"]["Variables"]
    assert env["PARLEY_WS_API_ID"] == ws  # from chalice's second pass
    assert "WebSocket API created; deploying again so the Lambdas and the policies know it" \
        in logs
    mapping = lam.get_event_source_mapping(UUID=entry(values, "dynamodb_event")["event_uuid"])
    assert (mapping["MaximumRetryAttempts"], mapping["BisectBatchOnFunctionError"]) == (3, True)
    queue = stack_outputs(account.session.client("cloudformation"),
                          f"{PREFIX}-infra")["StreamFailureQueueArn"]
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": queue}}
    bucket = stack_outputs(account.session.client("cloudformation"),
                           f"{PREFIX}-infra")["BucketName"]
    s3 = account.session.client("s3")
    index = s3.get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()
    version = re.search(r"src=(v/[0-9a-f]+/)app\.js", index).group(1)  # the site's version
    config = s3.get_object(Bucket=bucket, Key=f"{version}config.js")
    assert f'"{entry(values, "rest_api")["rest_api_url"].rstrip("/")}"' in \
        config["Body"].read().decode()
    assert url.startswith("https://")


def test_each_function_runs_with_its_own_role_and_the_policy_rendered_for_it(account):
    run_deploy(account)
    iam, lam = account.session.client("iam"), account.session.client("lambda")
    rendered = account.build / "iam" / STAGE
    files = policy_files(STAGE)
    roles = set()
    for function, file_name in files.items():
        role_arn = lam.get_function_configuration(
            FunctionName=function_name(STAGE, function))["Role"]
        role = role_arn.rsplit("/", 1)[1]
        assert role == f"{PREFIX}-{function}"  # chalice's name for a role of its own
        roles.add(role)
        (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(unquote(document))
        assert document == json.loads((rendered / file_name).read_text()), function
        assert not placeholders_in(document), function
    assert len(roles) == len(files)
    chalice_roles = [r for r in what_the_stage_has(account)["roles"]
                     if not r.startswith(f"{PREFIX}-infra-")]  # the bot task's, the stack's
    assert chalice_roles == sorted(roles)


def test_destroy_removes_everything_and_a_deploy_afterwards_starts_afresh(account):
    run_deploy(account)
    run_destroy(account)
    assert all(not found for found in what_the_stage_has(account).values()), \
        what_the_stage_has(account)
    assert stack_status(account.session.client("cloudformation"), f"{PREFIX}-infra") is None
    assert record(account) == EMPTY_RECORD  # what chalice's deletion deployer leaves
    assert previous_deploy(record(account)) is None

    url, logs = run_deploy(account)
    assert "WebSocket API created; deploying again so the Lambdas and the policies know it" \
        in logs
    has = what_the_stage_has(account)
    assert len(has["rest_apis"]) == len(has["websocket_apis"]) == len(has["mappings"]) == 1
    assert entry(record(account), "rest_api")["rest_api_id"] == has["rest_apis"][0]


def test_rerun_deploys_chalice_once_and_keeps_the_apis_and_the_mapping(account):
    run_deploy(account)
    before = what_the_stage_has(account)
    _, logs = run_deploy(account)
    after = what_the_stage_has(account)
    assert not any("deploying again" in line or "adopting" in line for line in logs)
    for kind in ("functions", "roles", "rules", "rest_apis", "websocket_apis", "mappings"):
        assert after[kind] == before[kind], kind
    assert len(after["layer_versions"]) == 1


# --- the stream mapping's busy states -----------------------------------------------------

def test_stream_settings_wait_until_lambda_lets_the_mapping_change(account):
    run_deploy(account)
    uuid = entry(record(account), "dynamodb_event")["event_uuid"]
    lam = account.session.client("lambda")
    account.sleeps.clear()
    # chalice updates the mapping on every deploy, and Lambda then refuses changes for
    # a while: what the deploy script's own update used to run into
    environment = lam.get_function_configuration(
        FunctionName=f"{PREFIX}-on_table_change")["Environment"]["Variables"]
    ChaliceCli(account.project, log=lambda _: None).deploy(
        STAGE, environment, account.build / "iam" / STAGE)
    with pytest.raises(lam.exceptions.ResourceInUseException):
        lam.update_event_source_mapping(UUID=uuid, MaximumRetryAttempts=2)

    run_deploy(account)
    assert account.sleeps  # it waited for Updating to pass
    settings = lam.get_event_source_mapping(UUID=uuid)
    assert settings["State"] == "Enabled"
    assert settings["MaximumRetryAttempts"] == 3


# --- a deploy or destroy that fails part way -------------------------------------------

def test_rerun_after_a_failed_first_deploy_adopts_what_it_created(account):
    fail_first_deploy(account)
    left = what_the_stage_has(account)
    assert left["rest_apis"] and left["mappings"] and left["websocket_apis"]
    # chalice alone, with no record, creates the stream mapping again; Lambda refuses
    with pytest.raises(ChaliceDeploymentError, match="ResourceConflictException"):
        run_deploy(account, chalice_cli=ChaliceWithoutRecovery)

    _, logs = run_deploy(account)
    has = what_the_stage_has(account)
    assert has["rest_apis"] == left["rest_apis"]  # adopted, not created again
    assert has["mappings"] == left["mappings"]
    assert has["functions"] == left["functions"] and has["roles"] == left["roles"]
    # the WebSocket API it left has no stage, which chalice's update never creates:
    # deleted, and a complete one created
    (ws,) = has["websocket_apis"]
    assert ws not in left["websocket_apis"]
    assert f"deleted websocket_api {left['websocket_apis'][0]}" in " ".join(logs)
    assert "adopting rest_api rest_api: it exists but chalice's record lacks it" in logs
    assert "adopting dynamodb_event on_table_change-dynamodb-event-source: it exists but " \
        "chalice's record lacks it" in logs
    assert len(has["layer_versions"]) == 1
    values = record(account)
    assert entry(values, "websocket_api")["websocket_api_id"] == ws
    assert entry(values, "rest_api")["rest_api_id"] == left["rest_apis"][0]


def test_destroy_after_a_failed_first_deploy_removes_what_it_created(account):
    fail_first_deploy(account)
    assert what_the_stage_has(account)["functions"]
    run_destroy(account)
    assert all(not found for found in what_the_stage_has(account).values()), \
        what_the_stage_has(account)


def test_destroy_after_a_destroy_that_failed_part_way_finishes_it(account):
    run_deploy(account)
    with FailOnce("iam.DeleteRole", code="Throttling"), \
            pytest.raises(ChaliceDeploymentError):
        run_destroy(account)
    # chalice deleted the WebSocket API and a function before it stopped; its record
    # still lists both
    recorded = {r["name"] for r in record(account)["resources"]}
    assert {"websocket_api", "websocket_disconnect"} <= recorded
    assert f"{PREFIX}-websocket_disconnect" not in what_the_stage_has(account)["functions"]
    # chalice alone stops at the first of them
    with pytest.raises(ChaliceDeploymentError, match="websocket_disconnect"):
        run_destroy(account, chalice_cli=ChaliceWithoutRecovery)

    logs = run_destroy(account)
    assert "forgetting lambda_function websocket_disconnect: chalice's record has it, the " \
        "account does not" in logs
    assert all(not found for found in what_the_stage_has(account).values()), \
        what_the_stage_has(account)


# --- one stage, one region ---------------------------------------------------------------

def test_a_stage_running_in_another_region_is_refused_before_anything_is_created(account):
    run_deploy(account)
    elsewhere = "eu-west-1"
    cfn = boto3.Session(region_name=elsewhere).client("cloudformation")

    with pytest.raises(StageInAnotherRegion, match=f"stage dev is deployed in {REGION}"):
        run_deploy(account, region=elsewhere)
    assert stack_status(cfn, f"{PREFIX}-infra") is None

    # from a checkout without chalice's record: the roles' policies tell
    (account.project / ".chalice" / "deployed" / f"{STAGE}.json").unlink()
    with pytest.raises(StageInAnotherRegion, match=f"the policy of IAM role {PREFIX}-"):
        run_deploy(account, region=elsewhere)
    with pytest.raises(StageInAnotherRegion):
        run_destroy(account, region=elsewhere)
    assert stack_status(cfn, f"{PREFIX}-infra") is None
    assert what_the_stage_has(account)["functions"]  # the us-east-1 stage is untouched
