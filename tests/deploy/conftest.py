"""Fixtures for the deploy checks: the packaged template (built once), moto's server, a
stand-in for chalice's deploy, and what lets chalice's own deployer run against moto."""

import io
import json
import logging
import os
import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

from scripts.common import INFRA_TEMPLATE, load_cfn_yaml

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


def moto_template(distribution_id: str, domain: str) -> str:
    """infra/parley.yaml without its CloudFront resources, pointing at an existing
    distribution instead (moto's CloudFormation cannot create CloudFront resources)."""
    template = load_cfn_yaml(INFRA_TEMPLATE)
    cloudfront = {name for name, res in template["Resources"].items()
                  if res["Type"].startswith("AWS::CloudFront::")}
    assert "Distribution" in cloudfront
    for name in cloudfront:
        del template["Resources"][name]

    def point_at_distribution(value):
        if value == {"Ref": "Distribution"}:
            return distribution_id
        if value == {"Fn::GetAtt": ["Distribution", "DomainName"]}:
            return domain
        if isinstance(value, str):
            return (value.replace("${Distribution.DomainName}", domain)
                    .replace("${Distribution}", distribution_id))
        if isinstance(value, list):
            return [point_at_distribution(v) for v in value]
        if isinstance(value, dict):
            return {k: point_at_distribution(v) for k, v in value.items()}
        return value

    template = point_at_distribution(template)
    text = json.dumps(template)
    assert not any(f'"{name}"' in text or "${" + name in text for name in cloudfront)
    return json.dumps(template)


def create_distribution(cloudfront, reference: str = "parley-test") -> tuple[str, str]:
    """A CloudFront distribution made through moto's CloudFront API: (id, domain name)."""
    result = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": reference, "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "site", "DomainName": "site.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site",
                                 "ViewerProtocolPolicy": "redirect-to-https"},
    })["Distribution"]
    return result["Id"], result["DomainName"]


def write_frontend(site: Path) -> Path:
    """A small site with what the upload treats differently: a local config.js, a dotfile,
    subfolders, several content types."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "index.html").write_text("<!doctype html><script type=module src=app.js></script>")
    (site / "app.js").write_text("import config from './config.js';\n")
    (site / "css").mkdir(exist_ok=True)
    (site / "css" / "app.css").write_text("body { margin: 0 }\n")
    (site / "i18n").mkdir(exist_ok=True)
    (site / "i18n" / "zh-CN.json").write_text('{"join": "加入"}\n')
    (site / "config.js").write_text("export default {apiUrl: '/api', wsUrl: '/ws'};\n")
    (site / ".DS_Store").write_bytes(b"\0")
    return site


EMPTY_RECORD = {"resources": [], "schema_version": "2.0", "backend": "api"}


class RecordingChalice:
    """Stands in for scripts.chalice_cli.ChaliceCli in the moto server tests.

    Those run the deploy script against moto's server, which chalice's deployer does not
    talk to; test_lifecycle.py runs chalice's own deployer in process instead. This
    recorder keeps what the script passed (stage, environment, rendered policies) and
    returns deployed values in the shape of `.chalice/deployed/<stage>.json`. It creates in
    moto the things later steps of the script touch, as chalice would: the stream Lambda
    and its event source mapping, the REST API with the app's routes deployed to the API
    Gateway stage, and the WebSocket API with that stage. Deleting leaves the record as
    chalice's deletion deployer does: `{"resources": []}`, not no record.
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
        if not (self._values or {}).get("resources"):
            self._values = self._create(stage, environment["PARLEY_STREAM_ARN"])
        return self._values

    def delete(self, stage):
        self.deleted.append(stage)
        record = self._values or EMPTY_RECORD
        lam = self._client("lambda")
        for resource in record["resources"]:
            if resource["resource_type"] == "dynamodb_event":
                lam.delete_event_source_mapping(UUID=resource["event_uuid"])
            if resource["resource_type"] == "lambda_function":
                lam.delete_function(FunctionName=resource["lambda_arn"])
            if resource["resource_type"] == "rest_api":
                self._client("apigateway").delete_rest_api(restApiId=resource["rest_api_id"])
            if resource["resource_type"] == "websocket_api":
                self._client("apigatewayv2").delete_api(ApiId=resource["websocket_api_id"])
            if resource["resource_type"] == "iam_role":
                self._client("iam").delete_role(RoleName=resource["role_name"])
        self._values = json.loads(json.dumps(EMPTY_RECORD))
        return record

    def _create(self, stage, stream_arn):
        from scripts.common import api_gateway_stage

        role_name = f"parley-{stage}-on_table_change"
        role = self._client("iam").create_role(
            RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
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
            {"name": "on_table_change_role", "resource_type": "iam_role", "role_arn": role,
             "role_name": role_name},
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


# --- AWS behaviour moto lacks ----------------------------------------------------------

def error_response(url: str, status: int, code: str, message: str):
    """What a `before-call` handler returns to answer a call with an AWS error."""
    from botocore.awsrequest import AWSResponse

    return AWSResponse(url, status, {}, None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status}}


class BuiltinHandlers:
    """Event handlers every botocore session gets from its creation on, as moto's own
    mock_aws installs itself: the only way to reach the sessions chalice creates inside
    its deployer. `with` scope; removed again on exit."""

    def __init__(self, handlers: list[tuple[str, object]]):
        self.handlers = handlers

    def __enter__(self):
        from botocore.handlers import BUILTIN_HANDLERS

        BUILTIN_HANDLERS.extend(self.handlers)
        return self

    def __exit__(self, *_):
        from botocore.handlers import BUILTIN_HANDLERS

        for handler in self.handlers:
            BUILTIN_HANDLERS.remove(handler)


class MappingStates(BuiltinHandlers):
    """Lambda's event source mapping states, which moto does not keep.

    In moto a mapping is Enabled from the start and takes any change at once. In AWS a
    create or update leaves it Creating or Updating for a while (seconds to minutes), and
    an update or delete meanwhile gets ResourceInUseException. Here "a while" is the next
    `reads` reads of the mapping (GetEventSourceMapping, ListEventSourceMappings) by any
    session. Changes are refused only on the sessions passed to `enforce` (the deploy
    script's): chalice retries the error itself, 10 s apart, which a test cannot wait for.
    """

    def __init__(self, reads: int = 2):
        self.reads = reads
        self.busy = {}      # UUID -> [state, reads left]
        self.refused = []   # (operation, UUID) answered with ResourceInUseException
        self.concurrent = 0  # refuse this many more changes as if another one had started
        super().__init__([
            ("after-call.lambda.CreateEventSourceMapping", self._created),
            ("after-call.lambda.UpdateEventSourceMapping", self._updated),
            ("after-call.lambda.GetEventSourceMapping", self._read),
            ("after-call.lambda.ListEventSourceMappings", self._read_list),
        ])

    def enforce(self, session):
        for operation in ("UpdateEventSourceMapping", "DeleteEventSourceMapping"):
            session.events.register(f"before-call.lambda.{operation}", self._refuse)

    def _start(self, parsed, state):
        if "UUID" in parsed and parsed["ResponseMetadata"]["HTTPStatusCode"] < 300:
            self.busy[parsed["UUID"]] = [state, self.reads]
            parsed["State"] = state

    def _created(self, parsed, **_):
        self._start(parsed, "Creating")

    def _updated(self, parsed, **_):
        self._start(parsed, "Updating")

    def _report(self, mapping):
        busy = self.busy.get(mapping.get("UUID"))
        if busy:
            mapping["State"] = busy[0]
            busy[1] -= 1
            if busy[1] <= 0:
                del self.busy[mapping["UUID"]]

    def _read(self, parsed, **_):
        self._report(parsed)

    def _read_list(self, parsed, **_):
        for mapping in parsed.get("EventSourceMappings", []):
            self._report(mapping)

    def _refuse(self, model, params, **_):
        mapping = params["url_path"].rstrip("/").split("/")[-1]
        if mapping not in self.busy and self.concurrent > 0:
            self.concurrent -= 1
        elif mapping not in self.busy:
            return None
        self.refused.append((model.name, mapping))
        return error_response(params["url"], 409, "ResourceInUseException",
                              f"The operation cannot be performed at this time. The event "
                              f"source mapping {mapping} is in use.")


class MotoGaps(BuiltinHandlers):
    """What chalice's deployer needs from AWS that moto 5.2.5 lacks or gets wrong.

    - ImportRestApi / PutRestApi: moto reads OpenAPI 3 only, requires `info.description`
      and an `uri` and `httpMethod` on every integration (AWS takes chalice's Swagger 2.0,
      whose CORS preflight integrations are `mock` ones without them). The document is
      relabelled and those keys filled in; paths, methods and integrations are chalice's.
    - apigatewayv2 CreateDeployment: not implemented by moto (404); answered with a new
      deployment id, which chalice then hands to CreateStage (moto implements that).
    - GetLayerVersionByArn: not implemented by moto; answered with moto's GetLayerVersion
      of the version the ARN names (chalice calls it on a re-run to find its layer).
    - CreateEventSourceMapping: moto accepts a second mapping of the same function and
      stream; Lambda refuses it with ResourceConflictException, which is what a re-run of
      chalice with no record runs into.
    """

    def __init__(self):
        self.deployments = []
        super().__init__([
            ("before-parameter-build.api-gateway.ImportRestApi", self._openapi3),
            ("before-parameter-build.api-gateway.PutRestApi", self._openapi3),
            ("before-call.apigatewayv2.CreateDeployment", self._deployment),
            ("before-call.lambda.GetLayerVersionByArn", self._layer_version),
            ("before-call.lambda.CreateEventSourceMapping", self._one_mapping),
        ])

    @staticmethod
    def _openapi3(params, **_):
        document = json.loads(params["body"])
        document.pop("swagger", None)
        document["openapi"] = "3.0.1"
        document["info"].setdefault("description", "")
        for methods in document.get("paths", {}).values():
            for verb, method in methods.items():
                integration = method.get("x-amazon-apigateway-integration", {})
                if integration:
                    integration.setdefault("uri", "")
                    integration.setdefault("httpMethod", verb.upper())
        params["body"] = json.dumps(document).encode()

    def _deployment(self, params, **_):
        from botocore.awsrequest import AWSResponse

        deployment = uuid.uuid4().hex[:6]
        self.deployments.append(deployment)
        return AWSResponse(params["url"], 201, {}, None), {
            "DeploymentId": deployment, "DeploymentStatus": "DEPLOYED",
            "ResponseMetadata": {"HTTPStatusCode": 201}}

    @staticmethod
    def _layer_version(params, **_):
        from botocore.awsrequest import AWSResponse

        arn = params["query_string"]["Arn"]
        _, _, _, region, _, _, layer, version = arn.split(":")
        lam = boto3.client("lambda", region_name=region)
        try:
            found = lam.get_layer_version(LayerName=layer, VersionNumber=int(version))
        except lam.exceptions.ResourceNotFoundException as err:
            return error_response(params["url"], 404, "ResourceNotFoundException", str(err))
        return AWSResponse(params["url"], 200, {}, None), found

    @staticmethod
    def _one_mapping(params, **_):
        wanted = json.loads(params["body"])
        region = re.search(r"lambda\.([a-z0-9-]+)\.", params["url"]).group(1)
        function = wanted["FunctionName"]
        mappings = boto3.client("lambda", region_name=region).list_event_source_mappings(
            EventSourceArn=wanted["EventSourceArn"])["EventSourceMappings"]
        for mapping in mappings:
            if mapping["FunctionArn"] == function or \
                    mapping["FunctionArn"].endswith(f":function:{function}"):
                return error_response(
                    params["url"], 409, "ResourceConflictException",
                    f"An event source mapping with event source ({wanted['EventSourceArn']})"
                    f" and function ({function}) already exists. Please update or delete "
                    f"the existing mapping with UUID {mapping['UUID']}")
        return None


class FailOnce(BuiltinHandlers):
    """Answers the first call of one operation with an error, as a throttled or broken
    AWS call would, to stop chalice's deployer part way."""

    def __init__(self, event_operation: str, code: str = "BadRequestException"):
        self.code = code
        self.failed = False
        super().__init__([(f"before-call.{event_operation}", self._fail)])

    def _fail(self, params, **_):
        if self.failed:
            return None
        self.failed = True
        return error_response(params["url"], 400, self.code, "failing this call on purpose")


# --- chalice's own deployer against moto (test_lifecycle.py) -----------------------------

def write_chalice_project(project: Path) -> Path:
    """A copy of the chalice project to deploy from, so chalice's record
    (`.chalice/deployed/`) and zips (`.chalice/deployments/`) stay out of the checkout.

    Its layer carries one vendored module instead of requirements.txt, which chalice would
    download wheels for; the app code and configuration are the project's own.
    """
    import shutil

    project.mkdir(parents=True)
    shutil.copy(ROOT / "app.py", project)
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".chalice").mkdir()
    for config in (ROOT / ".chalice").glob("*.json"):
        shutil.copy(config, project / ".chalice")
    (project / "vendor").mkdir()
    (project / "vendor" / "parley_layer_probe.py").write_text("LAYER = True\n")
    return project


class FreshApp:
    """chalice loads the project's app.py with `import app`, and app.py reads the stream ARN
    from the environment as it is imported: once per `make deploy`, a process of its own.
    Tests deploy in one process against tables created after `app` was imported (by other
    tests, or an earlier deploy of the same test), so `forget` drops the imported app and
    the cached settings before each run, for chalice to import it anew. On exit the
    earlier `app`, sys.path and the environment are put back as they were."""

    def __enter__(self):
        self._app = sys.modules.pop("app", None)
        self._path = list(sys.path)
        self._environ = dict(os.environ)
        self.forget()
        return self

    @staticmethod
    def forget():
        from chalicelib import config  # the checkout's package, not a project copy's

        sys.modules.pop("app", None)
        config.settings.cache_clear()

    def __exit__(self, *_):
        sys.path[:] = self._path
        os.environ.clear()
        os.environ.update(self._environ)
        self.forget()
        if self._app is not None:
            sys.modules["app"] = self._app
