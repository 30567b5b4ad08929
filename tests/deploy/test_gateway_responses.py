"""API Gateway's own errors with CORS headers, against moto's API Gateway."""

import json

import pytest

from scripts import gateway_responses as responses
from tests.deploy.conftest import app_routes, create_rest_api

ORIGIN = "https://d111111abcdef8.cloudfront.net"
STAGE = "api"


@pytest.fixture
def rest_api(aws):
    apigateway = aws.client("apigateway")
    api = create_rest_api(apigateway, "parley-errors", STAGE, app_routes())
    yield apigateway, api
    apigateway.delete_rest_api(restApiId=api)


def deployments(apigateway, api):
    return apigateway.get_deployments(restApiId=api)["items"]


def test_default_4xx_5xx_and_throttled_answers_carry_the_site_origin_and_expose_retry_after(
        rest_api):
    apigateway, api = rest_api
    assert responses.set_gateway_responses(apigateway, api, STAGE, ORIGIN) is True
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"):
        got = apigateway.get_gateway_response(restApiId=api, responseType=kind)
        headers = got["responseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{ORIGIN}'"
        assert headers["gatewayresponse.header.Access-Control-Expose-Headers"] == "'Retry-After'"


def test_a_throttled_answer_says_when_to_retry_in_the_apps_error_shape(rest_api):
    apigateway, api = rest_api
    responses.set_gateway_responses(apigateway, api, STAGE, ORIGIN)
    got = apigateway.get_gateway_response(restApiId=api, responseType="THROTTLED")
    assert got["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    body = json.loads(got["responseTemplates"]["application/json"])
    assert body["error"]["code"] == "rate_limited"  # the code the page retries tickets on


@pytest.mark.parametrize(("kind", "code"), [("DEFAULT_4XX", "request_refused"),
                                            ("DEFAULT_5XX", "internal_error")])
def test_other_gateway_errors_keep_api_gateways_message_in_the_apps_error_shape(kind, code):
    template = responses.gateway_responses("'x'")[kind]["responseTemplates"]["application/json"]
    # what API Gateway makes of $context.error.messageString: a quoted JSON string
    rendered = template.replace("$context.error.messageString", '"Missing Authentication Token"')
    assert json.loads(rendered) == {"error": {"code": code,
                                              "message": "Missing Authentication Token"}}


def test_the_stage_is_deployed_again_so_they_apply_and_not_when_nothing_changed(rest_api):
    apigateway, api = rest_api
    before = {d["id"] for d in deployments(apigateway, api)}
    responses.set_gateway_responses(apigateway, api, STAGE, ORIGIN)
    (new,) = {d["id"] for d in deployments(apigateway, api)} - before
    assert apigateway.get_stage(restApiId=api, stageName=STAGE)["deploymentId"] == new
    assert responses.set_gateway_responses(apigateway, api, STAGE, ORIGIN) is False
    assert len(deployments(apigateway, api)) == len(before) + 1


def test_a_new_origin_is_put_again(rest_api):
    apigateway, api = rest_api
    responses.set_gateway_responses(apigateway, api, STAGE, ORIGIN)
    other = "https://d222222abcdef8.cloudfront.net"
    assert responses.set_gateway_responses(apigateway, api, STAGE, other) is True
    got = apigateway.get_gateway_response(restApiId=api, responseType="DEFAULT_5XX")
    assert got["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == \
        f"'{other}'"


def test_a_header_value_cannot_break_out_of_its_quotes():
    assert responses.static("Retry-After") == "'Retry-After'"
    with pytest.raises(ValueError):
        responses.static("x' , 'y")
