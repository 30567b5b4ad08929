"""botocore calls to the embedded DynamoDB, answered by moto's handlers in the calling thread.

A call from this process (the app's PynamoDB client, the stream poller, snapshots) used
to travel as an HTTP request without a socket: botocore signed it and built a request,
werkzeug made a WSGI environ of it, Flask routed it, moto parsed it back against the
service model, and botocore parsed the answer again. That was two thirds of a ticket's
CPU. Here a `before-call` hook takes the body botocore has just serialised (its
parameter validation and every `before-call`/`after-call` hook still run), hands the
parameters to moto's DynamoDB (or Streams) handler method, and parses moto's JSON answer
with botocore's own parser, errors and modeled error fields included, so a caller sees
exactly what the HTTP path gives it. Calls for any other endpoint are left alone.
"""

import base64
import json
import os
import threading
from datetime import datetime
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS, REGISTER_LAST
from botocore.parsers import create_parser
from botocore.utils import parse_timestamp
from moto.core.exceptions import ServiceException
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.responses import ActionResult
from moto.core.utils import camelcase_to_underscores, get_service_model
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.iam.models import get_account_id_from
from werkzeug.exceptions import HTTPException

_HANDLERS = {"dynamodb": DynamoHandler, "dynamodbstreams": DynamoDBStreamsHandler}
_CONTENT_TYPE = "application/x-amz-json-1.0"
_ACCOUNTS: dict[str, str] = {}
_PLAIN = "x-parley-plain-json"  # set on answers `_plain_json` wrote: `_parse_plain` reads them


def record_times(answer: dict) -> dict:
    """A GetRecords answer read as plain JSON, with each record's creation time as the
    datetime botocore's parser makes of it."""
    for record in answer.get("Records", ()):
        change = record.get("dynamodb", {})
        if "ApproximateCreationDateTime" in change:
            change["ApproximateCreationDateTime"] = parse_timestamp(change["ApproximateCreationDateTime"])
    return answer


class _Body:
    """The raw body botocore reads from a response (`stream()`, `content`)."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_):
        yield self._data


def _account(access_key: str) -> str:
    """moto's account for an access key, as its HTTP front end works it out."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if access_key not in _ACCOUNTS:
        _ACCOUNTS[access_key] = get_account_id_from(access_key)
    return _ACCOUNTS[access_key]


def _parameters(service: str, action: str, body: str):
    """The request as moto's handler reads it. A DynamoDB body without binary values is
    its own parsed form; one with them goes through moto's parser (base64 -> bytes)."""
    if service != "dynamodb":
        return None
    if '"B"' not in body and '"BS"' not in body:
        return json.loads(body) if body else {}
    operation = get_service_model("dynamodb").operation_model(action)
    parser = PROTOCOL_PARSERS["json"](operation, map_type=DynamoHandler.PROTOCOL_PARSER_MAP_TYPE)
    return parser.parse({"method": "POST", "values": {}, "headers": {}, "body": body,
                         "url_path": "/", "url_params": {}})


def _request_id() -> str:
    """52 upper-case letters and digits, like moto's request ids (which cost a random
    choice per character: 4% of the stack's CPU per ticket)."""
    return base64.b32encode(os.urandom(35)).decode()[:52]


def _not_json(value):
    if isinstance(value, datetime):  # as moto's JSON serializer writes timestamps
        return value.timestamp()
    raise TypeError(type(value).__name__)


def _plain_json(result) -> str | None:
    """A successful result as JSON, when it holds nothing but JSON's own types (and
    datetimes, written as epoch seconds the way moto's serializer writes them).

    moto's serializer walks the result against the output shape to convert binary values
    and timestamps; a result without binary values (every item of the plain kinds) is
    the same JSON either way. Anything else (bytes, sets, an error) returns None and
    takes moto's serializer and botocore's parser.
    """
    if type(result) not in (ActionResult, DynamoResult) or isinstance(result.result, Exception):
        return None
    try:
        return json.dumps(result.result, default=_not_json, separators=(",", ":"))
    except (TypeError, ValueError):
        return None


def answer(service: str, target: str, body: str, region: str, access_key: str):
    """(status, headers, body) of moto's handler for one JSON request of `service`."""
    action = target.rpartition(".")[2]
    handler = _HANDLERS[service]()
    handler.headers = {"X-Amz-Target": target, "Content-Type": _CONTENT_TYPE}
    handler.querystring = {}
    handler.uri_match = {}
    handler.region = region
    handler.partition = "aws"
    handler.current_account = _account(access_key)
    handler.response_headers = {"server": "amazon.com"}
    handler.is_werkzeug_request = False
    handler.body = body
    params = _parameters(service, action, body)
    if params is not None:
        handler.params = handler.body = params
    try:
        result = getattr(handler, camelcase_to_underscores(action))()
    except ServiceException as err:
        result = ActionResult(err)
    except HTTPException as err:  # moto's DynamoDB errors (JsonRESTError)
        result = (err.description, {**dict(err.get_headers() or []), "status": err.code})
    plain = service == "dynamodb" or action == "GetRecords"
    text = _plain_json(result) if plain else None
    if text is not None:
        status = 200
        headers = dict(handler.response_headers, **{"Content-Type": _CONTENT_TYPE, _PLAIN: "1"})
    elif isinstance(result, ActionResult):
        status, headers, text = handler.serialized(result)
    elif isinstance(result, str):
        status, headers, text = 200, handler.response_headers, result
    else:
        status, headers, text = handler._transform_response(handler.response_headers, result)
    headers.pop("status", None)
    headers["x-amzn-requestid"] = _request_id()
    return int(status), headers, text.encode() if isinstance(text, str) else text


class DirectCalls:
    """botocore `before-call` hook: calls for a registered endpoint go to `apply(...)`.

    Registered once per process, last among botocore's built-in handlers (so counting
    hooks registered on a client still run first), and every session created afterwards
    has it. `apply(service, target, body, region, access_key) -> (status, headers, body)`
    runs the request (the embedded server serialises it with every other).
    """

    def __init__(self):
        self.endpoints = {}  # "host:port" -> apply
        self._parsers = threading.local()
        BUILTIN_HANDLERS.append(("before-call", self, REGISTER_LAST))

    def _parser(self):
        parser = getattr(self._parsers, "json", None)
        if parser is None:
            parser = self._parsers.json = create_parser("json")
        return parser

    def __call__(self, model, params, request_signer=None, context=None, **_):
        apply = self.endpoints.get(urlsplit(params["url"]).netloc)
        service = model.service_model.service_name
        if apply is None or service not in _HANDLERS:
            return None
        credentials = getattr(request_signer, "_credentials", None)
        region = (context or {}).get("client_region") or "us-east-1"
        body = params["body"]
        body = body.decode() if isinstance(body, bytes) else body or ""
        target = f"{model.service_model.metadata['targetPrefix']}.{model.name}"
        status, headers, data = apply(service, target, body, region,
                                      getattr(credentials, "access_key", None) or "")
        response = {"status_code": status, "headers": headers, "body": data}
        if status == 200 and headers.get(_PLAIN):
            parsed = _parse_plain(data, model.output_shape)
            if service == "dynamodbstreams" and model.name == "GetRecords":
                record_times(parsed)
        else:
            parsed = self._parse(response, model, status)
        metadata = parsed.setdefault("ResponseMetadata", {})
        metadata.update(RequestId=headers.get("x-amzn-requestid", ""), HTTPStatusCode=status,
                        HTTPHeaders=headers, RetryAttempts=0)
        return AWSResponse(params["url"], status, headers, _Body(data)), parsed

    def _parse(self, response: dict, model, status: int) -> dict:
        """botocore's own parsing, modeled error fields included (as its Endpoint does)."""
        parser = self._parser()
        parsed = parser.parse(response, model.output_shape)
        if status >= 300:
            code = parsed.get("Error", {}).get("Code")
            shape = model.service_model.shape_for_error_code(code) if code else None
            if shape is not None:
                parsed.update(parser.parse(response, shape))
        return parsed


def _parse_plain(data: bytes, shape) -> dict:
    """What botocore's parser makes of a plain JSON answer (`_plain_json`): the output
    shape's members that are not null. Below them are only attribute values in wire form
    and capacity figures, which botocore's parser copies unchanged."""
    members = shape.members if shape is not None else {}
    return {k: v for k, v in json.loads(data).items() if v is not None and k in members}


_DIRECT = []


def direct_calls() -> DirectCalls:
    if not _DIRECT:
        _DIRECT.append(DirectCalls())
    return _DIRECT[0]
