"""Deploy Parley to an AWS account: `make deploy STAGE=prod` (= `python -m scripts.deploy`).

Steps, each a small function taking a boto3 client so tests run them against moto:
0. refuse a stage that already runs in another region (scripts/stage_region.py);
1. create or update the infra stack (infra/parley.yaml): table + stream, bucket, CloudFront
   (scripts/cloudformation.py);
2. create the JWT signing key in SSM Parameter Store once (SecureString, never rotated
   by a re-run: rotating it would log everyone out); then TURN as asked (scripts/turn.py:
   none, the stage's own coturn host from infra/turn.yaml, or a provider's), its shared
   secret a SecureString too;
3. `chalice deploy --stage <stage>` (scripts/chalice_cli.py) with the stack outputs as the
   Lambdas' environment and each function's IAM policy rendered for this account; a first
   deploy runs it twice, because the WebSocket API id (needed by the stream Lambda and the
   policies) exists only afterwards; both zips it uploads carry compiled bytecode (scripts/bytecode.py);
   chalice's record is first checked against the account (scripts/recovery.py);
4. CORS headers on API Gateway's own error answers (scripts/gateway_responses.py), then
   stage throttling on the REST and WebSocket APIs (scripts/throttling.py);
5. bounded retries + bisect on the stream's event source mapping, and the SQS queue
   where Lambda records a batch it gave up on, once Lambda lets the mapping change
   (scripts/stream_mapping.py);
6. `config.js` + `frontend/` to the bucket, CloudFront invalidation (scripts/site.py);
   print the site URL.
Re-running is safe: every step converges on the same state, also after a run that failed
part way (docs/DEPLOY.md, "First deploy, re-run, recovery, teardown").
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.exceptions import NoCredentialsError
from chalice.deploy.deployer import ChaliceDeploymentError

from scripts import stream_mapping
from scripts.account import (
    NO_CREDENTIALS,
    add_account_arguments,
    caller_account,
    open_session,
)
from scripts.chalice_cli import ChaliceCli, Deployed, previous_deploy, read_deployed
from scripts.cloudformation import ensure_stack
from scripts.common import (
    BUILD_DIR,
    FRONTEND_DIR,
    INFRA_TEMPLATE,
    ROOT,
    api_gateway_stage,
    function_name,
    function_policies,
    policy_files,
    render_policy,
    stack_name,
    stream_mapping_settings,
)
from scripts.gateway_responses import set_gateway_responses
from scripts.parameters import ensure_secure_string
from scripts.site import config_js, invalidate, upload_site
from scripts.stage_region import StageInAnotherRegion, check_region
from scripts.throttling import (
    REST_THROTTLE,
    STRICT_THROTTLE,
    WEBSOCKET_THROTTLE,
    throttle_rest_api,
    throttle_websocket_api,
)
from scripts.turn import DEFAULT_INSTANCE_TYPE, MODES, TurnOptions, ensure_turn

# --- 2. JWT secret ----------------------------------------------------------------------

def ensure_secret(ssm, name: str, stage: str) -> bool:
    """Create the SecureString holding the token signing key unless it exists.

    CloudFormation cannot create SecureString parameters, hence this step. The value is
    generated here once and never overwritten. Returns True when it was created now.
    """
    return ensure_secure_string(
        ssm, name, stage, "Parley token signing key (HS256); deleting it logs everyone out"
    ) == "created"


# --- 3. chalice deploy ------------------------------------------------------------------

def lambda_environment(outputs: dict[str, str], ws: Deployed | None,
                       report_sender: str = "", turn: dict[str, str] | None = None
                       ) -> dict[str, str]:
    """The Lambdas' environment that only exists after the infra stack (docs/API.md);
    `report_sender`: the verified SES sender of poll reports (none: no email); `turn`:
    PARLEY_TURN_URLS and PARLEY_TURN_SECRET_PARAM (scripts/turn.py; none: no TURN)."""
    site = outputs["SiteUrl"]
    env = {
        "PARLEY_TABLE": outputs["TableName"],
        "PARLEY_STREAM_ARN": outputs["StreamArn"],
        "PARLEY_JWT_SECRET_PARAM": outputs["JwtSecretParameterName"],
        "PARLEY_SITE_URL": site,
        "PARLEY_ALLOWED_ORIGIN": site.rstrip("/"),
    }
    if ws is not None and ws.websocket_api_id:
        env["PARLEY_WS_API_ID"] = ws.websocket_api_id
        env["PARLEY_WS_URL"] = ws.websocket_api_url
    env.update(recording_environment(outputs))
    if report_sender:
        env["PARLEY_REPORT_SENDER"] = report_sender
    env.update(turn or {})
    return env


def recording_environment(outputs: dict[str, str]) -> dict[str, str]:
    """Recordings: the bucket always; the ECS launcher once the stack has a bot task
    (a bot image was given), otherwise recording answers 503."""
    env = {"PARLEY_RECORDINGS_BUCKET": outputs["RecordingsBucketName"]}
    if outputs.get("BotTaskDefinition"):
        env.update({"PARLEY_BOT_LAUNCHER": "ecs",
                    "PARLEY_ECS_CLUSTER": outputs["BotClusterName"],
                    "PARLEY_BOT_TASK_DEFINITION": outputs["BotTaskDefinition"],
                    "PARLEY_BOT_SUBNETS": outputs["BotSubnets"],
                    "PARLEY_BOT_SECURITY_GROUPS": outputs["BotSecurityGroups"]})
    return env


def policy_values(stage: str, account: dict[str, str], outputs: dict[str, str],
                  ws_api_id: str | None, turn_secret: str | None = None
                  ) -> dict[str, str | None]:
    """The policies' placeholders for this account; a statement whose value is None is
    left out (no WebSocket API yet, no bot task, no TURN secret)."""
    return {
        "AWS::Partition": account["partition"],
        "AWS::Region": account["region"],
        "AWS::AccountId": account["account_id"],
        "TableName": outputs["TableName"],
        "StreamArn": outputs["StreamArn"],
        "WebsocketApiId": ws_api_id,
        "WebsocketStage": api_gateway_stage(stage),
        "JwtSecretParameter": outputs["JwtSecretParameterName"],
        "TurnSecretParameter": turn_secret,
        "StreamFailureQueueArn": outputs["StreamFailureQueueArn"],
        "RecordingsBucket": outputs["RecordingsBucketName"],
        # starting bots only once there is a bot task to start
        **{name: outputs[name] if outputs.get("BotTaskDefinition") else None
           for name in ("BotClusterName", "BotTaskDefinitionFamily", "BotTaskRoleArn",
                        "BotExecutionRoleArn")},
    }


def write_policies(stage: str, values: dict[str, str | None],
                   build_dir: Path = BUILD_DIR) -> Path:
    """Render each function's .chalice/policy-<function>.json for this account, under the
    same file name, into build/iam/<stage>/; return that folder."""
    folder = build_dir / "iam" / stage
    folder.mkdir(parents=True, exist_ok=True)
    names = policy_files(stage)
    for function, policy in function_policies(stage).items():
        rendered = render_policy(policy, {**values, "FunctionName": function_name(stage, function)})
        (folder / names[function]).write_text(json.dumps(rendered, indent=2) + "\n")
    return folder


def deploy_app(chalice, stage: str, account: dict[str, str], outputs: dict[str, str],
               build_dir: Path = BUILD_DIR, log: Callable[[str], None] = print,
               report_sender: str = "", turn: dict[str, str] | None = None) -> Deployed:
    """Run chalice deploy until the Lambdas know the WebSocket API they push through."""
    turn_secret = (turn or {}).get("PARLEY_TURN_SECRET_PARAM")
    known = previous_deploy(chalice.deployed(stage))
    for _ in range(2):
        ws_id = known.websocket_api_id if known else None
        policies = write_policies(stage, policy_values(stage, account, outputs, ws_id, turn_secret),
                                  build_dir)
        current = read_deployed(chalice.deploy(
            stage, lambda_environment(outputs, known, report_sender, turn), policies))
        if known is not None and current.websocket_api_id == known.websocket_api_id:
            return current
        log("WebSocket API created; deploying again so the Lambdas and the policies know it")
        known = current
    raise RuntimeError("the WebSocket API id changed on every deploy")


# --- 5. stream retries ------------------------------------------------------------------

def configure_stream_mapping(lambda_client, mapping_uuid: str, stream_arn: str,
                             failure_queue_arn: str,
                             sleep: Callable[[float], None] = time.sleep) -> dict:
    """Bounded retries, bisect-on-error and the on-failure queue for a stream mapping
    (chalice cannot set them).

    chalice has just updated the mapping, so this waits until Lambda lets it change
    (scripts/stream_mapping.py); returns the settled configuration.
    """
    current = stream_mapping.settled(lambda_client, mapping_uuid, sleep)
    if current["EventSourceArn"] != stream_arn:
        raise RuntimeError(
            f"event source mapping {mapping_uuid} reads {current['EventSourceArn']}, not the "
            f"table's stream {stream_arn}; the table was replaced: run make destroy, then "
            "make deploy")
    return stream_mapping.update(lambda_client, mapping_uuid,
                                 stream_mapping_settings(failure_queue_arn), sleep)


# --- all of it --------------------------------------------------------------------------

def deploy(stage: str, *, session: boto3.session.Session, chalice,
           endpoint_url: str | None = None, template_body: str | None = None,
           frontend_dir: Path = FRONTEND_DIR, build_dir: Path = BUILD_DIR,
           price_class: str = "PriceClass_100", bot_image: str = "", report_sender: str = "",
           turn: TurnOptions | None = None, turn_template: str | None = None,
           log: Callable[[str], None] = print,
           sleep: Callable[[float], None] = time.sleep) -> str:
    """Deploy (or update) one stage end to end; return the site URL."""

    if not (frontend_dir / "index.html").is_file():
        raise RuntimeError(f"{frontend_dir}/index.html is missing: nothing to publish")

    def client(service):
        return session.client(service, endpoint_url=endpoint_url)

    account = caller_account(client("sts"), session.region_name)
    check_region(stage, account["region"], chalice.deployed(stage), client("iam"))
    outputs = ensure_stack(client("cloudformation"), stack_name(stage),
                           template_body or INFRA_TEMPLATE.read_text(),
                           {"Stage": stage, "PriceClass": price_class, "BotImage": bot_image},
                           log)
    if ensure_secret(client("ssm"), outputs["JwtSecretParameterName"], stage):
        log(f"created the token signing key {outputs['JwtSecretParameterName']}")
    turn_env = ensure_turn(client("cloudformation"), client("ssm"), stage,
                           turn or TurnOptions(), turn_template, log)

    app = deploy_app(chalice, stage, account, outputs, build_dir, log, report_sender, turn_env)
    api_stage = api_gateway_stage(stage)
    if set_gateway_responses(client("apigateway"), app.rest_api_id, api_stage,
                             outputs["SiteUrl"].rstrip("/")):
        log("API Gateway's own errors (throttling, unknown path, 5xx) carry CORS headers")
    throttle_rest_api(client("apigateway"), app.rest_api_id, api_stage)
    log(f"REST API throttled to {REST_THROTTLE.rate:g} req/s (burst {REST_THROTTLE.burst}) "
        f"per method, {STRICT_THROTTLE.rate:g} (burst {STRICT_THROTTLE.burst}) to create "
        "and join meetings")
    if app.websocket_api_id:
        if throttle_websocket_api(client("apigatewayv2"), app.websocket_api_id, api_stage):
            log(f"WebSocket API throttled to {WEBSOCKET_THROTTLE.rate:g} messages/s "
                f"(burst {WEBSOCKET_THROTTLE.burst}) per route")
        else:
            log("WebSocket API throttling is up to date")
    lambda_client = client("lambda")
    for mapping in app.stream_mappings:
        configure_stream_mapping(lambda_client, mapping, outputs["StreamArn"],
                                 outputs["StreamFailureQueueArn"], sleep)

    keys = upload_site(client("s3"), outputs["BucketName"], frontend_dir,
                       config_js(app.rest_api_url, app.websocket_api_url or ""))
    log(f"published {len(keys)} files to s3://{outputs['BucketName']}")
    invalidate(client("cloudfront"), outputs["DistributionId"])
    return outputs["SiteUrl"]


def add_turn_arguments(parser: argparse.ArgumentParser) -> None:
    """TURN (docs/DEPLOY.md, "TURN"); each option also reads the environment, so the
    same settings reach every deploy of the stage (a deploy without them removes TURN)."""
    env = os.environ.get
    wanted = env("TURN") if env("TURN") in MODES else None  # not the local stack's TURN=on
    parser.add_argument("--turn", choices=MODES,
                        default=wanted or ("external" if env("PARLEY_TURN_URLS") else "off"),
                        help="off (default), coturn (this stage's own relay host) or external "
                             "(a provider's URLs and shared secret); env TURN")
    parser.add_argument("--turn-urls", default=env("PARLEY_TURN_URLS", ""),
                        help="external: the provider's comma-separated turn:/turns: URLs")
    parser.add_argument("--turn-secret", default=env("PARLEY_TURN_SECRET", ""),
                        help="external: the provider's use-auth-secret shared secret (prefer "
                             "the environment variable PARLEY_TURN_SECRET: not in ps)")
    parser.add_argument("--turn-domain", default=env("PARLEY_TURN_DOMAIN", ""),
                        help="coturn: DNS name for turns: on 443 (Let's Encrypt certificate); "
                             "without one, turn: on 3478 only")
    parser.add_argument("--turn-hosted-zone", default=env("PARLEY_TURN_HOSTED_ZONE", ""),
                        help="coturn: Route 53 zone id of the domain, to create its A record")
    parser.add_argument("--turn-email", default=env("PARLEY_TURN_EMAIL", ""),
                        help="coturn: Let's Encrypt account email")
    parser.add_argument("--turn-instance-type",
                        default=env("PARLEY_TURN_INSTANCE_TYPE", DEFAULT_INSTANCE_TYPE),
                        help=f"coturn: the host's instance type (default {DEFAULT_INSTANCE_TYPE})")


def turn_options(args: argparse.Namespace) -> TurnOptions:
    return TurnOptions(
        mode=args.turn, urls=tuple(u.strip() for u in args.turn_urls.split(",") if u.strip()),
        secret=args.turn_secret, domain=args.turn_domain, hosted_zone=args.turn_hosted_zone,
        email=args.turn_email, instance_type=args.turn_instance_type)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make deploy", description=__doc__.split("\n")[0])
    add_account_arguments(parser)
    parser.add_argument("--price-class", default="PriceClass_100",
                        choices=["PriceClass_100", "PriceClass_200", "PriceClass_All"])
    parser.add_argument("--bot-image", default=os.environ.get("PARLEY_BOT_IMAGE", ""),
                        help="the recorder bot's image (bots/Dockerfile, pushed to a "
                             "registry); without one recording is off")
    parser.add_argument("--report-sender", default=os.environ.get("PARLEY_REPORT_SENDER", ""),
                        help="a verified SES sender (e.g. 'Parley <no-reply@example.com>') of "
                             "the poll report emailed when a meeting ends; without one no "
                             "email is sent")
    add_turn_arguments(parser)
    args = parser.parse_args(argv)
    turn = turn_options(args)
    if turn.problem():
        parser.error(turn.problem())

    session = open_session(parser, args)
    try:
        url = deploy(args.stage, session=session, chalice=ChaliceCli(ROOT, args.profile),
                     price_class=args.price_class, bot_image=args.bot_image,
                     report_sender=args.report_sender, turn=turn)
    except NoCredentialsError:
        parser.error(NO_CREDENTIALS)
    except StageInAnotherRegion as err:
        print(err, file=sys.stderr)
        return 1
    except ChaliceDeploymentError as err:
        print(err, file=sys.stderr)
        print("chalice deploy failed; fix the cause and run make deploy again: it adopts "
              "what this run created (docs/DEPLOY.md, re-run and recovery)", file=sys.stderr)
        return 1
    print(f"\nParley ({args.stage}) is at {url}\n"
          "(a new CloudFront distribution can take a few minutes to answer everywhere)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
