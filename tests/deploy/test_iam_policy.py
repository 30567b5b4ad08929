"""The hand-written IAM policies, one per Lambda function: each grants what that function's
code can call and nothing else, and is honest about every wildcard."""

import json
import re

import pytest

from scripts.common import (
    CHALICE_DIR,
    INFRA_TEMPLATE,
    POLICY_PLACEHOLDERS,
    ROOT,
    chalice_config,
    function_name,
    function_policies,
    load_cfn_yaml,
    placeholders_in,
    policy_files,
    render_policy,
)
from scripts.package import chalice_resources
from tests.deploy.call_graph import CallGraph

STAGES = sorted(chalice_config()["stages"])

# Each action a function's own code needs, and the calls that need it (PynamoDB, boto3,
# chalice's websocket_api). A transaction needs the actions of its parts, not an action of
# its own: there is no `dynamodb:TransactWriteItems` in IAM.
CODE_ACTIONS = {
    "dynamodb:GetItem": r"\b[A-Z]\w*\.get\(|\.refresh\(|TransactGet\b",  # Model.get(...)
    "dynamodb:PutItem": r"\.save\(",  # also a transaction's save
    "dynamodb:UpdateItem": r"\.update\((\w+, )?actions=",  # also a transaction's update
    "dynamodb:DeleteItem": r"\.delete\(\)|\.delete\(condition=",  # not a set's .delete({...})
    "dynamodb:Query": r"\.query\(",
    "dynamodb:Scan": r"\.scan\(",
    "dynamodb:BatchGetItem": r"\.batch_get\(",
    "dynamodb:BatchWriteItem": r"\.batch_write\(",
    "dynamodb:ConditionCheckItem": r"\.condition_check\(",  # a check inside a transaction
    "dynamodb:DescribeTable": r"\.describe_table\(|\.exists\(",
    "execute-api:ManageConnections": r"\.send\(",  # websocket_api.send: POST @connections
    "ssm:GetParameter": r"\.get_parameter\(",
    "ses:SendEmail": r"\.send_email\(",  # the poll report when a meeting ends
    "ecs:RunTask": r"\.run_task\(",  # a recording's bot (chalicelib/launcher.py)
    "s3:GetObject": r"\.head_object\(",  # a streamer's uploaded file: there, and its size
}
# A presigned URL is made without calling AWS, but whoever follows it acts with the
# signer's credentials: signing a client method needs that method's action, as if the
# function called it (chalicelib/storage.py signs a recording's download links,
# chalicelib/stream_files.py a streamer's reads of an uploaded file). Every
# `generate_presigned_url` in chalicelib must name its method literally and be listed here.
# A presigned POST (`generate_presigned_post`, the form a page uploads a stream file with)
# names no method: S3 takes the form as a PutObject, listed under the call's own name.
PRESIGNED = re.compile(r"\.generate_presigned_url\(\s*(?:ClientMethod=)?[\"'](\w+)[\"']"
                       r"|\.(generate_presigned_post)\(")
PRESIGNED_ACTIONS = {"get_object": "s3:GetObject", "generate_presigned_post": "s3:PutObject"}
# Actions AWS checks on the caller as part of another: RunTask of the bot task definition,
# which names a task role and an execution role, passes both roles to ECS.
IMPLIED_ACTIONS = {"ecs:RunTask": {"iam:PassRole"}}
# What Lambda does with the function's role, whatever its code: write its logs (to the
# log group chalice creates, so no logs:CreateLogGroup), and for a stream handler read
# the stream and record the batches it gave up on in the on-failure queue.
RUNTIME_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                  "dynamodb:ListStreams", "sqs:SendMessage"}
# Calls that would need a grant no policy gives today.
UNGRANTED_CALLS = {
    r"websocket_api\.close\(|_api\.close\(": "execute-api:ManageConnections on DELETE",
    r"websocket_api\.info\(|_api\.info\(": "execute-api:ManageConnections on GET",
}
# AWS services chalicelib opens a boto3 client for (DynamoDB goes through PynamoDB, the
# WebSocket management API through chalice); a new one needs its actions above.
BOTO3_CLIENTS = {"ecs", "s3", "ses", "ssm"}

# the verified SES identities of this account and region (the report's sender is one)
SES_IDENTITIES = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"
# S3 object ARNs name neither region nor account: the recordings prefix of the bucket
RECORDING_FILES = "arn:${AWS::Partition}:s3:::${RecordingsBucket}/recordings/*"
# ... and its streams prefix: files uploaded to be played into a meeting
STREAM_FILES = "arn:${AWS::Partition}:s3:::${RecordingsBucket}/streams/*"
# the bot task's two roles, whole ARNs from the infra stack
BOT_ROLES = ("${BotTaskRoleArn}", "${BotExecutionRoleArn}")

ACCOUNT = {
    "AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333",
    "TableName": "parley-prod",
    "StreamArn": "arn:aws:dynamodb:eu-west-1:111122223333:table/parley-prod/stream/2026-11-23",
    "WebsocketApiId": "abc123", "WebsocketStage": "api",
    "JwtSecretParameter": "/parley/prod/jwt-secret",
    "TurnSecretParameter": "/parley/prod/turn-secret", "FunctionName": "parley-prod-on_table_change",
    "StreamFailureQueueArn": "arn:aws:sqs:eu-west-1:111122223333:parley-prod-infra-StreamFailures-x",
    "RecordingsBucket": "parley-prod-infra-recordingsbucket-1a2b3c",
    "BotClusterName": "parley-prod-bots", "BotTaskDefinitionFamily": "parley-prod-bot",
    "BotTaskRoleArn": "arn:aws:iam::111122223333:role/parley-prod-infra-BotTaskRole-X",
    "BotExecutionRoleArn": "arn:aws:iam::111122223333:role/parley-prod-infra-BotExecRole-Y",
}


def presigned(source: str) -> list[str]:
    """The client methods `source` presigns, `generate_presigned_post` for a POST form."""
    return [url or post for url, post in PRESIGNED.findall(source)]


def listed(value):
    return [value] if isinstance(value, str) else list(value)


def all_actions(policy):
    return {a for s in policy["Statement"] for a in listed(s["Action"])}


def all_resources(policy):
    return [r for s in policy["Statement"] for r in listed(s["Resource"])]


def every_policy():
    return [(stage, function, policy) for stage in STAGES
            for function, policy in function_policies(stage).items()]


POLICIES = every_policy()
IDS = [f"{stage}-{function}" for stage, function, _ in POLICIES]


def wildcards_allowed_by_deploy_md():
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    section = text.split("### Least-privilege IAM", 1)[1].split("\n### ", 1)[0]
    return {m for m in re.findall(r"^- `([^`]+)`", section, flags=re.M) if "*" in m}


# --- which code each function runs --------------------------------------------------------

@pytest.fixture(scope="module")
def functions():
    """{chalice function name: (app.py handlers, event type, reads a stream)} of stage dev."""
    from chalice.deploy import models

    from app import app

    resources = chalice_resources("dev")
    kinds, streams = {}, set()
    for r in resources:
        if isinstance(r, models.RestAPI):
            kinds[r.lambda_function.resource_name] = "http"
        elif isinstance(r, models.WebsocketAPI):
            for fn in (r.connect_function, r.message_function, r.disconnect_function):
                if fn is not None:
                    kinds[fn.resource_name] = "websocket"
        elif isinstance(r, models.DynamoDBEventSource):
            kinds[r.lambda_function.resource_name] = "dynamodb"
            streams.add(r.lambda_function.resource_name)
        elif isinstance(r, models.ScheduledEvent):
            kinds[r.lambda_function.resource_name] = "scheduled"
    views = sorted({entry.view_function.__name__
                    for methods in app.routes.values() for entry in methods.values()})
    found = {}
    for fn in resources:
        if isinstance(fn, models.LambdaFunction):
            module, _, handler = fn.handler.partition(".")
            assert module == "app", fn.handler
            handlers = views if handler == "app" else [handler]
            found[fn.resource_name] = (handlers, kinds[fn.resource_name], fn.resource_name in streams)
    return found


@pytest.fixture(scope="module")
def needed(functions):
    """{function: {action: [where in the code it is needed]}}."""
    graph = CallGraph(ROOT)
    result = {}
    for function, (handlers, event_type, reads_stream) in functions.items():
        actions = {a: ["the Lambda runtime"] for a in RUNTIME_ACTIONS}
        if reads_stream:
            actions |= {a: ["the stream event source mapping"] for a in STREAM_ACTIONS}
        for definition in graph.reachable(handlers, event_type):
            where = f"{definition.module}.{definition.name}"
            for action, pattern in CODE_ACTIONS.items():
                if re.search(pattern, definition.source):
                    actions.setdefault(action, []).append(where)
            for method in presigned(definition.source):
                actions.setdefault(PRESIGNED_ACTIONS[method], []).append(
                    f"{where} (a presigned {method})")
        for action, implied in IMPLIED_ACTIONS.items():
            for other in implied if action in actions else ():
                actions.setdefault(other, []).append(f"{action} (needs it)")
        result[function] = actions
    return result


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_has_a_policy_file_of_its_own_and_autogen_is_off(stage, functions):
    config = chalice_config()
    assert config["stages"][stage].get("autogen_policy", config.get("autogen_policy")) is False
    files = policy_files(stage)
    assert set(files) == set(functions)
    assert len(set(files.values())) == len(files)
    for function, name in files.items():
        assert name == f"policy-{function}.json"
        assert json.loads((CHALICE_DIR / name).read_text())["Version"] == "2012-10-17"


@pytest.mark.parametrize(("stage", "function", "policy"), POLICIES, ids=IDS)
def test_each_function_is_granted_exactly_what_its_code_can_call(stage, function, policy,
                                                                 needed):
    granted = all_actions(policy)
    missing = {a: needed[function][a] for a in set(needed[function]) - granted}
    assert not missing, f"{function} calls, but is not granted: {missing}"
    assert granted <= set(needed[function]), \
        f"{function} is granted what it never calls: {granted - set(needed[function])}"


def test_the_purge_can_neither_read_the_token_secret_nor_push_to_sockets():
    actions = all_actions(function_policies("prod")["purge_old_meetings"])
    assert not actions & {"ssm:GetParameter", "execute-api:ManageConnections", "ses:SendEmail"}


def test_no_socket_handler_can_scan_the_table():
    for function, policy in function_policies("prod").items():
        if function.startswith("websocket_") or function == "on_table_change":
            assert "dynamodb:Scan" not in all_actions(policy), function


def test_only_the_stream_handler_reads_the_stream_and_records_failed_batches():
    for function, policy in function_policies("prod").items():
        actions = all_actions(policy)
        reads = {"dynamodb:GetRecords", "sqs:SendMessage"} & actions
        assert reads == ({"dynamodb:GetRecords", "sqs:SendMessage"}
                         if function == "on_table_change" else set()), function


def readers_of(policies, parameter):
    return sorted(f for f, p in policies.items() for s in p["Statement"]
                  if "ssm:GetParameter" in listed(s["Action"])
                  and any(r.endswith(":parameter${" + parameter + "}") for r in listed(s["Resource"])))


def test_only_the_rest_function_emails_poll_reports_and_only_token_checkers_read_the_secret():
    policies = function_policies("prod")
    assert [f for f, p in policies.items() if "ses:SendEmail" in all_actions(p)] == ["api_handler"]
    assert readers_of(policies, "JwtSecretParameter") == ["api_handler", "websocket_connect"]


def test_only_the_functions_that_hand_out_ice_servers_read_the_turn_secret(functions):
    """A join's answer (REST) and an admission from the lobby (pushed by the REST call, a
    WebSocket message or the stream handler) carry TURN credentials signed with it."""
    from tests.deploy.call_graph import CallGraph

    graph = CallGraph(ROOT)
    signing = sorted(f for f, (handlers, kind, _) in functions.items()
                     if any(d.module == "chalicelib.turn" and d.name == "ice_servers"
                            for d in graph.reachable(handlers, kind)))
    assert signing == ["api_handler", "on_table_change", "websocket_message"]
    for stage in STAGES:
        assert readers_of(function_policies(stage), "TurnSecretParameter") == signing
    # every statement reading a secret names exactly one parameter
    for _, _, policy in POLICIES:
        for statement in policy["Statement"]:
            if "ssm:GetParameter" in listed(statement["Action"]):
                assert len(listed(statement["Resource"])) == 1, statement


def test_without_turn_the_rendered_policies_read_no_turn_secret():
    for function, policy in function_policies("prod").items():
        rendered = render_policy(policy, {**ACCOUNT, "TurnSecretParameter": None,
                                          "FunctionName": function})
        assert not any(r.endswith("turn-secret") for r in all_resources(rendered)), function
        with_turn = render_policy(policy, {**ACCOUNT, "FunctionName": function})
        assert ("arn:aws:ssm:eu-west-1:111122223333:parameter/parley/prod/turn-secret"
                in all_resources(with_turn)) == (function in (
                    "api_handler", "on_table_change", "websocket_message")), function


@pytest.mark.parametrize(("stage", "function", "policy"), POLICIES, ids=IDS)
def test_no_wildcard_action_and_no_log_group_creation(stage, function, policy):
    assert {s["Effect"] for s in policy["Statement"]} == {"Allow"}
    for action in all_actions(policy):
        assert "*" not in action, action
        assert not action.startswith("dynamodb:Transact"), action  # not IAM actions
    # chalice creates every function's log group (log_retention_in_days is set)
    assert "logs:CreateLogGroup" not in all_actions(policy)
    assert chalice_config()["log_retention_in_days"] > 0


def test_wildcard_resources_are_exactly_those_listed_in_deploy_md():
    resources = [r for _, _, policy in POLICIES for r in all_resources(policy)]
    assert "*" not in resources
    assert {r for r in resources if "*" in r} == wildcards_allowed_by_deploy_md()


@pytest.mark.parametrize(("stage", "function", "policy"), POLICIES, ids=IDS)
def test_every_resource_is_this_accounts_table_stream_api_secret_own_logs_ses_or_bots(
        stage, function, policy):
    for resource in all_resources(policy):
        if resource in ("${StreamArn}", "${StreamFailureQueueArn}", SES_IDENTITIES,
                        RECORDING_FILES, STREAM_FILES, *BOT_ROLES):
            continue
        assert resource.startswith("arn:${AWS::Partition}:"), resource
        assert ":${AWS::Region}:${AWS::AccountId}:" in resource, resource
        assert placeholders_in(resource) & {"TableName", "WebsocketApiId",
                                            "JwtSecretParameter", "TurnSecretParameter",
                                            "FunctionName",
                                            "BotTaskDefinitionFamily"}, resource
        if ":logs:" in resource:
            assert resource.endswith(":log-group:/aws/lambda/${FunctionName}:*"), resource


def test_only_the_rest_function_starts_bots_passes_their_roles_and_signs_s3_links():
    bots_and_files = {"ecs:RunTask", "iam:PassRole", "s3:GetObject", "s3:PutObject"}
    for stage in STAGES:
        for function, policy in function_policies(stage).items():
            assert bots_and_files & all_actions(policy) == (
                bots_and_files if function == "api_handler" else set()), (stage, function)


@pytest.mark.parametrize("stage", STAGES)
def test_bots_are_started_only_from_their_task_definition_in_their_cluster(stage):
    policy = function_policies(stage)["api_handler"]
    by_action = {a: s for s in policy["Statement"] for a in listed(s["Action"])}
    run = by_action["ecs:RunTask"]
    assert listed(run["Resource"]) == [
        "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/"
        "${BotTaskDefinitionFamily}:*"]
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": "arn:${AWS::Partition}:ecs:"
                                              "${AWS::Region}:${AWS::AccountId}:cluster/"
                                              "${BotClusterName}"}}
    passing = by_action["iam:PassRole"]
    assert sorted(listed(passing["Resource"])) == sorted(BOT_ROLES)
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService":
                                                     "ecs-tasks.amazonaws.com"}}
    s3 = sorted((sorted(listed(s["Action"])), listed(s["Resource"]))
                for s in policy["Statement"]
                if any(a.startswith("s3:") for a in listed(s["Action"])))
    assert s3 == [(["s3:GetObject"], [RECORDING_FILES]),
                  (["s3:GetObject", "s3:PutObject"], [STREAM_FILES])]
    for statement in policy["Statement"]:
        if any(a.startswith("s3:") for a in listed(statement["Action"])):
            assert set(statement) == {"Sid", "Effect", "Action", "Resource"}


def test_the_roles_passed_are_those_of_the_bot_task_definition():
    infra = load_cfn_yaml(INFRA_TEMPLATE)
    task = infra["Resources"]["BotTaskDefinition"]["Properties"]
    roles = {task["TaskRoleArn"]["Fn::GetAtt"][0], task["ExecutionRoleArn"]["Fn::GetAtt"][0]}
    outputs = {infra["Outputs"][name]["Value"]["Fn::GetAtt"][0]
               for name in ("BotTaskRoleArn", "BotExecutionRoleArn")}
    assert roles == outputs == {"BotTaskRole", "BotExecutionRole"}


def test_without_a_bot_task_the_rendered_policy_starts_no_bots():
    off = {**ACCOUNT, **dict.fromkeys(("BotClusterName", "BotTaskDefinitionFamily",
                                       "BotTaskRoleArn", "BotExecutionRoleArn"))}
    actions = all_actions(render_policy(function_policies("prod")["api_handler"], off))
    assert not {"ecs:RunTask", "iam:PassRole"} & actions
    assert "s3:GetObject" in actions


@pytest.mark.parametrize(("stage", "function", "policy"), POLICIES, ids=IDS)
def test_policy_uses_only_placeholders_the_deploy_fills_in(stage, function, policy):
    assert placeholders_in(policy) <= set(POLICY_PLACEHOLDERS)


def test_chalicelib_calls_nothing_no_policy_grants():
    source = "\n".join(p.read_text() for p in sorted((ROOT / "chalicelib").glob("*.py")))
    for pattern, needs in UNGRANTED_CALLS.items():
        assert not re.search(pattern, source), f"chalicelib calls {pattern}: grant {needs}"
    clients = set(re.findall(r"boto3\.client\(\s*[\"'](\w+)", source))
    assert clients == BOTO3_CLIENTS, "a new AWS service: add its calls to CODE_ACTIONS"
    signed = source.count(".generate_presigned_url(") + source.count(".generate_presigned_post(")
    assert len(presigned(source)) == signed, "presign a literal client method"
    assert set(presigned(source)) <= set(PRESIGNED_ACTIONS), \
        "a new presigned method: add its action to PRESIGNED_ACTIONS"


def test_function_names_are_the_ones_chalice_deploys():
    from chalice.deploy import models

    for stage in STAGES:
        for fn in chalice_resources(stage):
            if isinstance(fn, models.LambdaFunction):
                assert function_name(stage, fn.resource_name) == fn.function_name


# --- rendering ----------------------------------------------------------------------------

def test_rendered_policy_names_this_account_and_leaves_no_placeholder():
    policy = render_policy(function_policies("prod")["on_table_change"], ACCOUNT)
    assert not placeholders_in(policy)
    resources = all_resources(policy)
    assert "arn:aws:dynamodb:eu-west-1:111122223333:table/parley-prod" in resources
    assert ACCOUNT["StreamArn"] in resources
    assert ACCOUNT["StreamFailureQueueArn"] in resources
    assert ("arn:aws:execute-api:eu-west-1:111122223333:abc123/api/POST/@connections/*"
            in resources)
    assert ("arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/"
            "parley-prod-on_table_change:*" in resources)
    json.dumps(policy)


def test_rendered_rest_policy_names_the_bot_task_its_roles_and_the_recordings():
    policy = render_policy(function_policies("prod")["api_handler"],
                           {**ACCOUNT, "FunctionName": "parley-prod"})
    assert not placeholders_in(policy)
    resources = all_resources(policy)
    assert "arn:aws:ecs:eu-west-1:111122223333:task-definition/parley-prod-bot:*" in resources
    assert ("arn:aws:s3:::parley-prod-infra-recordingsbucket-1a2b3c/recordings/*"
            in resources)
    assert ACCOUNT["BotTaskRoleArn"] in resources
    assert ACCOUNT["BotExecutionRoleArn"] in resources
    json.dumps(policy)


def test_rendered_policy_leaves_out_the_websocket_statement_until_the_api_exists():
    policy = render_policy(function_policies("prod")["api_handler"],
                           {**ACCOUNT, "WebsocketApiId": None})
    assert "execute-api:ManageConnections" not in all_actions(policy)
    assert "dynamodb:GetItem" in all_actions(policy)


def test_rendering_refuses_a_placeholder_without_a_value():
    values = dict(ACCOUNT)
    del values["TableName"]
    with pytest.raises(ValueError, match="TableName"):
        render_policy(function_policies("prod")["api_handler"], values)
