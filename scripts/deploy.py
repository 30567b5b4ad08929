"""Deploy Parley to an AWS account: `make deploy STAGE=prod` (= `python -m scripts.deploy`).

Steps, each a small function taking a boto3 client so tests run them against moto:
1. create or update the infra stack (infra/parley.yaml): table + stream, bucket, CloudFront;
2. create the JWT signing key in SSM Parameter Store once (SecureString, never rotated
   by a re-run: rotating it would log everyone out);
3. `chalice deploy --stage <stage>` with the stack outputs as the Lambdas' environment and
   the IAM policy rendered for this account; a first deploy runs it twice, because the
   WebSocket API id (needed by the stream Lambda and the policy) exists only afterwards;
   both zips it uploads carry compiled bytecode (scripts/bytecode.py);
4. API Gateway stage throttling on the REST and WebSocket APIs (chalice cannot set it);
5. bounded retries + bisect on the stream's event source mapping;
6. `config.js` + `frontend/` to the bucket, CloudFront invalidation; print the site URL.
Re-running is safe: every step converges on the same state.
"""

import argparse
import json
import mimetypes
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import ClientError, NoCredentialsError
from chalice.deploy.deployer import ChaliceDeploymentError

from scripts.bytecode import compiled_deploy_packages
from scripts.common import (
    BUILD_DIR,
    FRONTEND_DIR,
    INFRA_TEMPLATE,
    ROOT,
    STREAM_RETRY_SETTINGS,
    api_gateway_stage,
    chalice_config,
    function_prefix,
    policy_template,
    render_policy,
    stack_name,
)

# --- 1. infra stack ---------------------------------------------------------------------

WAIT_CONFIG = {"Delay": 10, "MaxAttempts": 180}  # CloudFront can take 15+ minutes


def ensure_stack(cfn, name: str, template_body: str, parameters: dict[str, str],
                 log: Callable[[str], None] = print) -> dict[str, str]:
    """Create the stack or update it in place; return its outputs as a dict.

    "No updates are to be performed" is success. A stack left in ROLLBACK_COMPLETE by a
    failed first create cannot be updated, so it is deleted and created again.
    """
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    tags = [{"Key": "app", "Value": "parley"}, {"Key": "stage", "Value": parameters["Stage"]}]
    status = stack_status(cfn, name)
    if status == "ROLLBACK_COMPLETE":
        log(f"stack {name} failed to create before; deleting it to start over")
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=WAIT_CONFIG)
        status = None
    if status is not None and status.endswith("_IN_PROGRESS"):
        raise RuntimeError(f"stack {name} is busy ({status}); run again when it settles")
    if status is None:
        log(f"creating stack {name} (CloudFront takes several minutes)")
        cfn.create_stack(StackName=name, TemplateBody=template_body, Parameters=params,
                         Tags=tags)
        cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=WAIT_CONFIG)
    else:
        try:
            cfn.update_stack(StackName=name, TemplateBody=template_body, Parameters=params,
                             Tags=tags)
        except ClientError as err:
            if "No updates are to be performed" not in str(err):
                raise
            log(f"stack {name} is up to date")
        else:
            log(f"updating stack {name}")
            cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=WAIT_CONFIG)
    return stack_outputs(cfn, name)


def stack_status(cfn, name: str) -> str | None:
    """The stack's status, or None when there is no such stack."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def stack_outputs(cfn, name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


# --- 2. JWT secret ----------------------------------------------------------------------

def ensure_secret(ssm, name: str, stage: str) -> bool:
    """Create the SecureString holding the token signing key unless it exists.

    CloudFormation cannot create SecureString parameters, hence this step. The value is
    generated here once and never overwritten. Returns True when it was created now.
    """
    try:
        ssm.get_parameter(Name=name)
        return False
    except ClientError as err:
        if err.response["Error"]["Code"] != "ParameterNotFound":
            raise
    try:
        ssm.put_parameter(
            Name=name, Type="SecureString", Value=secrets.token_urlsafe(48), Overwrite=False,
            Description="Parley token signing key (HS256); deleting it logs everyone out",
            Tags=[{"Key": "app", "Value": "parley"}, {"Key": "stage", "Value": stage}],
        )
    except ClientError as err:
        if err.response["Error"]["Code"] == "ParameterAlreadyExists":
            return False  # a concurrent deploy won the race; keep its value
        raise
    return True


# --- 3. chalice deploy ------------------------------------------------------------------

@dataclass(frozen=True)
class Deployed:
    """What the deploy script needs from chalice's deployed values."""

    rest_api_id: str
    rest_api_url: str
    websocket_api_id: str | None
    websocket_api_url: str | None
    stream_mappings: tuple[str, ...]  # event source mapping UUIDs of stream handlers


def read_deployed(values: dict) -> Deployed:
    """Pick the URLs and ids out of `.chalice/deployed/<stage>.json`."""
    rest = ws = None
    mappings = []
    for resource in values.get("resources", []):
        kind = resource.get("resource_type")
        if kind == "rest_api":
            rest = resource
        elif kind == "websocket_api":
            ws = resource
        elif kind == "dynamodb_event":
            mappings.append(resource["event_uuid"])
    if rest is None:
        raise RuntimeError("chalice deployed no REST API")
    return Deployed(
        rest_api_id=rest["rest_api_id"],
        rest_api_url=rest["rest_api_url"].rstrip("/"),
        websocket_api_id=ws["websocket_api_id"] if ws else None,
        websocket_api_url=ws["websocket_api_url"].rstrip("/") if ws else None,
        stream_mappings=tuple(mappings),
    )


class ChaliceCli:
    """`chalice deploy` / `chalice delete` for one project, run in this process.

    In process rather than as a `chalice` subprocess because the Lambdas' environment
    comes from the infra stack: chalice's config.json holds literal values only, and the
    deploy passes these as overrides (the same mechanism as chalice's own command line
    options). It also substitutes the rendered IAM policy for the placeholder one.
    """

    def __init__(self, project_dir: Path = ROOT, profile: str | None = None):
        self.project_dir = Path(project_dir)
        self.profile = profile

    def deployed(self, stage: str) -> dict | None:
        path = self.project_dir / ".chalice" / "deployed" / f"{stage}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def _factory(self):
        from chalice.cli.factory import CLIFactory

        return CLIFactory(str(self.project_dir), profile=self.profile, environ=os.environ)

    def config(self, factory, stage: str, environment: dict[str, str], policy_file: Path):
        """chalice's Config for the stage with the environment and policy overridden."""
        policy = os.path.relpath(policy_file, self.project_dir / ".chalice")
        return factory.create_config_obj(
            chalice_stage_name=stage,
            user_provided_params={"environment_variables": dict(environment),
                                  "iam_policy_file": policy},
        )

    def deploy(self, stage: str, environment: dict[str, str], policy_file: Path) -> dict:
        from chalice.utils import UI

        # app.py reads PARLEY_STREAM_ARN (and the CORS origin) at import time.
        os.environ.update(environment)
        factory = self._factory()
        config = self.config(factory, stage, environment, policy_file)
        ui = UI()
        deployer = factory.create_default_deployer(
            session=factory.create_botocore_session(), config=config, ui=ui)
        with compiled_deploy_packages():
            values = deployer.deploy(config, chalice_stage_name=stage)
        factory.create_deployment_reporter(ui=ui).display_report(values)
        return self.deployed(stage) or values

    def delete(self, stage: str) -> None:
        from chalice.utils import UI

        factory = self._factory()
        config = factory.create_config_obj(chalice_stage_name=stage)
        deleter = factory.create_deletion_deployer(
            session=factory.create_botocore_session(), ui=UI())
        deleter.deploy(config, chalice_stage_name=stage)


def lambda_environment(outputs: dict[str, str], ws: Deployed | None) -> dict[str, str]:
    """The Lambdas' environment that only exists after the infra stack (docs/API.md)."""
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
    return env


def policy_values(stage: str, account: dict[str, str], outputs: dict[str, str],
                  ws_api_id: str | None) -> dict[str, str | None]:
    return {
        "AWS::Partition": account["partition"],
        "AWS::Region": account["region"],
        "AWS::AccountId": account["account_id"],
        "TableName": outputs["TableName"],
        "StreamArn": outputs["StreamArn"],
        "WebsocketApiId": ws_api_id,
        "WebsocketStage": api_gateway_stage(stage),
        "JwtSecretParameter": outputs["JwtSecretParameterName"],
        "FunctionPrefix": function_prefix(stage),
    }


def write_policy(stage: str, values: dict[str, str | None], build_dir: Path = BUILD_DIR) -> Path:
    """Render .chalice/policy-<stage>.json for this account into build/iam/."""
    path = build_dir / "iam" / f"policy-{stage}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(render_policy(policy_template(stage), values), indent=2) + "\n")
    return path


def deploy_app(chalice, stage: str, account: dict[str, str], outputs: dict[str, str],
               build_dir: Path = BUILD_DIR, log: Callable[[str], None] = print) -> Deployed:
    """Run chalice deploy until the Lambdas know the WebSocket API they push through."""
    previous = chalice.deployed(stage)
    known = read_deployed(previous) if previous else None
    for _ in range(2):
        ws_id = known.websocket_api_id if known else None
        policy = write_policy(stage, policy_values(stage, account, outputs, ws_id), build_dir)
        current = read_deployed(chalice.deploy(stage, lambda_environment(outputs, known),
                                               policy))
        if known is not None and current.websocket_api_id == known.websocket_api_id:
            return current
        log("WebSocket API created; deploying again so the Lambdas and the policy know it")
        known = current
    raise RuntimeError("the WebSocket API id changed on every deploy")


# --- 4. API Gateway throttling ----------------------------------------------------------

@dataclass(frozen=True)
class Throttle:
    rate: float  # steady requests (WebSocket: messages) per second
    burst: int   # how many may arrive at once (the token bucket's size)


# The app's own token buckets (chalicelib/ratelimit.py) live in each warm Lambda instance,
# so a flood spread over many addresses and instances gets past them; these stage limits
# bound the total. API Gateway applies a stage's default to every method (WebSocket: every
# route) separately, not to the API as a whole. They are ceilings for runaway clients and
# floods, far above normal use; a client over them gets API Gateway's 429.
#
# REST, each method: the cost example in docs/DEPLOY.md is under 1 request/s in working
# hours, 3/s at ten times that use. The spikiest legitimate traffic is joining a full
# meeting: an offer, an answer and a few batches of ICE candidates per peer, some 50 POSTs
# to .../tickets within a second or two, and a ticket refused there breaks that call's
# setup. 400 at once is several such joins in the same instant. 200/s keeps one flooded
# method at ~20 concurrent Lambdas (~100 ms each), far from the 1,000 the account's
# functions share with the stream and WebSocket handlers.
REST_THROTTLE = Throttle(rate=200, burst=400)
# Creating and joining a meeting may hash or check a passcode with scrypt (16 MB and a
# tenth of a second or so of the handler's CPU each): what a flood from many addresses
# would aim at. A meeting seats 6 by default, so 40 at once is several meetings filling in the same
# second and 20/s is 1,200 joins a minute, far beyond a team's Monday 9:00.
STRICT_THROTTLE = Throttle(rate=20, burst=40)
STRICT_METHODS = (("/meetings", "POST"), ("/meetings/{mid}/join", "POST"))
# WebSocket, each route ($connect, and $default carrying the ping): a client pings once
# per 270 s, so 100/s is the ping load of ~27,000 sockets. The real peak is $connect after a network
# blip, when every client reconnects; clients back off with jitter (0.5 s doubling to
# 15 s), so 200 at once and 100/s let a thousand of them back within seconds while one
# stage stays well under the 500 new connections/s the account's stages share.
WEBSOCKET_THROTTLE = Throttle(rate=100, burst=200)


def method_setting_path(resource: str, method: str) -> str:
    """The update_stage path prefix of a method's settings: `/meetings/{mid}/join`, POST
    → `/~1meetings~1{mid}~1join/POST` (a JSON pointer: `~` is `~0`, `/` is `~1`);
    `*`, `*` → `/*/*` (every method)."""
    if resource != "*":
        resource = resource.replace("~", "~0").replace("/", "~1")
    return f"/{resource}/{method}"


def rest_throttling_operations() -> list[dict[str, str]]:
    """Patch operations for the stage default and the stricter create/join methods."""
    targets = [("*", "*", REST_THROTTLE)]
    targets += [(resource, method, STRICT_THROTTLE) for resource, method in STRICT_METHODS]
    ops = []
    for resource, method, throttle in targets:
        prefix = method_setting_path(resource, method)
        ops += [
            {"op": "replace", "path": f"{prefix}/throttling/rateLimit",
             "value": f"{throttle.rate:g}"},
            {"op": "replace", "path": f"{prefix}/throttling/burstLimit",
             "value": str(throttle.burst)},
        ]
    return ops


def throttle_rest_api(apigateway, rest_api_id: str, stage: str) -> dict:
    """Set the REST API stage's throttling (replace: the same every run); return the
    stage's method settings as API Gateway reports them."""
    return apigateway.update_stage(restApiId=rest_api_id, stageName=stage,
                                   patchOperations=rest_throttling_operations())["methodSettings"]


def throttle_websocket_api(apigatewayv2, api_id: str, stage: str) -> bool:
    """Set the WebSocket API stage's default route throttling; False when it already was.

    The other default route settings (logging, metrics) are read and sent back unchanged.
    """
    current = apigatewayv2.get_stage(ApiId=api_id, StageName=stage).get(
        "DefaultRouteSettings", {})
    wanted = {**current, "ThrottlingRateLimit": float(WEBSOCKET_THROTTLE.rate),
              "ThrottlingBurstLimit": WEBSOCKET_THROTTLE.burst}
    if wanted == current:
        return False
    apigatewayv2.update_stage(ApiId=api_id, StageName=stage, DefaultRouteSettings=wanted)
    return True


# --- 5. stream retries ------------------------------------------------------------------

def configure_stream_mapping(lambda_client, mapping_uuid: str, stream_arn: str) -> dict:
    """Bounded retries and bisect-on-error for a stream mapping (chalice cannot set them)."""
    current = lambda_client.get_event_source_mapping(UUID=mapping_uuid)
    if current["EventSourceArn"] != stream_arn:
        raise RuntimeError(
            f"event source mapping {mapping_uuid} reads {current['EventSourceArn']}, not the "
            f"table's stream {stream_arn}; the table was replaced: run make destroy, then "
            "make deploy")
    return lambda_client.update_event_source_mapping(UUID=mapping_uuid, **STREAM_RETRY_SETTINGS)


# --- 6. static site ---------------------------------------------------------------------

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
NO_CACHE = "no-cache"
SHORT_CACHE = "public, max-age=300"  # file names carry no content hash


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    """Entry points and the generated config must never be stale; the rest briefly."""
    if key == "config.js" or key.endswith(".html"):
        return NO_CACHE
    return SHORT_CACHE


def config_js(api_url: str, ws_url: str) -> str:
    return (f"export default {{apiUrl: {json.dumps(api_url)}, "
            f"wsUrl: {json.dumps(ws_url)}}};\n")


def site_files(frontend_dir: Path) -> dict[str, Path]:
    """Files to publish by key; dotfiles and a local config.js are not published."""
    files = {}
    for path in sorted(frontend_dir.rglob("*")):
        key = path.relative_to(frontend_dir).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in key.split("/")):
            continue
        if key == "config.js":
            continue
        files[key] = path
    return files


def upload_site(s3, bucket: str, frontend_dir: Path, config: str) -> list[str]:
    """Publish frontend/ and config.js; remove objects no longer in frontend/."""
    bodies = {key: path.read_bytes() for key, path in site_files(frontend_dir).items()}
    bodies["config.js"] = config.encode()
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type(key),
                      CacheControl=cache_control(key))
    stale = [key for key in list_keys(s3, bucket) if key not in bodies]
    delete_keys(s3, bucket, stale)
    return sorted(bodies)


def list_keys(s3, bucket: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def delete_keys(s3, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start:start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def invalidate(cloudfront, distribution_id: str) -> str:
    """Invalidate everything (one path, so it counts once against the free 1,000/month)."""
    result = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]},
                           "CallerReference": f"parley-{time.time_ns()}-{uuid.uuid4().hex}"},
    )
    return result["Invalidation"]["Id"]


# --- all of it --------------------------------------------------------------------------

def caller_account(sts, region: str) -> dict[str, str]:
    identity = sts.get_caller_identity()
    return {"account_id": identity["Account"], "partition": identity["Arn"].split(":")[1],
            "region": region}


def deploy(stage: str, *, session: boto3.session.Session, chalice,
           endpoint_url: str | None = None, template_body: str | None = None,
           frontend_dir: Path = FRONTEND_DIR, build_dir: Path = BUILD_DIR,
           price_class: str = "PriceClass_100",
           log: Callable[[str], None] = print) -> str:
    """Deploy (or update) one stage end to end; return the site URL."""

    if not (frontend_dir / "index.html").is_file():
        raise RuntimeError(f"{frontend_dir}/index.html is missing: nothing to publish")

    def client(service):
        return session.client(service, endpoint_url=endpoint_url)

    account = caller_account(client("sts"), session.region_name)
    outputs = ensure_stack(client("cloudformation"), stack_name(stage),
                           template_body or INFRA_TEMPLATE.read_text(),
                           {"Stage": stage, "PriceClass": price_class}, log)
    if ensure_secret(client("ssm"), outputs["JwtSecretParameterName"], stage):
        log(f"created the token signing key {outputs['JwtSecretParameterName']}")

    app = deploy_app(chalice, stage, account, outputs, build_dir, log)
    api_stage = api_gateway_stage(stage)
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
        configure_stream_mapping(lambda_client, mapping, outputs["StreamArn"])

    keys = upload_site(client("s3"), outputs["BucketName"], frontend_dir,
                       config_js(app.rest_api_url, app.websocket_api_url or ""))
    log(f"published {len(keys)} files to s3://{outputs['BucketName']}")
    invalidate(client("cloudfront"), outputs["DistributionId"])
    return outputs["SiteUrl"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make deploy", description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="dev", choices=sorted(chalice_config()["stages"]),
                        help="chalice stage from .chalice/config.json (default dev)")
    parser.add_argument("--profile", default=os.environ.get("AWS_PROFILE"),
                        help="AWS profile (default: $AWS_PROFILE or the default chain)")
    parser.add_argument("--region", help="AWS region (default: the profile's or $AWS_REGION)")
    parser.add_argument("--price-class", default="PriceClass_100",
                        choices=["PriceClass_100", "PriceClass_200", "PriceClass_All"])
    args = parser.parse_args(argv)

    session = boto3.Session(profile_name=args.profile,
                            region_name=args.region or os.environ.get("AWS_REGION"))
    if not session.region_name:
        parser.error("no AWS region: pass --region or set AWS_REGION")
    # chalice builds its own botocore session from the environment.
    os.environ["AWS_DEFAULT_REGION"] = session.region_name
    try:
        url = deploy(args.stage, session=session, chalice=ChaliceCli(ROOT, args.profile),
                     price_class=args.price_class)
    except NoCredentialsError:
        parser.error("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                     "AWS_SECRET_ACCESS_KEY (docs/DEPLOY.md)")
    except ChaliceDeploymentError as err:
        print(err, file=sys.stderr)
        print("chalice deploy failed; fix the cause and run make deploy again "
              "(it picks up where it stopped)", file=sys.stderr)
        return 1
    print(f"\nParley ({args.stage}) is at {url}\n"
          "(a new CloudFront distribution can take a few minutes to answer everywhere)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
