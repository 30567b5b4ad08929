"""Fixtures for the deploy checks: the packaged template (built once) and moto's server."""

import io
import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REGION = "us-east-1"


def run_cfn_lint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "cfn-lint"), *map(str, paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def packaged(tmp_path_factory):
    """`make package` output for stage dev: (path of sam.json, the template as a dict).

    chalice package builds the Lambda deployment package, downloading manylinux wheels
    from PyPI when they are not cached, so this runs once per session.
    """
    out = tmp_path_factory.mktemp("package")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["AWS_DEFAULT_REGION"] = REGION
    result = subprocess.run([sys.executable, "-m", "scripts.package", "--stage", "dev",
                             "--out", str(out)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    path = out / "sam.json"
    return path, json.loads(path.read_text())


@pytest.fixture(scope="module")
def moto_endpoint():
    """moto's server for every AWS service the deploy script calls."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def aws(moto_endpoint):
    """A boto3 session against moto, and a client factory for the same endpoint."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=REGION)

    def client(service):
        return session.client(service, endpoint_url=moto_endpoint)

    return SimpleNamespace(session=session, client=client, endpoint=moto_endpoint)


def app_routes() -> dict[str, list[str]]:
    """The REST routes of app.py, {path: [method, ...]}, as chalice deploys them."""
    from app import app

    return {path: sorted(methods) for path, methods in app.routes.items()}


def create_rest_api(apigateway, name: str, stage: str, routes: dict[str, list[str]]) -> str:
    """A REST API with the app's resources and methods, deployed to `stage`, as chalice
    leaves it (with mock integrations: the Lambda behind them plays no part here)."""
    api = apigateway.create_rest_api(name=name,
                                     endpointConfiguration={"types": ["REGIONAL"]})["id"]
    ids = {"": apigateway.get_resources(restApiId=api)["items"][0]["id"]}
    for path in sorted(routes):
        parent = ""
        for part in path.strip("/").split("/"):
            here = f"{parent}/{part}"
            if here not in ids:
                ids[here] = apigateway.create_resource(restApiId=api, parentId=ids[parent],
                                                       pathPart=part)["id"]
            parent = here
        for method in routes[path]:
            apigateway.put_method(restApiId=api, resourceId=ids[path], httpMethod=method,
                                  authorizationType="NONE")
            apigateway.put_integration(restApiId=api, resourceId=ids[path],
                                       httpMethod=method, type="MOCK")
    apigateway.create_deployment(restApiId=api, stageName=stage)
    return api


def create_websocket_api(apigatewayv2, name: str, stage: str, **stage_settings) -> str:
    api = apigatewayv2.create_api(Name=name, ProtocolType="WEBSOCKET",
                                  RouteSelectionExpression="$request.body.action")["ApiId"]
    apigatewayv2.create_stage(ApiId=api, StageName=stage, **stage_settings)
    return api


class UnemulatedCalls:
    """Stands in for the AWS calls of the deploy that moto 5.2.5 does not implement.

    One so far: apigatewayv2 UpdateStage (moto's server answers it with a 500, "not
    implemented"), which sets the WebSocket stage's throttling. A `before-call` handler on
    the session answers it instead of moto, after botocore has validated the parameters
    against the service model and serialized them, and records the HTTP request the
    script would have sent to API Gateway. Nothing is applied: moto's GetStage still
    reports the stage as it was, so tests check the recorded request, not moto's state.
    """

    OPERATIONS = ("apigatewayv2.UpdateStage",)

    def __init__(self):
        self.requests = []

    def install(self, session):
        for operation in self.OPERATIONS:
            session.events.register(f"before-call.{operation}", self._answer)

    def uninstall(self, session):
        for operation in self.OPERATIONS:
            session.events.unregister(f"before-call.{operation}", self._answer)

    def _answer(self, model, params, **_):
        from botocore.awsrequest import AWSResponse

        body = params["body"]
        self.requests.append({
            "operation": model.name, "method": params["method"],
            "path": params["url_path"], "body": json.loads(body) if body else {},
        })
        return AWSResponse(params["url"], 200, {}, None), {
            "ResponseMetadata": {"HTTPStatusCode": 200}}


class RecordingChalice:
    """Stands in for `chalice deploy` / `chalice delete`, the step moto cannot emulate.

    chalice's deployer creates Lambda functions, IAM roles and API Gateway REST and
    WebSocket APIs (apigatewayv2 integrations, routes, stages, permissions) through its
    own planner and executor; moto can hold some of these but cannot run that deployer.
    This recorder keeps what the script passed (stage, environment, rendered policies) and
    returns deployed values in the shape of `.chalice/deployed/<stage>.json`. It creates in
    moto the things later steps of the script touch, as chalice would: the stream Lambda
    and its event source mapping, the REST API with the app's routes deployed to the API
    Gateway stage, and the WebSocket API with that stage.
    """

    def __init__(self, client):
        self._client = client
        self._values = None
        self.rest_api_id = None
        self.websocket_api_id = None
        self.calls = []
        self.deleted = []

    def deployed(self, stage):
        return self._values

    def deploy(self, stage, environment, policy_dir):
        self.calls.append({"stage": stage, "environment": dict(environment), "policies": {
            path.name: json.loads(path.read_text()) for path in Path(policy_dir).glob("*.json")}})
        if self._values is None:
            self._values = self._create(stage, environment["PARLEY_STREAM_ARN"])
        return self._values

    def delete(self, stage):
        self.deleted.append(stage)
        lam = self._client("lambda")
        for resource in self._values["resources"]:
            if resource["resource_type"] == "dynamodb_event":
                lam.delete_event_source_mapping(UUID=resource["event_uuid"])
            if resource["resource_type"] == "lambda_function":
                lam.delete_function(FunctionName=resource["lambda_arn"])
            if resource["resource_type"] == "rest_api":
                self._client("apigateway").delete_rest_api(restApiId=resource["rest_api_id"])
            if resource["resource_type"] == "websocket_api":
                self._client("apigatewayv2").delete_api(ApiId=resource["websocket_api_id"])
        self._values = None

    def _create(self, stage, stream_arn):
        from scripts.common import api_gateway_stage

        role = self._client("iam").create_role(
            RoleName=f"parley-{stage}-on_table_change", AssumeRolePolicyDocument="{}",
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as zf:
            zf.writestr("app.py", "def on_table_change(event, context):\n    pass\n")
        lam = self._client("lambda")
        function = lam.create_function(
            FunctionName=f"parley-{stage}-on_table_change", Runtime="python3.11", Role=role,
            Handler="app.on_table_change", Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
        mapping = lam.create_event_source_mapping(
            EventSourceArn=stream_arn, FunctionName=function, StartingPosition="LATEST",
            BatchSize=100,
        )["UUID"]
        api_stage = api_gateway_stage(stage)
        self.rest_api_id = create_rest_api(self._client("apigateway"), "parley", api_stage,
                                           app_routes())
        self.websocket_api_id = create_websocket_api(
            self._client("apigatewayv2"), "parley-websocket-api", api_stage)
        host = f"execute-api.{REGION}.amazonaws.com"
        return {"schema_version": "2.0", "backend": "api", "resources": [
            {"name": "on_table_change", "resource_type": "lambda_function",
             "lambda_arn": function},
            {"name": "on_table_change-dynamodb-event-source", "resource_type": "dynamodb_event",
             "stream_arn": stream_arn, "event_uuid": mapping, "lambda_arn": function},
            {"name": "rest_api", "resource_type": "rest_api", "rest_api_id": self.rest_api_id,
             "rest_api_url": f"https://{self.rest_api_id}.{host}/{api_stage}/"},
            {"name": "websocket_api", "resource_type": "websocket_api",
             "websocket_api_id": self.websocket_api_id,
             "websocket_api_url": f"wss://{self.websocket_api_id}.{host}/{api_stage}/"},
        ]}
