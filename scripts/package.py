"""`make package`: one SAM/CloudFormation template with everything, no AWS account needed.

`chalice package --merge-template` merges a template into the one chalice generates. The
merge template is built here from infra/parley.yaml (table, bucket, CloudFront) plus what
ties chalice's resources to it, which chalice cannot express on its own:
- the stream Lambda reads `!GetAtt Table.StreamArn`, with bounded retries and bisect, and
  batches it gives up on go to the StreamFailures queue;
- every function's environment points at the table, secret, site and WebSocket API, and
  at the recordings bucket and (with the RecordingOn condition) the bot task;
- every function has the name `make deploy` gives it, and its role gets its own
  .chalice/policy-<function>.json with the placeholders as `Fn::Sub`;
- what `make deploy` sets after chalice: the CORS preflights answer for the site's
  origin, API Gateway's own errors carry CORS headers (scripts/gateway_responses.py), and
  both API stages are throttled (scripts/throttling.py).
chalice builds for the Lambda runtime of scripts/runtime.py, and both Lambda zips then get
bytecode compiled for it (scripts/bytecode.py).
Resource names come from chalice's own application graph, so a renamed handler follows.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from scripts import turn
from scripts.bytecode import add_bytecode_to_package
from scripts.common import (
    BUILD_DIR,
    INFRA_TEMPLATE,
    ROOT,
    STREAM_RETRY_SETTINGS,
    api_gateway_stage,
    cloudformation_policy,
    function_name,
    function_policies,
    load_cfn_yaml,
    stream_failure_destination,
)
from scripts.gateway_responses import gateway_responses, static
from scripts.throttling import rest_method_settings, websocket_route_settings

WEBSOCKET_API = "WebsocketAPI"  # chalice's logical id for the WebSocket API
WEBSOCKET_STAGE = "WebsocketAPIStage"  # ... for its stage
REST_API = "RestAPI"  # ... for the REST API
REST_HANDLER = "APIHandler"  # ... for the REST API's function
SITE_ORIGIN = "https://${Distribution.DomainName}"  # `Fn::Sub` of the CloudFront origin
RECORDING_ON = "RecordingOn"  # infra/parley.yaml's condition: a bot image was given


def _chalice_config(stage: str, project_dir: Path):
    from chalice.cli.factory import CLIFactory

    environ = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    factory = CLIFactory(str(project_dir), environ=environ)
    return factory.create_config_obj(chalice_stage_name=stage)


def chalice_resources(stage: str, project_dir: Path = ROOT) -> list:
    """chalice's model of the app (functions, roles, event sources) for one stage."""
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder

    graph = ApplicationGraphBuilder().build(_chalice_config(stage, project_dir), stage)
    return DependencyBuilder().build_dependencies(graph)


def preflight_paths(stage: str, project_dir: Path = ROOT) -> list[str]:
    """REST paths chalice answers OPTIONS for: those with a CORS route."""
    app = _chalice_config(stage, project_dir).chalice_app
    return sorted(path for path, methods in app.routes.items()
                  if any(entry.cors for entry in methods.values()))


def cfn_names(resources: list) -> dict[str, list]:
    """Logical ids chalice's SAM generator gives to roles, functions and stream sources."""
    from chalice.deploy import models
    from chalice.utils import to_cfn_resource_name

    rest_handlers = {r.lambda_function.resource_name for r in resources
                     if isinstance(r, models.RestAPI)}

    def function_id(fn):
        if fn.resource_name in rest_handlers:
            return REST_HANDLER
        return to_cfn_resource_name(fn.resource_name)

    functions = [r for r in resources if isinstance(r, models.LambdaFunction)]
    return {
        # role id -> the function it belongs to (chalice gives each function its own role
        # when the policy is hand-written)
        "roles": {to_cfn_resource_name(fn.role.resource_name): fn.resource_name
                  for fn in functions if isinstance(fn.role, models.ManagedIAMRole)},
        # function id -> chalice's name of the function
        "functions": {function_id(fn): fn.resource_name for fn in functions},
        "streams": sorted((function_id(r.lambda_function), to_cfn_resource_name(r.resource_name))
                          for r in resources if isinstance(r, models.DynamoDBEventSource)),
        "websocket": [WEBSOCKET_API] if any(isinstance(r, models.WebsocketAPI)
                                            for r in resources) else [],
        # chalice names the REST function's log group after the function's id before it
        # renames the function to APIHandler, so its `!Sub ${ApiHandler}` dangles.
        "rest_log_groups": sorted(
            to_cfn_resource_name(fn.log_group.resource_name) for fn in resources
            if isinstance(fn, models.LambdaFunction) and fn.resource_name in rest_handlers
            and fn.log_group is not None),
    }


def build_merge_template(stage: str, infra: dict, names: dict[str, list],
                         preflights: list[str]) -> dict:
    """infra/parley.yaml plus the overrides that wire chalice's resources to it;
    `preflights` are the REST paths with a CORS preflight."""
    template = json.loads(json.dumps(infra))
    template["Parameters"]["Stage"]["Default"] = stage
    template["Parameters"]["ReportSender"] = {
        "Type": "String", "Default": "",
        "Description": "A verified SES sender of the poll report emailed when a meeting ends "
                       "(empty: no email)"}
    template["Parameters"]["TurnUrls"] = {
        "Type": "String", "Default": "",
        "Description": "Comma-separated turn:/turns: URLs of a TURN server using coturn's "
                       "use-auth-secret scheme (empty: no TURN)"}
    template["Parameters"]["TurnSecretParameter"] = {
        "Type": "String", "Default": turn.secret_name(stage),
        "Description": "SSM SecureString holding that server's shared secret (create it by "
                       "hand, as the JWT secret)"}
    resources = template["Resources"]
    ws_stage = api_gateway_stage(stage)
    secret_name = infra["Outputs"]["JwtSecretParameterName"]["Value"]
    stream_arn = {"Fn::GetAtt": ["Table", "StreamArn"]}
    ws_api_id = {"Ref": WEBSOCKET_API} if names["websocket"] else None

    environment = {
        "PARLEY_TABLE": {"Ref": "Table"},
        "PARLEY_STREAM_ARN": stream_arn,
        "PARLEY_JWT_SECRET_PARAM": secret_name,
        "PARLEY_SITE_URL": {"Fn::Sub": SITE_ORIGIN + "/"},
        "PARLEY_ALLOWED_ORIGIN": {"Fn::Sub": SITE_ORIGIN},
    }
    environment.update(recording_environment())
    environment["PARLEY_REPORT_SENDER"] = {"Ref": "ReportSender"}
    environment["PARLEY_TURN_URLS"] = {"Ref": "TurnUrls"}
    environment["PARLEY_TURN_SECRET_PARAM"] = {"Ref": "TurnSecretParameter"}
    if ws_api_id:
        environment["PARLEY_WS_API_ID"] = ws_api_id
        environment["PARLEY_WS_URL"] = {"Fn::Sub": "wss://${" + WEBSOCKET_API + "}.execute-api"
                                                   ".${AWS::Region}.${AWS::URLSuffix}/" + ws_stage}
    for function, name in names["functions"].items():
        resources[function] = {"Properties": {"FunctionName": function_name(stage, name),
                                              "Environment": {"Variables": environment}}}

    for log_group in names["rest_log_groups"]:
        resources[log_group] = {"Properties": {
            "LogGroupName": {"Fn::Sub": "/aws/lambda/${" + REST_HANDLER + "}"}}}

    # chalice writes the preflights with the origin app.py read at import ("*" here);
    # make deploy imports it with PARLEY_ALLOWED_ORIGIN set, so its preflights name the site.
    allow_origin = {"Fn::Sub": static(SITE_ORIGIN)}
    preflight = {"x-amazon-apigateway-integration": {"responses": {"default": {
        "responseParameters": {"method.response.header.Access-Control-Allow-Origin": allow_origin}}}}}
    resources[REST_API] = {"Properties": {
        "MethodSettings": rest_method_settings(),
        "DefinitionBody": {
            "x-amazon-apigateway-gateway-responses": gateway_responses(allow_origin),
            "paths": {path: {"options": preflight} for path in preflights},
        },
    }}
    if names["websocket"]:
        resources[WEBSOCKET_STAGE] = {"Properties": {
            "DefaultRouteSettings": websocket_route_settings()}}

    failure_queue = {"Fn::GetAtt": ["StreamFailures", "Arn"]}
    on_failure = stream_failure_destination(failure_queue)
    on_failure["OnFailure"]["Type"] = "SQS"  # SAM's name for the kind of destination
    for function, event in names["streams"]:
        resources[function]["Properties"]["Events"] = {event: {"Properties": {
            "Stream": stream_arn, **STREAM_RETRY_SETTINGS, "DestinationConfig": on_failure}}}

    variables = {
        "TableName": {"Ref": "Table"},
        "StreamArn": stream_arn,
        "WebsocketApiId": ws_api_id or "none",
        "WebsocketStage": ws_stage,
        "JwtSecretParameter": secret_name,
        "TurnSecretParameter": {"Ref": "TurnSecretParameter"},
        "StreamFailureQueueArn": failure_queue,
        "RecordingsBucket": {"Ref": "RecordingsBucket"},
        "BotClusterName": {"Ref": "BotCluster"},
        "BotTaskDefinitionFamily": infra["Outputs"]["BotTaskDefinitionFamily"]["Value"],
        "BotTaskRoleArn": {"Fn::GetAtt": ["BotTaskRole", "Arn"]},
        "BotExecutionRoleArn": {"Fn::GetAtt": ["BotExecutionRole", "Arn"]},
    }
    policies = function_policies(stage)
    for role, function in names["roles"].items():
        if function not in policies:
            raise ValueError(f"{function} has no iam_policy_file in stage {stage} of "
                             ".chalice/config.json")
        policy = cloudformation_policy(policies[function], {
            **variables, "FunctionName": function_name(stage, function)})
        resources[role] = {"Properties": {"Policies": [
            {"PolicyName": f"{role}Policy", "PolicyDocument": policy}]}}
    return template


def recording_environment() -> dict:
    """Recordings: the bucket, and the ECS launcher's settings when the stack has a bot
    task (its BotImage parameter is set); empty values leave recording off (503)."""
    def when_on(value):
        return {"Fn::If": [RECORDING_ON, value, ""]}

    return {
        "PARLEY_RECORDINGS_BUCKET": {"Ref": "RecordingsBucket"},
        "PARLEY_BOT_LAUNCHER": when_on("ecs"),
        "PARLEY_ECS_CLUSTER": {"Ref": "BotCluster"},
        "PARLEY_BOT_TASK_DEFINITION": when_on({"Ref": "BotTaskDefinition"}),
        "PARLEY_BOT_SUBNETS": when_on({"Fn::Join": [",", [{"Ref": "BotSubnetA"},
                                                          {"Ref": "BotSubnetB"}]]}),
        "PARLEY_BOT_SECURITY_GROUPS": when_on({"Fn::GetAtt": ["BotSecurityGroup", "GroupId"]}),
    }


def package(stage: str, out_dir: Path) -> Path:
    """Run `chalice package --merge-template`; return the path of the packaged template.

    The merge template is kept beside it (merge.json). Needs no AWS account: the region
    only has to be set, and PARLEY_* variables of the caller's shell are not passed on,
    so the template depends on the repository alone.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    merge = build_merge_template(stage, load_cfn_yaml(INFRA_TEMPLATE),
                                 cfn_names(chalice_resources(stage)), preflight_paths(stage))
    out_dir.mkdir(parents=True, exist_ok=True)
    merge_file = out_dir / "merge.json"
    merge_file.write_text(json.dumps(merge, indent=2) + "\n")
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "scripts.runtime", "--project-dir", str(ROOT), "package",
         "--stage", stage, "--merge-template", str(merge_file), str(out_dir)],
        check=True, env=env, cwd=ROOT)
    add_bytecode_to_package(out_dir)
    return out_dir / "sam.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make package", description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "package")
    args = parser.parse_args(argv)
    print(package(args.stage, args.out.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
