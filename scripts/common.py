"""What the deploy, destroy and package scripts agree on: names, the IAM policies, stream settings.

Each Lambda function has its own hand-written IAM policy (.chalice/policy-<function>.json,
named per function in .chalice/config.json), with CloudFormation `${Name}` placeholders.
`make deploy` substitutes real values (account, region, table, WebSocket API id, the
function's name) before `chalice deploy`; `make package` wraps the same strings in
`Fn::Sub`, so both paths grant exactly the same permissions from one file per function.
"""

import copy
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHALICE_DIR = ROOT / ".chalice"
INFRA_TEMPLATE = ROOT / "infra" / "parley.yaml"
FRONTEND_DIR = ROOT / "frontend"
BUILD_DIR = ROOT / "build"

# The stream must never be blocked by one record the push handler cannot process:
# retry a failing batch a few times, split it in halves to isolate the bad record, and
# give up on records older than an hour (a client that missed them replays tickets over
# REST); what is given up on is recorded in an SQS queue (stream_failure_destination).
STREAM_RETRY_SETTINGS = {
    "MaximumRetryAttempts": 3,
    "BisectBatchOnFunctionError": True,
    "MaximumRecordAgeInSeconds": 3600,
}


def stream_failure_destination(queue_arn: str) -> dict:
    """Where Lambda records a stream batch that still failed after the retries above (or
    grew too old): the infra stack's SQS queue."""
    return {"OnFailure": {"Destination": queue_arn}}


def stream_mapping_settings(queue_arn: str) -> dict:
    """Everything the deploy sets on a stream's event source mapping: the retry settings
    above and the on-failure queue."""
    return {**STREAM_RETRY_SETTINGS, "DestinationConfig": stream_failure_destination(queue_arn)}


# Every placeholder a policy may use. The AWS:: ones are CloudFormation pseudo
# parameters; the rest are filled from the infra stack and chalice's deployed values, and
# FunctionName with the name of the function the policy belongs to.
POLICY_PLACEHOLDERS = (
    "AWS::Partition", "AWS::Region", "AWS::AccountId",
    "TableName", "StreamArn", "WebsocketApiId", "WebsocketStage", "JwtSecretParameter",
    "TurnSecretParameter",
    "StreamFailureQueueArn", "FunctionName", "RecordingsBucket", "BotClusterName",
    "BotTaskDefinitionFamily", "BotTaskRoleArn", "BotExecutionRoleArn",
)
REST_FUNCTION = "api_handler"  # chalice's name for the function behind the REST API
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9:.]+)\}")


def stack_name(stage: str) -> str:
    """The CloudFormation stack holding the table, bucket and CloudFront of a stage."""
    return f"parley-{stage}-infra"


def function_prefix(stage: str) -> str:
    """Chalice names its Lambda functions `<app>-<stage>[-<handler>]`."""
    return f"parley-{stage}"


def function_name(stage: str, function: str) -> str:
    """The deployed name of one of chalice's functions: the REST API's is `<app>-<stage>`."""
    prefix = function_prefix(stage)
    return prefix if function == REST_FUNCTION else f"{prefix}-{function}"


def chalice_config() -> dict:
    return json.loads((CHALICE_DIR / "config.json").read_text())


def api_gateway_stage(stage: str) -> str:
    """The API Gateway stage name (chalice uses it for the REST and the WebSocket API)."""
    config = chalice_config()
    staged = config.get("stages", {}).get(stage, {})
    return staged.get("api_gateway_stage") or config.get("api_gateway_stage") or "api"


def policy_files(stage: str) -> dict[str, str]:
    """{function: policy file name in .chalice/} as the stage's config.json names them.

    Only functions named under the stage's `lambda_functions` with an `iam_policy_file`
    have one: chalice would give any other function policy-<stage>.json, which does not
    exist, so a handler added without its own policy fails to package and to deploy.
    """
    staged = chalice_config().get("stages", {}).get(stage, {})
    return {function: settings["iam_policy_file"]
            for function, settings in staged.get("lambda_functions", {}).items()
            if settings.get("iam_policy_file")}


def function_policies(stage: str) -> dict[str, dict]:
    """The hand-written policy of each function of a stage, placeholders and all."""
    return {function: json.loads((CHALICE_DIR / name).read_text())
            for function, name in policy_files(stage).items()}


def placeholders_in(value) -> set[str]:
    """Every `${Name}` used anywhere in a JSON-like value."""
    if isinstance(value, str):
        return set(_PLACEHOLDER.findall(value))
    if isinstance(value, list):
        return set().union(*(placeholders_in(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(placeholders_in(v) for v in value.values())) if value else set()
    return set()


def render_policy(policy: dict, values: dict[str, str | None]) -> dict:
    """Substitute real values for the placeholders of the policy.

    A statement that needs a value given as None is left out (on a first deploy the
    WebSocket API does not exist yet, so its statement waits for the second pass).
    Unknown placeholders are an error: nothing unresolved may reach IAM.
    """
    unknown = placeholders_in(policy) - set(values)
    if unknown:
        raise ValueError(f"no value for policy placeholders: {sorted(unknown)}")
    rendered = copy.deepcopy(policy)
    statements = []
    for statement in rendered["Statement"]:
        needed = placeholders_in(statement)
        if any(values[name] is None for name in needed):
            continue
        statements.append(_substitute(statement, values))
    rendered["Statement"] = statements
    return rendered


def _substitute(value, values):
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    return value


def cloudformation_policy(policy: dict, variables: dict) -> dict:
    """The policy for a CloudFormation template: each string with placeholders becomes
    `Fn::Sub`, with `variables` (CloudFormation values) for the non-pseudo placeholders."""
    unknown = {p for p in placeholders_in(policy) if not p.startswith("AWS::")} - set(variables)
    if unknown:
        raise ValueError(f"no CloudFormation value for policy placeholders: {sorted(unknown)}")

    def wrap(value):
        if isinstance(value, str):
            used = sorted(p for p in placeholders_in(value) if not p.startswith("AWS::"))
            if used:
                return {"Fn::Sub": [value, {name: variables[name] for name in used}]}
            if placeholders_in(value):
                return {"Fn::Sub": value}
            return value
        if isinstance(value, list):
            return [wrap(v) for v in value]
        if isinstance(value, dict):
            return {k: wrap(v) for k, v in value.items()}
        return value

    return {**policy, "Statement": [wrap(s) for s in policy["Statement"]]}


def load_cfn_yaml(path: Path) -> dict:
    """A CloudFormation YAML template as a dict, short-form intrinsics (`!Ref`) expanded."""
    from chalice.package import YAMLTemplateSerializer

    return YAMLTemplateSerializer().load_template(path.read_text(), str(path))
