"""chalice's record of a stage, checked against the account before chalice acts on it.

chalice writes `.chalice/deployed/<stage>.json` only once a whole deploy (or delete) has
succeeded, and from that record alone it decides whether the REST API, the WebSocket
API, the stream's event source mapping and the layer exist. So after a run that failed
part way:
- a re-run creates a second REST and WebSocket API and a second mapping, which Lambda
  refuses (ResourceConflictException), so every later deploy fails the same way;
- `chalice delete` with no record deletes nothing, and with a record naming something
  already deleted it stops at that resource.

`reconcile` rebuilds the record from the account instead: each resource of chalice's
application graph is looked up by the name chalice gives it (roles, functions, log groups,
schedule rules, the layer, the WebSocket API), the REST API by chalice's name for it and
the function its integrations invoke, the mapping with ListEventSourceMappings; recorded
resources that are gone are dropped. Copies the record cannot hold (another REST or
WebSocket API of the stage, older layer versions, the stage's mappings on other streams)
are leftovers, for `delete_leftovers`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from scripts import stream_mapping

NOT_FOUND = {"NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException",
             "NotFoundException"}


@dataclass(frozen=True)
class Leftover:
    """A resource of the stage that chalice's record has no room for."""

    kind: str  # rest_api, websocket_api, lambda_layer or dynamodb_event
    id: str    # API id, layer version ARN or mapping UUID
    why: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.why})"


@dataclass
class Reconciled:
    record: dict
    adopted: list[str] = field(default_factory=list)  # found, not in the record before
    dropped: list[str] = field(default_factory=list)  # recorded, no longer in the account
    leftovers: list[Leftover] = field(default_factory=list)


def expected_resources(config, stage: str) -> list:
    """Every resource chalice would deploy for the stage, in chalice's own order."""
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder

    application = ApplicationGraphBuilder().build(config, stage)
    return DependencyBuilder().build_dependencies(application)


def _missing(err: ClientError) -> bool:
    return err.response["Error"]["Code"] in NOT_FOUND


def _newest_first(items: list[dict], key: str) -> list[dict]:
    return sorted(items, key=lambda item: item[key], reverse=True)


class Account:
    """Looks chalice's resources up by name in one account and region."""

    def __init__(self, client: Callable[[str], object], app_name: str):
        self.lam = client("lambda")
        self.iam = client("iam")
        self.apigateway = client("apigateway")
        self.apigatewayv2 = client("apigatewayv2")
        self.events = client("events")
        self.logs = client("logs")
        self.app_name = app_name

    def _get(self, call, **params):
        try:
            return call(**params)
        except ClientError as err:
            if _missing(err):
                return None
            raise

    def role_arn(self, name: str) -> str | None:
        role = self._get(self.iam.get_role, RoleName=name)
        return role["Role"]["Arn"] if role else None

    def function_arn(self, name_or_arn: str) -> str | None:
        function = self._get(self.lam.get_function, FunctionName=name_or_arn)
        return function["Configuration"]["FunctionArn"] if function else None

    def log_group(self, name: str) -> bool:
        groups = self.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        return any(group["logGroupName"] == name for group in groups)

    def rule(self, name: str) -> bool:
        return self._get(self.events.describe_rule, Name=name) is not None

    def layer_versions(self, layer_name: str) -> list[str]:
        """Version ARNs of the layer, newest first."""
        pages = self.lam.get_paginator("list_layer_versions").paginate(LayerName=layer_name)
        try:
            versions = [v for page in pages for v in page["LayerVersions"]]
        except ClientError as err:
            if not _missing(err):
                raise
            versions = []
        return [v["LayerVersionArn"] for v in _newest_first(versions, "Version")]

    def layer_version(self, arn: str) -> bool:
        _, layer, version = arn.rsplit(":", 2)
        return self._get(self.lam.get_layer_version, LayerName=layer,
                         VersionNumber=int(version)) is not None

    def mappings(self, function_arn: str) -> list[dict]:
        """The function's event source mappings that are not on their way out."""
        pages = self.lam.get_paginator("list_event_source_mappings").paginate(
            FunctionName=function_arn)
        return [m for page in pages for m in page["EventSourceMappings"]
                if m.get("State") != stream_mapping.GONE]

    def mapping(self, uuid: str) -> bool:
        return self._get(self.lam.get_event_source_mapping, UUID=uuid) is not None

    def rest_apis(self, function_name: str) -> list[str]:
        """Ids of REST APIs with chalice's name whose integrations invoke the function,
        newest first (chalice names every stage's REST API after the app)."""
        target = f":function:{function_name}/invocations"
        pages = self.apigateway.get_paginator("get_rest_apis").paginate()
        named = [api for page in pages for api in page["items"]
                 if api["name"] == self.app_name]
        return [api["id"] for api in _newest_first(named, "createdDate")
                if self._invokes(api["id"], target)]

    def _invokes(self, api_id: str, target: str) -> bool:
        pages = self.apigateway.get_paginator("get_resources").paginate(
            restApiId=api_id, embed=["methods"])
        for page in pages:
            for resource in page["items"]:
                for method in resource.get("resourceMethods", {}).values():
                    if method.get("methodIntegration", {}).get("uri", "").endswith(target):
                        return True
        return False

    def rest_api(self, api_id: str) -> bool:
        return self._get(self.apigateway.get_rest_api, restApiId=api_id) is not None

    def websocket_apis(self, name: str) -> list[str]:
        pages = self.apigatewayv2.get_paginator("get_apis").paginate()
        named = [api for page in pages for api in page["Items"]
                 if api["Name"] == name and api["ProtocolType"] == "WEBSOCKET"]
        return [api["ApiId"] for api in _newest_first(named, "CreatedDate")]

    def websocket_api(self, api_id: str) -> bool:
        return self._get(self.apigatewayv2.get_api, ApiId=api_id) is not None

    def has_stage(self, api_id: str, stage: str) -> bool:
        return self._get(self.apigatewayv2.get_stage, ApiId=api_id, StageName=stage) is not None

    def endpoint(self, api_id: str) -> str:
        """The execute-api host of an API in this region."""
        meta = self.apigateway.meta
        suffix = "amazonaws.com.cn" if meta.partition == "aws-cn" else "amazonaws.com"
        return f"{api_id}.execute-api.{meta.region_name}.{suffix}"

    def delete(self, leftover: Leftover, sleep: stream_mapping.Sleep = time.sleep) -> bool:
        """Delete a leftover; False when it was gone already."""
        if leftover.kind == "dynamodb_event":
            return stream_mapping.delete(self.lam, leftover.id, sleep)
        if leftover.kind == "rest_api":
            call, params = self.apigateway.delete_rest_api, {"restApiId": leftover.id}
        elif leftover.kind == "websocket_api":
            call, params = self.apigatewayv2.delete_api, {"ApiId": leftover.id}
        elif leftover.kind == "lambda_layer":
            _, layer, version = leftover.id.rsplit(":", 2)
            call = self.lam.delete_layer_version
            params = {"LayerName": layer, "VersionNumber": int(version)}
        else:
            raise ValueError(f"cannot delete a {leftover.kind}")
        return self._get(call, **params) is not None

    def exists(self, entry: dict) -> bool:
        """Whether a recorded resource is still there (True for kinds it cannot check)."""
        kind = entry.get("resource_type")
        checks = {
            "iam_role": lambda: self.role_arn(entry["role_name"]) is not None,
            "lambda_function": lambda: self.function_arn(entry["lambda_arn"]) is not None,
            "log_group": lambda: self.log_group(entry["log_group_name"]),
            "cloudwatch_event": lambda: self.rule(entry["rule_name"]),
            "lambda_layer": lambda: self.layer_version(entry["layer_version_arn"]),
            "dynamodb_event": lambda: self.mapping(entry["event_uuid"]),
            "rest_api": lambda: self.rest_api(entry["rest_api_id"]),
            "websocket_api": lambda: self.websocket_api(entry["websocket_api_id"]),
        }
        return checks[kind]() if kind in checks else True


class _Reconciler:
    def __init__(self, account: Account, record: dict | None):
        self.account = account
        self.recorded = {r["name"]: r for r in (record or {}).get("resources", [])}
        self.functions: dict[str, str] = {}  # chalice resource name -> function ARN
        self.result = Reconciled(record={"resources": [], "schema_version": "2.0",
                                         "backend": "api"})

    def run(self, resources: list) -> Reconciled:
        seen = set()
        for model in resources:
            find = getattr(self, f"_find_{type(model).__name__.lower()}", None)
            name = getattr(model, "resource_name", None)
            if find is None or name in seen:
                continue
            seen.add(name)
            self._settle(name, find(model, self.recorded.get(name)))
        for name, entry in self.recorded.items():
            if name not in seen:  # no longer in the app: chalice's sweeper deletes it
                self._settle(name, entry if self.account.exists(entry) else None)
        return self.result

    def _settle(self, name: str, entry: dict | None) -> None:
        recorded = self.recorded.get(name)
        if entry is None:
            if recorded is not None:
                self.result.dropped.append(f"{recorded['resource_type']} {name}")
            return
        self.result.record["resources"].append(entry)
        if recorded is None:
            self.result.adopted.append(f"{entry['resource_type']} {name}")

    def _leftovers(self, kind: str, ids: list[str], keep: str | None, why: str) -> None:
        self.result.leftovers += [Leftover(kind, i, why) for i in ids if i != keep]

    def _find_managediamrole(self, model, recorded):
        role_name = recorded["role_name"] if recorded else model.role_name
        arn = self.account.role_arn(role_name)
        if arn is None:
            return None
        return {"name": model.resource_name, "resource_type": "iam_role", "role_arn": arn,
                "role_name": role_name}

    def _find_lambdafunction(self, model, recorded):
        arn = self.account.function_arn(model.function_name)
        if arn is None:
            return None
        self.functions[model.resource_name] = arn
        return {"name": model.resource_name, "resource_type": "lambda_function",
                "lambda_arn": arn}

    def _find_loggroup(self, model, recorded):
        if not self.account.log_group(model.log_group_name):
            return None
        return {"name": model.resource_name, "resource_type": "log_group",
                "log_group_name": model.log_group_name}

    def _find_scheduledevent(self, model, recorded):
        if not self.account.rule(model.rule_name):
            return None
        return {"name": model.resource_name, "resource_type": "cloudwatch_event",
                "rule_name": model.rule_name}

    def _find_lambdalayer(self, model, recorded):
        versions = self.account.layer_versions(model.layer_name)
        keep = recorded and recorded["layer_version_arn"]
        if keep not in versions:
            keep = versions[0] if versions else None
        self._leftovers("lambda_layer", versions, keep, "an older version")
        return None if keep is None else {"name": model.resource_name, "resource_type": "lambda_layer",
                         "layer_version_arn": keep}

    def _find_dynamodbeventsource(self, model, recorded):
        function_arn = self.functions.get(model.lambda_function.resource_name)
        if function_arn is None:
            return recorded if recorded and self.account.exists(recorded) else None
        mappings = self.account.mappings(function_arn)
        by_uuid = {m["UUID"]: m for m in mappings}
        keep = by_uuid.get(recorded["event_uuid"]) if recorded else None
        if keep is None:
            keep = next((m for m in mappings if m["EventSourceArn"] == model.stream_arn), None)
        self._leftovers("dynamodb_event", list(by_uuid), keep and keep["UUID"],
                        f"another mapping of {model.lambda_function.function_name}")
        return None if keep is None else {"name": model.resource_name, "resource_type": "dynamodb_event",
                         "stream_arn": keep["EventSourceArn"], "event_uuid": keep["UUID"],
                         "lambda_arn": keep["FunctionArn"]}

    def _find_restapi(self, model, recorded):
        ids = self.account.rest_apis(model.lambda_function.function_name)
        keep = recorded["rest_api_id"] if recorded else None
        if keep is not None and keep not in ids and not self.account.rest_api(keep):
            keep = None
        if keep is None and ids:
            keep = ids[0]
        self._leftovers("rest_api", ids, keep, "another REST API of this stage")
        return None if keep is None else {"name": model.resource_name, "resource_type": "rest_api",
                         "rest_api_id": keep, "rest_api_url":
                         f"https://{self.account.endpoint(keep)}/{model.api_gateway_stage}/"}

    def _find_websocketapi(self, model, recorded):
        ids = self.account.websocket_apis(model.name)
        keep = recorded["websocket_api_id"] if recorded else None
        if keep is not None and keep not in ids and not self.account.websocket_api(keep):
            keep = None
        if keep is None:
            # one that failed before chalice gave it its stage is no use: chalice's update
            # path never creates the stage
            keep = next((i for i in ids if self.account.has_stage(i, model.api_gateway_stage)),
                        None)
        self._leftovers("websocket_api", ids, keep, "another WebSocket API of this stage")
        return None if keep is None else {"name": model.resource_name, "resource_type": "websocket_api",
                         "websocket_api_url":
                         f"wss://{self.account.endpoint(keep)}/{model.api_gateway_stage}/",
                         "websocket_api_id": keep}


def reconcile(record: dict | None, resources: list, account: Account) -> Reconciled:
    """The record as the account has it: `record` with what is gone dropped and what
    `resources` (chalice's graph) names but the record lacks adopted."""
    return _Reconciler(account, record).run(resources)


def delete_leftovers(account: Account, leftovers: list[Leftover],
                     sleep: stream_mapping.Sleep = time.sleep) -> list[str]:
    """Delete what `reconcile` found left over; return what was deleted."""
    return [str(leftover) for leftover in leftovers if account.delete(leftover, sleep)]
