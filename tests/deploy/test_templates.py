"""infra/parley.yaml and the `make package` template: valid, complete, and wired together."""

import json
import os
import subprocess
import zipfile
from importlib import metadata

import pytest

from scripts.common import (
    INFRA_TEMPLATE,
    ROOT,
    STREAM_RETRY_SETTINGS,
    function_name,
    function_policies,
    load_cfn_yaml,
    placeholders_in,
)
from scripts.gateway_responses import gateway_responses
from scripts.runtime import LAMBDA_RUNTIME, cache_tag, runtime_python, runtime_version
from scripts.throttling import WEBSOCKET_THROTTLE, rest_throttling_operations
from tests.deploy.conftest import run_cfn_lint


@pytest.fixture(scope="module")
def infra():
    return load_cfn_yaml(INFRA_TEMPLATE)


def of_type(template, kind):
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def only(template, kind):
    found = of_type(template, kind)
    assert len(found) == 1, (kind, sorted(found))
    return next(iter(found.values()))["Properties"]


# --- infra/parley.yaml ------------------------------------------------------------------

def test_infra_template_passes_cfn_lint():
    result = run_cfn_lint(INFRA_TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_table_is_one_on_demand_table_with_stream_ttl_and_point_in_time_recovery(infra):
    table = only(infra, "AWS::DynamoDB::Table")
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        ("pk", "HASH"), ("sk", "RANGE")}
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} \
        == {("pk", "S"), ("sk", "S")}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "GlobalSecondaryIndexes" not in table


def infra_roles(template):
    """The roles infra/parley.yaml defines (chalice's function roles are the others)."""
    return set(of_type(load_cfn_yaml(INFRA_TEMPLATE), "AWS::IAM::Role")) & set(template["Resources"])


@pytest.mark.parametrize("name", ["SiteBucket", "RecordingsBucket"])
def test_buckets_block_public_access_and_are_encrypted(infra, name):
    bucket = infra["Resources"][name]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert "WebsiteConfiguration" not in bucket


def test_only_this_distribution_may_read_the_bucket_through_origin_access_control(infra):
    policy = infra["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"]
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert allow[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow[0]["Action"] == "s3:GetObject"
    source = allow[0]["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert source["Fn::Sub"].endswith(":distribution/${Distribution}")
    oac = only(infra, "AWS::CloudFront::OriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    origin = only(infra, "AWS::CloudFront::Distribution")["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_cloudfront_redirects_to_https_and_serves_index_html(infra):
    config = only(infra, "AWS::CloudFront::Distribution")["DistributionConfig"]
    assert config["DefaultRootObject"] == "index.html"
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}


def test_security_headers_allow_same_origin_scripts_and_the_execute_api_origins(infra):
    config = only(infra, "AWS::CloudFront::ResponseHeadersPolicy")
    headers = config["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";"))}
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["connect-src"] == [
        "'self'", "https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}",
        "wss://*.execute-api.${AWS::Region}.${AWS::URLSuffix}",
        # pages upload files to play to the bucket's regional host (naming the bucket here
        # would make a cycle: its CORS names the distribution, which names this policy)
        "https://*.s3.${AWS::Region}.${AWS::URLSuffix}"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert headers["ContentTypeOptions"]["Override"] is True


def test_infra_stack_outputs_what_the_deploy_needs(infra):
    assert set(infra["Outputs"]) >= {"TableName", "StreamArn", "BucketName", "DistributionId",
                                     "DistributionDomainName", "SiteUrl",
                                     "JwtSecretParameterName", "StreamFailureQueueArn",
                                     "StreamFailureQueueUrl"}


def test_failed_stream_batches_are_kept_encrypted_for_the_longest_sqs_allows(infra):
    queue = only(infra, "AWS::SQS::Queue")
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["SqsManagedSseEnabled"] is True
    assert "FifoQueue" not in queue  # Lambda's on-failure destination is a standard queue
    assert infra["Outputs"]["StreamFailureQueueArn"]["Value"] == {
        "Fn::GetAtt": ["StreamFailures", "Arn"]}


def test_infra_creates_no_iam_but_the_bot_roles_and_no_secret_value(infra):
    kinds = {name: res["Type"] for name, res in infra["Resources"].items()}
    assert {n for n, k in kinds.items() if k.startswith("AWS::IAM::")} == {
        "BotTaskRole", "BotExecutionRole"}
    assert "AWS::SSM::Parameter" not in kinds.values()  # SecureString: scripts/deploy.py


# --- recordings -------------------------------------------------------------------------

def test_recordings_bucket_expires_recordings_and_unfinished_uploads_and_keeps_tls(infra):
    bucket = infra["Resources"]["RecordingsBucket"]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireRecordings"]["Prefix"] == "recordings/"
    assert rules["ExpireRecordings"]["ExpirationInDays"] == {"Ref": "RecordingRetentionDays"}
    assert rules["AbortUnfinishedUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1}
    assert (rules["ExpireStreamFiles"]["Prefix"], rules["ExpireStreamFiles"]["ExpirationInDays"]
            ) == ("streams/", 3)


def test_only_the_site_may_upload_files_to_play_into_the_bucket(infra):
    (rule,) = infra["Resources"]["RecordingsBucket"]["Properties"]["CorsConfiguration"][
        "CorsRules"]
    assert rule["AllowedOrigins"] == [{"Fn::Sub": "https://${Distribution.DomainName}"}]
    assert rule["AllowedMethods"] == ["POST"]
    policy = infra["Resources"]["RecordingsBucketPolicy"]["Properties"]["PolicyDocument"]
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}}
    assert not [s for s in policy["Statement"] if s["Effect"] == "Allow"]


def role_statements(infra, name):
    return [s for p in infra["Resources"][name]["Properties"]["Policies"]
            for s in p["PolicyDocument"]["Statement"]]


def test_bot_roles_are_for_ecs_tasks_of_this_account_and_least_privilege(infra):
    for name in ("BotTaskRole", "BotExecutionRole"):
        (trust,) = infra["Resources"][name]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {
            "Ref": "AWS::AccountId"}}}
        assert "ManagedPolicyArns" not in infra["Resources"][name]["Properties"]
    store, stream = role_statements(infra, "BotTaskRole")
    assert sorted(store["Action"]) == ["s3:AbortMultipartUpload", "s3:GetObject",
                                       "s3:ListMultipartUploadParts", "s3:PutObject"]
    assert store["Resource"] == {"Fn::Sub": "${RecordingsBucket.Arn}/recordings/*"}
    assert (stream["Action"], stream["Resource"]) == (  # a streamer reads its file
        "s3:GetObject", {"Fn::Sub": "${RecordingsBucket.Arn}/streams/*"})
    execution = {s["Sid"]: s for s in role_statements(infra, "BotExecutionRole")}
    assert execution["RegistryLogin"]["Action"] == "ecr:GetAuthorizationToken"
    assert execution["WriteBotLogs"]["Resource"] == {"Fn::GetAtt": ["BotLogGroup", "Arn"]}
    assert all(s["Effect"] == "Allow" for s in execution.values())


def test_bot_task_is_fargate_with_container_bot_its_roles_and_its_log_group(infra):
    task = infra["Resources"]["BotTaskDefinition"]
    assert task["Condition"] == "RecordingOn"
    props = task["Properties"]
    assert props["RequiresCompatibilities"] == ["FARGATE"]
    assert props["NetworkMode"] == "awsvpc"
    assert (props["Cpu"], props["Memory"]) == ("1024", "2048")
    assert props["TaskRoleArn"] == {"Fn::GetAtt": ["BotTaskRole", "Arn"]}
    assert props["ExecutionRoleArn"] == {"Fn::GetAtt": ["BotExecutionRole", "Arn"]}
    (container,) = props["ContainerDefinitions"]
    assert (container["Name"], container["Image"]) == ("bot", {"Ref": "BotImage"})
    logs = container["LogConfiguration"]
    assert logs["LogDriver"] == "awslogs"
    assert logs["Options"]["awslogs-group"] == {"Ref": "BotLogGroup"}
    assert infra["Resources"]["BotLogGroup"]["Properties"]["RetentionInDays"] == 14
    assert infra["Parameters"]["BotImage"]["Default"] == ""


def test_bot_network_and_task_exist_only_with_a_bot_image(infra):
    conditional = {name for name, res in infra["Resources"].items()
                   if res.get("Condition") == "RecordingOn"}
    assert {"BotTaskDefinition", "BotVpc", "BotSubnetA", "BotSubnetB",
            "BotSecurityGroup"} <= conditional
    group = infra["Resources"]["BotSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    outputs = infra["Outputs"]
    for name in ("BotTaskDefinition", "BotSubnets", "BotSecurityGroups"):
        assert outputs[name]["Condition"] == "RecordingOn", name
    assert {"RecordingsBucketName", "BotClusterName", "BotTaskDefinitionFamily",
            "BotTaskRoleArn", "BotExecutionRoleArn"} <= set(outputs)


def names_of(value) -> list:
    """Every `Name` property anywhere in a JSON-like value."""
    if isinstance(value, dict):
        found = [value["Name"]] if "Name" in value else []
        return found + [n for v in value.values() for n in names_of(v)]
    if isinstance(value, list):
        return [n for v in value for n in names_of(v)]
    return []


def test_account_wide_cloudfront_names_carry_the_stack_and_the_region(infra):
    """CloudFront is global: the same stage's stack in a second region must not take
    (or fail on) the first one's origin access control and headers policy names."""
    names = [name for res in infra["Resources"].values()
             if res["Type"].startswith("AWS::CloudFront::")
             for name in names_of(res["Properties"])]
    assert len(names) == 2  # the origin access control and the response headers policy
    for name in names:
        assert "${AWS::StackName}" in name["Fn::Sub"] and "${AWS::Region}" in name["Fn::Sub"]


# --- make package -----------------------------------------------------------------------

def test_packaged_template_passes_cfn_lint(packaged):
    path, _ = packaged
    result = run_cfn_lint(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_packaged_roles_are_named_by_cloudformation(packaged):
    """IAM names are account-wide; a role name fixed in the template would collide when
    the same template is deployed in a second region."""
    _, template = packaged
    roles = of_type(template, "AWS::IAM::Role")
    assert roles
    assert not [name for name, role in roles.items() if "RoleName" in role["Properties"]]


def test_packaged_template_holds_the_infra_resources(packaged, infra):
    _, template = packaged
    for name, resource in infra["Resources"].items():
        assert template["Resources"][name]["Type"] == resource["Type"]


def test_packaged_template_has_the_nightly_autoclear_and_the_minute_sweep(packaged):
    _, template = packaged
    schedules = sorted(event["Properties"]["Schedule"]
                       for fn in of_type(template, "AWS::Serverless::Function").values()
                       for event in fn["Properties"].get("Events", {}).values()
                       if event["Type"] == "Schedule")
    assert schedules == ["cron(0 2 * * ? *)", "rate(1 minute)"]


def test_packaged_stream_mapping_reads_the_table_stream_with_bounded_retries(packaged):
    _, template = packaged
    streams = [event["Properties"]
               for fn in of_type(template, "AWS::Serverless::Function").values()
               for event in fn["Properties"].get("Events", {}).values()
               if event["Type"] == "DynamoDB"]
    assert len(streams) == 1
    stream = streams[0]
    assert stream["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert stream["MaximumRetryAttempts"] == STREAM_RETRY_SETTINGS["MaximumRetryAttempts"]
    assert 0 <= stream["MaximumRetryAttempts"] <= 10
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["StartingPosition"] == "LATEST"
    assert stream["DestinationConfig"] == {"OnFailure": {
        "Type": "SQS", "Destination": {"Fn::GetAtt": ["StreamFailures", "Arn"]}}}


def test_packaged_template_has_the_rest_api(packaged):
    _, template = packaged
    api = only(template, "AWS::Serverless::Api")
    paths = api["DefinitionBody"]["paths"]
    assert {"/meetings", "/meetings/{mid}", "/meetings/{mid}/join",
            "/meetings/{mid}/tickets"} <= set(paths)
    assert api["EndpointConfiguration"] == "REGIONAL"


SITE_ORIGIN = {"Fn::Sub": "'https://${Distribution.DomainName}'"}


def test_packaged_preflights_answer_for_the_site_origin_as_the_deployed_ones_do(packaged):
    _, template = packaged
    paths = only(template, "AWS::Serverless::Api")["DefinitionBody"]["paths"]
    preflights = 0
    for path, methods in paths.items():
        assert set(methods) - {"options"}, f"{path}: a preflight without a route"
        if "options" in methods:
            preflights += 1
            answer = methods["options"]["x-amazon-apigateway-integration"]["responses"]["default"]
            headers = answer["responseParameters"]
            assert headers["method.response.header.Access-Control-Allow-Origin"] == SITE_ORIGIN
            assert headers["method.response.header.Access-Control-Expose-Headers"] == \
                "'Retry-After'"
    assert preflights == len(paths)  # every route of the app takes CORS requests


def test_packaged_api_gateway_errors_carry_the_same_cors_headers_as_deployed_ones(packaged):
    _, template = packaged
    body = only(template, "AWS::Serverless::Api")["DefinitionBody"]
    assert body["x-amazon-apigateway-gateway-responses"] == gateway_responses(SITE_ORIGIN)
    assert set(body["x-amazon-apigateway-gateway-responses"]) >= {"DEFAULT_4XX", "DEFAULT_5XX"}


def test_packaged_stages_are_throttled_as_make_deploy_throttles_them(packaged):
    _, template = packaged
    settings = only(template, "AWS::Serverless::Api")["MethodSettings"]
    as_patch = {}
    for s in settings:  # the update_stage operations make deploy sends, from these
        prefix = f"{s['ResourcePath']}/{s['HttpMethod']}"
        as_patch[f"{prefix}/throttling/rateLimit"] = f"{s['ThrottlingRateLimit']:g}"
        as_patch[f"{prefix}/throttling/burstLimit"] = str(s["ThrottlingBurstLimit"])
    assert as_patch == {op["path"]: op["value"] for op in rest_throttling_operations()}
    stage = only(template, "AWS::ApiGatewayV2::Stage")
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": float(WEBSOCKET_THROTTLE.rate),
        "ThrottlingBurstLimit": WEBSOCKET_THROTTLE.burst}


def test_packaged_template_has_the_websocket_api_with_its_three_routes(packaged):
    _, template = packaged
    api = only(template, "AWS::ApiGatewayV2::Api")
    assert api["ProtocolType"] == "WEBSOCKET"
    routes = {r["Properties"]["RouteKey"]
              for r in of_type(template, "AWS::ApiGatewayV2::Route").values()}
    assert routes == {"$connect", "$default", "$disconnect"}


def test_every_packaged_function_is_wired_to_the_stack(packaged):
    _, template = packaged
    assert template["Parameters"]["ReportSender"]["Default"] == ""
    # TURN: a server given as parameters (empty URLs: none); the secret a SecureString
    assert template["Parameters"]["TurnUrls"]["Default"] == ""
    assert template["Parameters"]["TurnSecretParameter"]["Default"] == "/parley/dev/turn-secret"
    for name, fn in of_type(template, "AWS::Serverless::Function").items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["PARLEY_TURN_URLS"] == {"Ref": "TurnUrls"}, name
        assert env["PARLEY_TURN_SECRET_PARAM"] == {"Ref": "TurnSecretParameter"}, name
        assert "PARLEY_TURN_SECRET" not in env, name
        assert env["PARLEY_RECORDINGS_BUCKET"] == {"Ref": "RecordingsBucket"}, name
        assert env["PARLEY_REPORT_SENDER"] == {"Ref": "ReportSender"}, name  # "": no email
        assert env["PARLEY_BOT_LAUNCHER"] == {"Fn::If": ["RecordingOn", "ecs", ""]}, name
        assert env["PARLEY_BOT_TASK_DEFINITION"] == {
            "Fn::If": ["RecordingOn", {"Ref": "BotTaskDefinition"}, ""]}, name
        assert env["PARLEY_TABLE"] == {"Ref": "Table"}, name
        assert env["PARLEY_STREAM_ARN"] == {"Fn::GetAtt": ["Table", "StreamArn"]}, name
        assert env["PARLEY_JWT_SECRET_PARAM"] == {"Fn::Sub": "/parley/${Stage}/jwt-secret"}
        assert env["PARLEY_WS_API_ID"] == {"Ref": "WebsocketAPI"}, name
        assert env["PARLEY_WS_STAGE"] == "api"
        assert "Distribution.DomainName" in env["PARLEY_ALLOWED_ORIGIN"]["Fn::Sub"]
        assert fn["Properties"]["Runtime"].startswith("python3")


def test_every_packaged_function_has_the_name_make_deploy_gives_it(packaged):
    _, template = packaged
    names = {fn["Properties"]["FunctionName"]
             for fn in of_type(template, "AWS::Serverless::Function").values()}
    assert names == {function_name("dev", f) for f in function_policies("dev")}


def test_every_packaged_role_carries_its_own_functions_hand_written_policy(packaged):
    _, template = packaged
    expected = function_policies("dev")
    roles = {n: r for n, r in of_type(template, "AWS::IAM::Role").items()
             if n not in infra_roles(template)}  # the bots' roles are infra/parley.yaml's
    by_name = {fn["Properties"]["FunctionName"]: fn["Properties"]["Role"]["Fn::GetAtt"][0]
               for fn in of_type(template, "AWS::Serverless::Function").values()}
    assert sorted(by_name.values()) == sorted(roles)  # a role per function
    for function, want in expected.items():
        role = by_name[function_name("dev", function)]
        (policy,) = roles[role]["Properties"]["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        assert len(statements) == len(want["Statement"]), function
        for got, wanted in zip(statements, want["Statement"], strict=True):
            assert got["Action"] == wanted["Action"], function
            assert unsub(got["Resource"]) == wanted["Resource"], function
            assert {op: {key: unsub(v) for key, v in values.items()}
                    for op, values in got.get("Condition", {}).items()} == \
                wanted.get("Condition", {}), function
            variables = sub_variables(got["Resource"])
            if "FunctionName" in variables:
                assert variables["FunctionName"] == function_name("dev", function)
            if "TurnSecretParameter" in variables:
                assert variables["TurnSecretParameter"] == {"Ref": "TurnSecretParameter"}


def unsub(value):
    """The string a `Fn::Sub` was made from (what the policy file says)."""
    if isinstance(value, list):
        return [unsub(v) for v in value]
    if isinstance(value, dict):
        sub = value["Fn::Sub"]
        return sub[0] if isinstance(sub, list) else sub
    assert not placeholders_in(value)
    return value


def sub_variables(value):
    """The variables a `Fn::Sub` [string, {variables}] substitutes (none: {})."""
    if isinstance(value, dict) and isinstance(value["Fn::Sub"], list):
        return value["Fn::Sub"][1]
    return {}


def test_log_groups_of_packaged_functions_name_existing_functions(packaged):
    _, template = packaged
    functions = set(of_type(template, "AWS::Serverless::Function"))
    for name, group in of_type(template, "AWS::Logs::LogGroup").items():
        sub = group["Properties"]["LogGroupName"]["Fn::Sub"]
        if not sub.startswith("/aws/lambda/"):
            continue  # the bots' log group (infra/parley.yaml)
        assert sub.removeprefix("/aws/lambda/${").removesuffix("}") in functions, name


def packaged_modules(directory):
    """Top-level modules in the app package and the dependency layer chalice built."""
    names = set()
    for archive in directory.glob("*.zip"):
        with zipfile.ZipFile(archive) as zf:
            for entry in zf.namelist():
                parts = entry.split("/")
                # a layer keeps its modules under python/lib/python3.X/site-packages/
                names.add(parts[4] if parts[0] == "python" and len(parts) > 4 else parts[0])
    return names


def requirement_pins():
    """{distribution: version} pinned in requirements.txt."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if "==" in line and not line.startswith("#"))


def layer_versions(directory):
    """{distribution: version} of the dist-info folders in the layer chalice built."""
    with zipfile.ZipFile(directory / "layer-deployment.zip") as zf:
        folders = {entry.split("/")[4] for entry in zf.namelist() if entry.count("/") > 4}
    return dict(f.removesuffix(".dist-info").rsplit("-", 1) for f in folders
                if f.endswith(".dist-info"))


def test_functions_and_layer_are_built_for_the_lambda_runtime_not_the_local_python(packaged):
    path, template = packaged
    for name, fn in of_type(template, "AWS::Serverless::Function").items():
        assert fn["Properties"]["Runtime"] == LAMBDA_RUNTIME, name
    layer = only(template, "AWS::Serverless::LayerVersion")
    assert layer["CompatibleRuntimes"] == [LAMBDA_RUNTIME]
    with zipfile.ZipFile(path.parent / "layer-deployment.zip") as zf:
        folders = {"/".join(entry.split("/")[:4]) for entry in zf.namelist()}
    assert folders == {f"python/lib/{LAMBDA_RUNTIME}/site-packages"}
    assert runtime_version() >= (3, 12)  # Amazon Linux 2023 runtimes


def test_the_layer_ships_boto3_and_botocore_as_pinned_and_tested(packaged):
    """The layer comes before the runtime's boto3 on sys.path: the pair must be ours."""
    path, _ = packaged
    modules = packaged_modules(path.parent)
    assert {"app.py", "chalicelib", "pynamodb", "jwt", "fastjsonschema", "boto3",
            "botocore"} <= modules
    pins, shipped = requirement_pins(), layer_versions(path.parent)
    for name in ("boto3", "botocore", "pynamodb", "pyjwt", "fastjsonschema"):
        assert shipped[name] == pins[name] == metadata.version(name), name


def test_both_lambda_zips_ship_unchecked_bytecode_for_every_module(packaged):
    """Lambda's file system is read-only: without .pyc files every cold start recompiles."""
    path, _ = packaged
    tag = cache_tag()
    magic = subprocess.run([runtime_interpreter(), "-c", "import importlib.util, sys; "
                            "sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER)"],
                           capture_output=True, check=True).stdout
    for name in ("deployment.zip", "layer-deployment.zip"):
        with zipfile.ZipFile(path.parent / name) as zf:
            entries = set(zf.namelist())
            sources = [e for e in entries if e.endswith(".py")]
            assert sources
            for source in sources:
                folder, _, module = source.rpartition("/")
                pyc = f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.{tag}.pyc"
                assert pyc in entries, f"{name}: no bytecode for {source}"
            # nothing compiled by another Python (a working tree's chalicelib/__pycache__)
            assert {e for e in entries if e.endswith(".pyc") and f".{tag}." not in e} == set()
            header = zf.read(f"__pycache__/app.{tag}.pyc" if name == "deployment.zip" else pyc)
            assert header[:4] == magic
            assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, not checked


def runtime_interpreter():
    python = runtime_python()
    assert python, f"no {LAMBDA_RUNTIME} interpreter on this machine (see docs/DEPLOY.md)"
    return python


# Run in the runtime's Python with only the function and the layer on sys.path, as Lambda
# lays them out: import the app, answer a REST request, say where things came from.
SMOKE = """
import json, sys
task, layer = sys.argv[1], sys.argv[2]
sys.path[:0] = [task, layer + "/python/lib/%s/site-packages", layer + "/python"]
import app, boto3, botocore
event = {"resource": "/meetings", "path": "/meetings", "httpMethod": "POST",
         "headers": {"content-type": "application/json"}, "multiValueHeaders": {},
         "queryStringParameters": None, "multiValueQueryStringParameters": None,
         "pathParameters": None, "stageVariables": None, "body": "[]",
         "isBase64Encoded": False,
         "requestContext": {"resourcePath": "/meetings", "httpMethod": "POST", "stage": "api",
                            "identity": {"sourceIp": "203.0.113.9"}}}
response = app.app(event, None)
print(json.dumps({"status": response["statusCode"], "body": json.loads(response["body"]),
                  "boto3": boto3.__file__, "botocore": botocore.__version__}))
"""


def test_the_packaged_app_runs_on_the_runtimes_python_from_its_bytecode(packaged, tmp_path):
    path, _ = packaged
    task, layer = tmp_path / "task", tmp_path / "opt"
    for name, where in (("deployment.zip", task), ("layer-deployment.zip", layer)):
        with zipfile.ZipFile(path.parent / name) as zf:
            zf.extractall(where)
    # a source that no longer compiles: only the shipped bytecode can run the app now
    (task / "chalicelib" / "meetings.py").write_text("this is not python\n")
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([runtime_interpreter(), "-S", "-c", SMOKE % LAMBDA_RUNTIME,
                             str(task), str(layer)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["status"] == 400
    assert seen["body"]["error"]["code"] == "invalid_request"
    assert seen["boto3"].startswith(str(layer))
    assert seen["botocore"] == requirement_pins()["botocore"]


def test_cloudfront_sends_the_frontend_compressed(infra):
    """The size budget counts gzip-transferred bytes: CloudFront must compress, and its cache
    policy must key on Accept-Encoding (Managed-CachingOptimized does: gzip and Brotli)."""
    behaviour = only(infra, "AWS::CloudFront::Distribution")["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["Compress"] is True
    assert behaviour["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
