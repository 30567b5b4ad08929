"""API Gateway's own error answers on the REST API, given CORS headers and the app's shape.

When API Gateway answers by itself (stage throttling 429, an unknown path 403, a Lambda
that failed or timed out 502/504) the Lambda never runs, so the answer has none of the
CORS headers the app adds, and the browser hides it from the page: a throttled ticket
looks like a dropped network. Gateway responses for DEFAULT_4XX and DEFAULT_5XX (and
THROTTLED, which also says when to retry) carry the site origin, expose Retry-After, and
put the body in the app's `{"error": {"code", "message"}}` shape with codes the frontend
already knows. `make deploy` sets them with `put_gateway_response`; `make package` puts
the same ones in the REST API's definition.
"""

ALLOW_ORIGIN = "gatewayresponse.header.Access-Control-Allow-Origin"
EXPOSE_HEADERS = "gatewayresponse.header.Access-Control-Expose-Headers"
RETRY_AFTER = "gatewayresponse.header.Retry-After"
# API Gateway's token buckets refill continuously at the stage's rate: a second is ample.
THROTTLED_RETRY_SECONDS = 1

_TEMPLATE = '{"error": {"code": "%s", "message": %s}}'
# $context.error.messageString is API Gateway's own message, already a quoted JSON string.
_MESSAGE = "$context.error.messageString"


def static(value: str) -> str:
    """A fixed header value in API Gateway's mapping syntax (single-quoted)."""
    if "'" in value:
        raise ValueError(f"a header value with a quote: {value!r}")
    return f"'{value}'"


def gateway_responses(allow_origin) -> dict[str, dict]:
    """{response type: {responseParameters, responseTemplates}}.

    `allow_origin` is the Access-Control-Allow-Origin value in mapping syntax: `static(...)`
    of the site origin, or a CloudFormation value that resolves to one.
    """
    cors = {ALLOW_ORIGIN: allow_origin, EXPOSE_HEADERS: static("Retry-After")}

    def response(code: str, message: str = _MESSAGE, **headers) -> dict:
        return {"responseParameters": {**cors, **headers},
                "responseTemplates": {"application/json": _TEMPLATE % (code, message)}}

    return {
        "DEFAULT_4XX": response("request_refused"),
        "DEFAULT_5XX": response("internal_error"),
        "THROTTLED": response("rate_limited", '"Too many requests; try again in a second."',
                              **{RETRY_AFTER: static(str(THROTTLED_RETRY_SECONDS))}),
    }


def set_gateway_responses(apigateway, rest_api_id: str, stage: str, origin: str) -> bool:
    """Put the responses on the REST API and deploy its stage again so they apply; False
    when every one was in place already (nothing is put or deployed then)."""
    pages = apigateway.get_paginator("get_gateway_responses").paginate(restApiId=rest_api_id)
    current = {r["responseType"]: r for page in pages for r in page.get("items", [])}
    changed = False
    for kind, wanted in gateway_responses(static(origin)).items():
        if all(current.get(kind, {}).get(key) == value for key, value in wanted.items()):
            continue
        apigateway.put_gateway_response(restApiId=rest_api_id, responseType=kind, **wanted)
        changed = True
    if changed:
        apigateway.create_deployment(restApiId=rest_api_id, stageName=stage,
                                     description="gateway responses with CORS headers")
    return changed
