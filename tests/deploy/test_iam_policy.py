"""The hand-written IAM policy: least privilege, and honest about every wildcard."""

import json
import re

import pytest

from scripts.common import (
    CHALICE_DIR,
    POLICY_PLACEHOLDERS,
    ROOT,
    chalice_config,
    placeholders_in,
    policy_template,
    render_policy,
)

STAGES = sorted(chalice_config()["stages"])

# Each action, and what in chalicelib/ needs it (PynamoDB / chalice calls).
USED_ACTIONS = {
    "dynamodb:GetItem": r"\.get\(|\.refresh\(",
    "dynamodb:PutItem": r"\.save\(",
    "dynamodb:UpdateItem": r"\.update\(",
    "dynamodb:DeleteItem": r"\.delete\(",
    "dynamodb:Query": r"\.query\(",
    "dynamodb:Scan": r"\.scan\(",
    "dynamodb:BatchGetItem": r"batch_get\(",
    "dynamodb:BatchWriteItem": r"batch_write\(",
    "dynamodb:TransactWriteItems": r"TransactWrite\b",
    "dynamodb:ConditionCheckItem": r"condition_check\(",  # a check inside a transaction
    "dynamodb:DescribeStream": None,  # the stream event source mapping
    "dynamodb:GetRecords": None,
    "dynamodb:GetShardIterator": None,
    "dynamodb:ListStreams": None,
    "execute-api:ManageConnections": r"\.send\(",
    "ssm:GetParameter": r"get_parameter\(",
    "ses:SendEmail": r"\.send_email\(",  # the poll report when a meeting ends
    "ecs:RunTask": r"\.run_task\(",  # a recording's bot (chalicelib/launcher.py)
    "iam:PassRole": r"\.run_task\(",  # RunTask hands the bot task its two roles
    "s3:GetObject": r"generate_presigned_url\(",  # download links; a streamer's file, its size
    "s3:PutObject": r"generate_presigned_post\(",  # the form a page uploads a stream file with
    "logs:CreateLogGroup": None,  # the Lambda runtime
    "logs:CreateLogStream": None,
    "logs:PutLogEvents": None,
}
# Calls that would need an action the policy does not grant today.
UNGRANTED_CALLS = {
    r"TransactGet\b": "dynamodb:TransactGetItems",
    r"websocket_api\.close\(|_api\.close\(": "execute-api:ManageConnections on DELETE",
    r"websocket_api\.info\(|_api\.info\(": "execute-api:ManageConnections on GET",
}

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
    "JwtSecretParameter": "/parley/prod/jwt-secret", "FunctionPrefix": "parley-prod",
    "RecordingsBucket": "parley-prod-infra-recordingsbucket-1a2b3c",
    "BotClusterName": "parley-prod-bots", "BotTaskDefinitionFamily": "parley-prod-bot",
    "BotTaskRoleArn": "arn:aws:iam::111122223333:role/parley-prod-infra-BotTaskRole-X",
    "BotExecutionRoleArn": "arn:aws:iam::111122223333:role/parley-prod-infra-BotExecRole-Y",
}


def statements(policy):
    return policy["Statement"]


def listed(value):
    return [value] if isinstance(value, str) else list(value)


def all_actions(policy):
    return {a for s in statements(policy) for a in listed(s["Action"])}


def all_resources(policy):
    return [r for s in statements(policy) for r in listed(s["Resource"])]


def wildcards_allowed_by_deploy_md():
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    section = text.split("### Least-privilege IAM", 1)[1].split("\n### ", 1)[0]
    return {m for m in re.findall(r"^- `([^`]+)`", section, flags=re.M) if "*" in m}


def chalicelib_source():
    return "\n".join(p.read_text() for p in sorted((ROOT / "chalicelib").glob("*.py")))


@pytest.mark.parametrize("stage", STAGES)
def test_policy_file_of_every_stage_exists_and_autogen_is_off(stage):
    config = chalice_config()
    staged = config["stages"][stage]
    assert staged.get("autogen_policy", config.get("autogen_policy")) is False
    assert (CHALICE_DIR / staged["iam_policy_file"]).name == f"policy-{stage}.json"
    assert policy_template(stage)["Version"] == "2012-10-17"


@pytest.mark.parametrize("stage", STAGES)
def test_policy_has_no_wildcard_action(stage):
    for action in all_actions(policy_template(stage)):
        assert "*" not in action, action


@pytest.mark.parametrize("stage", STAGES)
def test_policy_only_allows_and_grants_no_actions_beyond_what_the_app_uses(stage):
    policy = policy_template(stage)
    assert {s["Effect"] for s in statements(policy)} == {"Allow"}
    assert all_actions(policy) == set(USED_ACTIONS)


@pytest.mark.parametrize("stage", STAGES)
def test_wildcard_resources_are_exactly_those_listed_in_deploy_md(stage):
    resources = all_resources(policy_template(stage))
    assert "*" not in resources
    assert {r for r in resources if "*" in r} == wildcards_allowed_by_deploy_md()


@pytest.mark.parametrize("stage", STAGES)
def test_every_resource_is_this_accounts_table_stream_api_secret_logs_ses_or_bots(stage):
    for resource in all_resources(policy_template(stage)):
        if resource in ("${StreamArn}", SES_IDENTITIES, RECORDING_FILES, STREAM_FILES,
                        *BOT_ROLES):
            continue
        assert resource.startswith("arn:${AWS::Partition}:"), resource
        assert ":${AWS::Region}:${AWS::AccountId}:" in resource, resource
        assert placeholders_in(resource) & {"TableName", "WebsocketApiId",
                                            "JwtSecretParameter", "FunctionPrefix",
                                            "BotTaskDefinitionFamily"}, resource


@pytest.mark.parametrize("stage", STAGES)
def test_bots_are_started_only_from_their_task_definition_in_their_cluster(stage):
    by_action = {a: s for s in statements(policy_template(stage)) for a in listed(s["Action"])}
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
                for s in statements(policy_template(stage))
                if any(a.startswith("s3:") for a in listed(s["Action"])))
    assert s3 == [(["s3:GetObject"], [RECORDING_FILES]),
                  (["s3:GetObject", "s3:PutObject"], [STREAM_FILES])]


def test_without_a_bot_task_the_rendered_policy_starts_no_bots():
    off = {**ACCOUNT, **dict.fromkeys(("BotClusterName", "BotTaskDefinitionFamily",
                                       "BotTaskRoleArn", "BotExecutionRoleArn"))}
    actions = all_actions(render_policy(policy_template("prod"), off))
    assert not {"ecs:RunTask", "iam:PassRole"} & actions
    assert "s3:GetObject" in actions


@pytest.mark.parametrize("stage", STAGES)
def test_policy_uses_only_placeholders_the_deploy_fills_in(stage):
    assert placeholders_in(policy_template(stage)) <= set(POLICY_PLACEHOLDERS)


def test_chalicelib_uses_every_granted_action_that_code_calls():
    source = chalicelib_source()
    for action, pattern in USED_ACTIONS.items():
        if pattern:
            assert re.search(pattern, source), f"{action} is granted but nothing calls it"


def test_chalicelib_calls_nothing_the_policy_does_not_grant():
    source = chalicelib_source()
    for pattern, needs in UNGRANTED_CALLS.items():
        assert not re.search(pattern, source), f"chalicelib calls {pattern}: grant {needs}"


def test_rendered_policy_names_this_account_and_leaves_no_placeholder():
    policy = render_policy(policy_template("prod"), ACCOUNT)
    assert not placeholders_in(policy)
    resources = all_resources(policy)
    assert "arn:aws:dynamodb:eu-west-1:111122223333:table/parley-prod" in resources
    assert ACCOUNT["StreamArn"] in resources
    assert "arn:aws:ssm:eu-west-1:111122223333:parameter/parley/prod/jwt-secret" in resources
    assert ("arn:aws:execute-api:eu-west-1:111122223333:abc123/api/POST/@connections/*"
            in resources)
    assert "arn:aws:ecs:eu-west-1:111122223333:task-definition/parley-prod-bot:*" in resources
    assert ("arn:aws:s3:::parley-prod-infra-recordingsbucket-1a2b3c/recordings/*"
            in resources)
    assert ACCOUNT["BotTaskRoleArn"] in resources
    json.dumps(policy)


def test_rendered_policy_leaves_out_the_websocket_statement_until_the_api_exists():
    policy = render_policy(policy_template("prod"), {**ACCOUNT, "WebsocketApiId": None})
    assert "execute-api:ManageConnections" not in all_actions(policy)
    assert "dynamodb:GetItem" in all_actions(policy)


def test_rendering_refuses_a_placeholder_without_a_value():
    values = dict(ACCOUNT)
    del values["TableName"]
    with pytest.raises(ValueError, match="TableName"):
        render_policy(policy_template("prod"), values)
