"""One stage, one region (scripts/stage_region.py): where a stage runs, read from chalice's
record and from its roles' policies in moto's IAM."""

import json

import boto3
import pytest
from moto import mock_aws

from scripts.stage_region import StageInAnotherRegion, check_region, regions_in, role_pattern


def policy(region: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem",
         "Resource": f"arn:aws:dynamodb:{region}:123456789012:table/parley-dev"},
        {"Effect": "Allow", "Action": "iam:PassRole",  # IAM ARNs name no region
         "Resource": "arn:aws:iam::123456789012:role/x"}]}


def record(region: str) -> dict:
    return {"resources": [{
        "name": "api_handler", "resource_type": "lambda_function",
        "lambda_arn": f"arn:aws:lambda:{region}:123456789012:function:parley-dev"}]}


@pytest.fixture
def iam(monkeypatch):
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


def add_role(iam, name: str, region: str) -> None:
    iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy(region)))


def test_regions_come_from_arns_and_iam_arns_name_none():
    assert regions_in(policy("eu-west-1")) == {"eu-west-1"}
    assert regions_in(record("us-east-1")["resources"]) == {"us-east-1"}
    assert regions_in({"resources": []}) == set()


def test_a_stages_roles_are_its_handlers_not_another_stages():
    pattern = role_pattern("dev", "parley")
    assert pattern.fullmatch("parley-dev-api_handler")
    assert pattern.fullmatch("parley-dev-on_table_change")
    assert not pattern.fullmatch("parley-dev-2-api_handler")
    assert not pattern.fullmatch("parley-devx-api_handler")
    assert not pattern.fullmatch("parley-dev")


def test_the_same_region_or_a_new_stage_goes_ahead(iam):
    add_role(iam, "parley-dev-api_handler", "us-east-1")
    check_region("dev", "us-east-1", record("us-east-1"), iam, "parley")
    check_region("dev", "us-east-1", None, iam, "parley")
    check_region("dev", "us-east-1", {"resources": []}, iam, "parley")
    check_region("prod", "eu-west-1", None, iam, "parley")


def test_a_record_from_another_region_is_refused(iam):
    with pytest.raises(StageInAnotherRegion) as refused:
        check_region("dev", "eu-west-1", record("us-east-1"), iam, "parley")
    message = str(refused.value)
    assert "stage dev is deployed in us-east-1 (per .chalice/deployed/dev.json)" in message
    assert "AWS_REGION=us-east-1 make destroy STAGE=dev" in message


def test_roles_granting_another_region_are_refused_without_a_record(iam):
    add_role(iam, "parley-dev-api_handler", "us-east-1")
    add_role(iam, "parley-dev-2-api_handler", "eu-west-1")  # another stage's role
    check_region("dev-2", "eu-west-1", None, iam, "parley")
    with pytest.raises(StageInAnotherRegion, match="the policy of IAM role parley-dev-api_handler"):
        check_region("dev", "eu-west-1", None, iam, "parley")
