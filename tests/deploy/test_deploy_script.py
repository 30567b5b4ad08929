"""`make deploy` / `make destroy` end to end against moto's server.

Everything runs for real against moto except three things moto cannot emulate, all named
in docs/DEPLOY.md: chalice's own deploy (tests.deploy.conftest.RecordingChalice stands
in; test_lifecycle.py runs chalice's deployer itself, in process against moto),
CloudFront resources inside CloudFormation (the distribution is created through moto's
CloudFront API and the template refers to it instead) and the WebSocket stage's
throttling update (tests.deploy.conftest.UnemulatedCalls records the request).
"""

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from chalice.deploy.packager import AppOnlyDeploymentPackager, DependencyBuilder
from chalice.utils import UI, OSUtils

from scripts import deploy as deploy_script
from scripts import destroy as destroy_script
from scripts import throttling
from scripts.bytecode import compiled_deploy_packages
from scripts.chalice_cli import ChaliceCli
from scripts.cloudformation import stack_outputs, stack_status
from scripts.common import (
    ROOT,
    placeholders_in,
    policy_files,
    stack_name,
)
from scripts.runtime import LAMBDA_RUNTIME, cache_tag
from tests.deploy.conftest import (
    EMPTY_RECORD,
    RecordingChalice,
    UnemulatedCalls,
    app_routes,
    create_distribution,
    create_websocket_api,
    moto_template,
    write_frontend,
)

# moto's CloudFormation skips bucket policies; tests/deploy/test_templates.py checks it.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Tried to parse AWS\W+S3\W+BucketPolicy")

STAGE = "dev"
SECRET = "/parley/dev/jwt-secret"
API_STAGE = "api"


def api_url(chalice) -> str:
    return f"https://{chalice.rest_api_id}.execute-api.us-east-1.amazonaws.com/api"


def ws_url(chalice) -> str:
    return f"wss://{chalice.websocket_api_id}.execute-api.us-east-1.amazonaws.com/api"


@pytest.fixture(scope="module")
def frontend(tmp_path_factory):
    return write_frontend(tmp_path_factory.mktemp("frontend"))


@pytest.fixture(scope="module")
def distribution(aws):
    return create_distribution(aws.client("cloudfront"))


@pytest.fixture(scope="module")
def chalice(aws):
    return RecordingChalice(aws.client)


@pytest.fixture(scope="module")
def unemulated(aws):
    calls = UnemulatedCalls()
    calls.install(aws.session)
    yield calls
    calls.uninstall(aws.session)


@pytest.fixture(scope="module")
def run_deploy(aws, chalice, unemulated, distribution, frontend, tmp_path_factory):
    build_dir = tmp_path_factory.mktemp("build")
    template = moto_template(*distribution)

    def run():
        logs = []
        url = deploy_script.deploy(STAGE, session=aws.session, chalice=chalice,
                                   endpoint_url=aws.endpoint, template_body=template,
                                   frontend_dir=frontend, build_dir=build_dir, log=logs.append)
        return url, logs

    return run


@pytest.fixture(scope="module")
def first(run_deploy, aws, chalice, unemulated):
    url, logs = run_deploy()
    secret = aws.client("ssm").get_parameter(Name=SECRET, WithDecryption=True)["Parameter"]
    return {"url": url, "logs": logs, "secret": secret, "calls": list(chalice.calls),
            "unemulated": list(unemulated.requests)}


@pytest.fixture(scope="module")
def outputs(first, aws):
    return stack_outputs(aws.client("cloudformation"), stack_name(STAGE))


@pytest.fixture(scope="module")
def second(first, outputs, run_deploy, aws, chalice, unemulated):
    aws.client("s3").put_object(Bucket=outputs["BucketName"], Key="old-module.js", Body=b"x")
    before, recorded = len(chalice.calls), len(unemulated.requests)
    url, logs = run_deploy()
    return {"url": url, "logs": logs, "calls": chalice.calls[before:],
            "unemulated": unemulated.requests[recorded:]}


# --- first deploy -----------------------------------------------------------------------

def test_first_deploy_creates_the_infra_stack_and_returns_the_site_url(first, aws, distribution):
    stack = aws.client("cloudformation").describe_stacks(StackName="parley-dev-infra")
    assert stack["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert first["url"] == f"https://{distribution[1]}/"


def test_the_stack_creates_the_table_with_a_new_and_old_images_stream(outputs, aws):
    table = aws.client("dynamodb").describe_table(TableName=outputs["TableName"])["Table"]
    assert outputs["TableName"] == "parley-dev"
    assert table["StreamSpecification"] == {"StreamEnabled": True,
                                            "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert outputs["StreamArn"] == table["LatestStreamArn"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH", "sk": "RANGE"}


def test_first_deploy_creates_the_jwt_secret_as_a_secure_string(first):
    assert first["secret"]["Type"] == "SecureString"
    assert len(first["secret"]["Value"]) >= 48


def test_first_deploy_runs_chalice_twice_so_lambdas_learn_the_websocket_api(first, chalice):
    before, after = first["calls"]
    assert "PARLEY_WS_API_ID" not in before["environment"]
    assert after["environment"]["PARLEY_WS_API_ID"] == chalice.websocket_api_id
    assert after["environment"]["PARLEY_WS_URL"] == ws_url(chalice)


def test_chalice_gets_the_stack_outputs_as_the_lambda_environment(first, outputs, distribution):
    env = first["calls"][-1]["environment"]
    assert env["PARLEY_TABLE"] == outputs["TableName"]
    assert env["PARLEY_STREAM_ARN"] == outputs["StreamArn"]
    assert env["PARLEY_JWT_SECRET_PARAM"] == SECRET
    assert env["PARLEY_SITE_URL"] == f"https://{distribution[1]}/"
    assert env["PARLEY_ALLOWED_ORIGIN"] == f"https://{distribution[1]}"


def resources_of(policy):
    return [r for s in policy["Statement"]
            for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]


def test_chalice_gets_each_functions_policy_for_this_account_table_and_websocket_api(
        first, outputs, chalice):
    before, after = first["calls"]
    assert set(after["policies"]) == set(policy_files(STAGE).values())
    assert not placeholders_in(after["policies"])
    stream = resources_of(after["policies"]["policy-on_table_change.json"])
    assert "arn:aws:dynamodb:us-east-1:123456789012:table/parley-dev" in stream
    assert outputs["StreamArn"] in stream
    assert (f"arn:aws:execute-api:us-east-1:123456789012:{chalice.websocket_api_id}"
            "/api/POST/@connections/*" in stream)
    assert ("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/"
            "parley-dev-on_table_change:*" in stream)
    rest = resources_of(after["policies"]["policy-api_handler.json"])
    assert "arn:aws:ssm:us-east-1:123456789012:parameter/parley/dev/jwt-secret" in rest
    assert "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/parley-dev:*" in rest
    # before the WebSocket API exists, its statement is left out rather than guessed
    assert "execute-api" not in json.dumps(before["policies"])


def test_without_a_bot_image_recording_is_off_but_its_bucket_and_cluster_exist(first, outputs,
                                                                              aws):
    env = first["calls"][-1]["environment"]
    assert env["PARLEY_RECORDINGS_BUCKET"] == outputs["RecordingsBucketName"]
    assert "PARLEY_BOT_LAUNCHER" not in env and "BotTaskDefinition" not in outputs
    policies = first["calls"][-1]["policies"]
    assert "ecs:RunTask" not in json.dumps(policies) and "iam:PassRole" not in json.dumps(policies)
    assert {name for name, policy in policies.items()
            if "s3:GetObject" in actions_of(policy)} == {"policy-api_handler.json"}
    aws.client("s3").head_bucket(Bucket=outputs["RecordingsBucketName"])
    (cluster,) = aws.client("ecs").describe_clusters(clusters=[outputs["BotClusterName"]])[
        "clusters"]
    assert cluster["clusterName"] == "parley-dev-bots"


def actions_of(policy):
    return {a for s in policy["Statement"]
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_with_a_bot_task_only_the_rest_function_may_start_bots(tmp_path):
    outputs = {"TableName": "parley-dev", "StreamArn": "arn:aws:dynamodb:us-east-1:1:table/x",
               "JwtSecretParameterName": SECRET, "StreamFailureQueueArn": "arn:aws:sqs:x",
               "RecordingsBucketName": "rec-bucket", "BotClusterName": "parley-dev-bots",
               "BotTaskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/parley-dev-bot:3",
               "BotTaskDefinitionFamily": "parley-dev-bot",
               "BotTaskRoleArn": "arn:aws:iam::1:role/task",
               "BotExecutionRoleArn": "arn:aws:iam::1:role/execution"}
    account = {"partition": "aws", "region": "us-east-1", "account_id": "1"}
    folder = deploy_script.write_policies(
        STAGE, deploy_script.policy_values(STAGE, account, outputs, "ws5678cd"), tmp_path)
    policies = {p.name: json.loads(p.read_text()) for p in folder.glob("policy-*.json")}
    starting = {name for name, policy in policies.items()
                if actions_of(policy) & {"ecs:RunTask", "iam:PassRole", "s3:GetObject"}}
    assert starting == {"policy-api_handler.json"}
    rest = policies["policy-api_handler.json"]
    assert {"ecs:RunTask", "iam:PassRole", "s3:GetObject"} <= actions_of(rest)
    assert {"arn:aws:iam::1:role/task", "arn:aws:iam::1:role/execution",
            "arn:aws:ecs:us-east-1:1:task-definition/parley-dev-bot:*",
            "arn:aws:s3:::rec-bucket/recordings/*"} <= set(resources_of(rest))


def test_the_poll_report_sender_reaches_the_lambdas_only_when_given():
    outputs = {"SiteUrl": "https://d1.cloudfront.net/", "TableName": "t", "StreamArn": "s",
               "JwtSecretParameterName": "/parley/dev/jwt-secret",
               "RecordingsBucketName": "rec-bucket"}
    sender = "Parley <no-reply@example.com>"
    assert "PARLEY_REPORT_SENDER" not in deploy_script.lambda_environment(outputs, None)
    assert deploy_script.lambda_environment(outputs, None, sender)[
        "PARLEY_REPORT_SENDER"] == sender


def test_a_stack_with_a_bot_task_gives_the_lambdas_the_ecs_launcher():
    outputs = {"RecordingsBucketName": "rec-bucket", "BotClusterName": "parley-dev-bots",
               "BotTaskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/parley-dev-bot:3",
               "BotSubnets": "subnet-a,subnet-b", "BotSecurityGroups": "sg-1"}
    assert deploy_script.recording_environment(outputs) == {
        "PARLEY_RECORDINGS_BUCKET": "rec-bucket", "PARLEY_BOT_LAUNCHER": "ecs",
        "PARLEY_ECS_CLUSTER": "parley-dev-bots",
        "PARLEY_BOT_TASK_DEFINITION": outputs["BotTaskDefinition"],
        "PARLEY_BOT_SUBNETS": "subnet-a,subnet-b", "PARLEY_BOT_SECURITY_GROUPS": "sg-1"}


def test_stream_mapping_gets_bounded_retries_and_bisect_on_error(first, chalice, aws):
    mapping = next(r for r in chalice.deployed(STAGE)["resources"]
                   if r["resource_type"] == "dynamodb_event")
    settings = aws.client("lambda").get_event_source_mapping(UUID=mapping["event_uuid"])
    assert settings["MaximumRetryAttempts"] == 3
    assert settings["BisectBatchOnFunctionError"] is True
    assert settings["MaximumRecordAgeInSeconds"] == 3600


def test_stream_mapping_records_batches_it_gives_up_on_in_the_stacks_queue(first, chalice,
                                                                          outputs, aws):
    mapping = next(r for r in chalice.deployed(STAGE)["resources"]
                   if r["resource_type"] == "dynamodb_event")
    settings = aws.client("lambda").get_event_source_mapping(UUID=mapping["event_uuid"])
    assert settings["DestinationConfig"] == {
        "OnFailure": {"Destination": outputs["StreamFailureQueueArn"]}}
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=outputs["StreamFailureQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == outputs["StreamFailureQueueArn"]
    assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    stream_policy = first["calls"][-1]["policies"]["policy-on_table_change.json"]
    assert outputs["StreamFailureQueueArn"] in json.dumps(stream_policy)


def published_version(aws, outputs) -> str:
    """The folder of the version index.html points at, `v/<version>/`."""
    index = aws.client("s3").get_object(Bucket=outputs["BucketName"], Key="index.html")
    return re.search(r"src=(v/[0-9a-f]+/)app\.js", index["Body"].read().decode()).group(1)


def test_site_files_are_uploaded_with_content_types_and_cache_headers(first, outputs, aws):
    s3 = aws.client("s3")
    version = published_version(aws, outputs)
    year = "public, max-age=31536000, immutable"
    expected = {
        "index.html": ("text/html; charset=utf-8", "no-cache"),
        f"{version}config.js": ("text/javascript; charset=utf-8", year),
        f"{version}app.js": ("text/javascript; charset=utf-8", year),
        f"{version}css/app.css": ("text/css; charset=utf-8", year),
        f"{version}i18n/zh-CN.json": ("application/json; charset=utf-8", year),
    }
    for key, (content_type, cache) in expected.items():
        head = s3.head_object(Bucket=outputs["BucketName"], Key=key)
        assert (head["ContentType"], head["CacheControl"]) == (content_type, cache), key
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=outputs["BucketName"])["Contents"]}
    assert keys == set(expected)  # no dotfiles


def test_config_js_points_the_site_at_the_deployed_apis(first, outputs, aws, chalice):
    key = published_version(aws, outputs) + "config.js"
    body = aws.client("s3").get_object(Bucket=outputs["BucketName"], Key=key)["Body"]
    assert body.read().decode() == (
        f'export default {{apiUrl: "{api_url(chalice)}", wsUrl: "{ws_url(chalice)}"}};\n')


def test_deploy_invalidates_the_cloudfront_cache(first, aws, distribution):
    invalidations = aws.client("cloudfront").list_invalidations(DistributionId=distribution[0])
    assert invalidations["InvalidationList"]["Quantity"] == 1


def rest_throttling(aws, chalice) -> dict:
    """{method settings key: (rate, burst)} of the REST stage, as moto reports them."""
    stage = aws.client("apigateway").get_stage(restApiId=chalice.rest_api_id,
                                               stageName=API_STAGE)
    return {key: (s["throttlingRateLimit"], s["throttlingBurstLimit"])
            for key, s in stage["methodSettings"].items()}


EXPECTED_REST_THROTTLING = {
    "*/*": (200.0, 400),
    "~1meetings/POST": (20.0, 40),
    "~1meetings~1{mid}~1join/POST": (20.0, 40),
}


def test_deploy_throttles_the_rest_stage_and_create_and_join_more_strictly(first, aws,
                                                                            chalice):
    assert rest_throttling(aws, chalice) == EXPECTED_REST_THROTTLING


def test_deploy_throttles_the_websocket_stage(first, chalice):
    """moto cannot apply apigatewayv2 UpdateStage; this is the request that reached it."""
    (request,) = first["unemulated"]
    assert request["method"] == "PATCH"
    assert request["path"] == f"/v2/apis/{chalice.websocket_api_id}/stages/{API_STAGE}"
    assert request["body"] == {"defaultRouteSettings": {
        "throttlingRateLimit": 100.0, "throttlingBurstLimit": 200,
        # read from the stage and sent back unchanged
        "dataTraceEnabled": False, "detailedMetricsEnabled": False, "loggingLevel": "OFF",
    }}


def test_deploy_gives_api_gateways_own_errors_the_sites_cors_headers(first, aws, chalice,
                                                                   distribution):
    apigateway = aws.client("apigateway")
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"):
        got = apigateway.get_gateway_response(restApiId=chalice.rest_api_id, responseType=kind)
        headers = got["responseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == \
            f"'https://{distribution[1]}'", kind


def test_strictly_throttled_methods_are_routes_of_the_app():
    routes = app_routes()
    for path, method in throttling.STRICT_METHODS:
        assert method in routes.get(path, []), (path, method)


def test_method_setting_paths_escape_slashes_as_json_pointers():
    assert throttling.method_setting_path("*", "*") == "/*/*"
    assert throttling.method_setting_path("/meetings", "POST") == "/~1meetings/POST"
    assert (throttling.method_setting_path("/meetings/{mid}/join", "POST")
            == "/~1meetings~1{mid}~1join/POST")
    assert throttling.method_setting_path("/a~b", "GET") == "/~1a~0b/GET"


def test_websocket_throttling_already_in_place_is_left_alone(aws, unemulated):
    settings = {"ThrottlingRateLimit": float(throttling.WEBSOCKET_THROTTLE.rate),
                "ThrottlingBurstLimit": throttling.WEBSOCKET_THROTTLE.burst,
                "LoggingLevel": "ERROR"}
    v2 = aws.client("apigatewayv2")
    api = create_websocket_api(v2, "parley-throttled", API_STAGE, DefaultRouteSettings=settings)
    before = len(unemulated.requests)
    assert throttling.throttle_websocket_api(v2, api, API_STAGE) is False
    assert len(unemulated.requests) == before
    v2.delete_api(ApiId=api)


# --- re-running -------------------------------------------------------------------------

def test_rerun_keeps_the_jwt_secret(second, first, aws):
    again = aws.client("ssm").get_parameter(Name=SECRET, WithDecryption=True)["Parameter"]
    assert again["Value"] == first["secret"]["Value"]
    assert again["Version"] == first["secret"]["Version"]


def test_rerun_updates_the_stack_in_place_and_deploys_chalice_once(second, first, aws):
    stack = aws.client("cloudformation").describe_stacks(StackName="parley-dev-infra")
    assert stack["Stacks"][0]["StackStatus"] in {"UPDATE_COMPLETE", "CREATE_COMPLETE"}
    assert len(second["calls"]) == 1
    assert second["calls"][0]["environment"] == first["calls"][-1]["environment"]
    assert second["url"] == first["url"]


def test_rerun_removes_site_files_that_are_no_longer_in_frontend(second, outputs, aws):
    keys = {o["Key"] for o in
            aws.client("s3").list_objects_v2(Bucket=outputs["BucketName"])["Contents"]}
    assert "old-module.js" not in keys
    assert "index.html" in keys


def test_rerun_sets_the_same_throttling_again(second, first, aws, chalice):
    assert rest_throttling(aws, chalice) == EXPECTED_REST_THROTTLING
    # moto keeps the WebSocket stage unthrottled, so the re-run sends the same request
    assert second["unemulated"] == first["unemulated"]


# --- destroy ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def destroyed(second, outputs, aws, chalice):
    aws.client("logs").create_log_group(logGroupName="/aws/lambda/parley-dev-on_table_change")
    logs = []
    destroy_script.destroy(STAGE, session=aws.session, chalice=chalice,
                           endpoint_url=aws.endpoint, log=logs.append)
    return logs


def test_destroy_removes_the_app_the_stack_and_the_secret(destroyed, chalice, outputs, aws):
    assert chalice.deleted == [STAGE]
    assert stack_status(aws.client("cloudformation"), "parley-dev-infra") is None
    ssm = aws.client("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=SECRET)
    tables = aws.client("dynamodb").list_tables()["TableNames"]
    assert outputs["TableName"] not in tables


def test_destroy_removes_the_log_groups_chalice_leaves_behind(destroyed, aws):
    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/parley-dev")
    assert groups["logGroups"] == []


def test_destroy_leaves_chalices_empty_record_behind(destroyed, chalice):
    assert chalice.deployed(STAGE) == EMPTY_RECORD


def test_destroy_twice_is_harmless(destroyed, aws, chalice):
    logs = []
    destroy_script.destroy(STAGE, session=aws.session, chalice=chalice,
                           endpoint_url=aws.endpoint, log=logs.append)
    assert chalice.deleted == [STAGE, STAGE]
    assert not [line for line in logs if line.startswith(("deleted", "emptied"))]


def test_deploy_after_destroy_starts_afresh(destroyed, run_deploy, chalice, aws):
    """chalice delete leaves `{"resources": []}`: a first deploy again, not an error."""
    before = len(chalice.calls)
    url, logs = run_deploy()
    assert len(chalice.calls) - before == 2  # the WebSocket API is new again
    assert "WebSocket API created; deploying again so the Lambdas and the policies know it" \
        in logs
    stack = aws.client("cloudformation").describe_stacks(StackName="parley-dev-infra")
    assert stack["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


# --- the real chalice step's configuration ----------------------------------------------

def test_chalice_deploy_gets_the_stack_environment_and_the_rendered_policies(tmp_path):
    """What ChaliceCli hands chalice's deployer (the deployer itself needs AWS)."""
    from chalice.deploy import appgraph, models

    cli = ChaliceCli()
    factory = cli.factory(tmp_path, environ={})
    config = cli.config(factory, STAGE, {"PARLEY_TABLE": "parley-dev",
                                         "PARLEY_WS_API_ID": "ws5678cd"})
    graph = appgraph.ApplicationGraphBuilder().build(config, STAGE)
    functions = [r for r in appgraph.DependencyBuilder().build_dependencies(graph)
                 if isinstance(r, models.LambdaFunction)]
    assert {f.resource_name for f in functions} == set(policy_files(STAGE))
    for function in functions:  # each function's role reads its rendered policy
        assert (Path(function.role.policy.filename).resolve()
                == tmp_path / f"policy-{function.resource_name}.json")
    stream = config.scope(STAGE, "on_table_change")
    assert stream.environment_variables["PARLEY_WS_API_ID"] == "ws5678cd"
    assert stream.environment_variables["PARLEY_WS_STAGE"] == "api"
    assert stream.environment_variables["PARLEY_JWT_SECRET_PARAM"] == SECRET
    assert stream.lambda_timeout == 60
    assert config.scope(STAGE, "api_handler").lambda_memory_size == 512
    assert config.autogen_policy is False


def test_chalice_deploy_zips_get_bytecode_and_the_packagers_are_restored(tmp_path):
    """The app-code zip chalice's deployer builds (the layer's is wrapped the same way)."""
    shutil.copy(ROOT / "app.py", tmp_path)
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    osutils = OSUtils()
    packager = AppOnlyDeploymentPackager(osutils, DependencyBuilder(osutils), UI())
    original = AppOnlyDeploymentPackager.create_deployment_package
    with compiled_deploy_packages():
        zip_path = packager.create_deployment_package(str(tmp_path), LAMBDA_RUNTIME)
        again = packager.create_deployment_package(str(tmp_path), LAMBDA_RUNTIME)  # reused
    assert AppOnlyDeploymentPackager.create_deployment_package is original
    assert again == zip_path
    tag = cache_tag(LAMBDA_RUNTIME)
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    assert f"__pycache__/app.{tag}.pyc" in names
    assert f"chalicelib/__pycache__/auth.{tag}.pyc" in names
    assert len(names) == len(set(names))
