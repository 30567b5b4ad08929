"""The stream mapping's settings wait for Lambda to let the mapping change
(scripts/stream_mapping.py), against moto with Lambda's busy states added
(tests.deploy.conftest.MappingStates)."""

import io
import zipfile
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from scripts import stream_mapping
from scripts.common import STREAM_RETRY_SETTINGS, stream_mapping_settings
from scripts.deploy import configure_stream_mapping
from tests.deploy.conftest import MappingStates


@pytest.fixture
def mapping(monkeypatch):
    """A stream mapping Lambda has just created (Creating for the next two reads)."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    states = MappingStates(reads=2)
    with mock_aws(), states:
        session = boto3.Session(region_name="us-east-1")
        states.enforce(session)
        lam = session.client("lambda")
        stream = session.client("dynamodb").create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        role = session.client("iam").create_role(
            RoleName="push", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as zf:
            zf.writestr("app.py", "def push(event, context):\n    pass\n")
        function = lam.create_function(FunctionName="push", Runtime="python3.11", Role=role,
                                       Handler="app.push", Code={"ZipFile": code.getvalue()},
                                       )["FunctionArn"]
        uuid = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function,
                                               StartingPosition="LATEST")["UUID"]
        queue = session.client("sqs").create_queue(QueueName="failures")["QueueUrl"]
        queue_arn = session.client("sqs").get_queue_attributes(
            QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        yield SimpleNamespace(lam=lam, uuid=uuid, stream=stream, queue=queue_arn,
                              states=states, sleeps=[])


def test_lambda_refuses_to_change_a_mapping_it_is_still_creating(mapping):
    with pytest.raises(mapping.lam.exceptions.ResourceInUseException):
        mapping.lam.update_event_source_mapping(UUID=mapping.uuid, **STREAM_RETRY_SETTINGS)


def test_settings_wait_until_the_mapping_is_enabled_and_again_after_the_update(mapping):
    settled = configure_stream_mapping(mapping.lam, mapping.uuid, mapping.stream,
                                       mapping.queue, mapping.sleeps.append)
    assert mapping.states.refused == []
    assert mapping.sleeps == [1.0, 2.0, 1.0, 2.0]  # Creating twice, then Updating twice
    assert settled["State"] == "Enabled"
    wanted = stream_mapping_settings(mapping.queue)
    assert {key: settled[key] for key in wanted} == wanted
    assert settled["DestinationConfig"] == {"OnFailure": {"Destination": mapping.queue}}


def test_settings_already_in_place_are_not_sent_again(mapping):
    configure_stream_mapping(mapping.lam, mapping.uuid, mapping.stream, mapping.queue,
                             mapping.sleeps.append)
    mapping.sleeps.clear()
    configure_stream_mapping(mapping.lam, mapping.uuid, mapping.stream, mapping.queue,
                             mapping.sleeps.append)
    assert mapping.sleeps == []  # no update, so no Updating to wait for
    assert mapping.states.busy == {}


def test_another_on_failure_queue_is_set_again():
    wanted = stream_mapping_settings("arn:aws:sqs:us-east-1:123456789012:new")
    current = {**stream_mapping_settings("arn:aws:sqs:us-east-1:123456789012:old")}
    assert not stream_mapping.in_place(current["DestinationConfig"], wanted["DestinationConfig"])
    assert stream_mapping.in_place(
        {"OnSuccess": {}, **wanted["DestinationConfig"]}, wanted["DestinationConfig"])
    assert not stream_mapping.in_place(
        {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:123456789012:x"},
         **wanted["DestinationConfig"]}, wanted["DestinationConfig"])
    assert not stream_mapping.in_place(None, wanted["DestinationConfig"])


def test_a_change_that_starts_in_between_is_retried_with_backoff(mapping):
    mapping.states.busy.clear()
    mapping.states.concurrent = 2
    settled = stream_mapping.update(mapping.lam, mapping.uuid, STREAM_RETRY_SETTINGS,
                                    mapping.sleeps.append)
    assert [op for op, _ in mapping.states.refused] == ["UpdateEventSourceMapping"] * 2
    assert mapping.sleeps[:2] == [1.0, 2.0]
    assert settled["MaximumRetryAttempts"] == 3


def test_a_mapping_that_never_settles_fails_with_a_clear_message(mapping):
    mapping.states.busy[mapping.uuid] = ["Updating", 10**6]
    with pytest.raises(stream_mapping.MappingBusy, match="still Updating after 30 s"):
        stream_mapping.settled(mapping.lam, mapping.uuid, mapping.sleeps.append, limit=30)
    assert mapping.sleeps == [1.0, 2.0, 4.0, 8.0, 15.0]


def test_a_busy_mapping_is_deleted_once_lambda_lets_it(mapping):
    assert stream_mapping.delete(mapping.lam, mapping.uuid, mapping.sleeps.append)
    assert mapping.states.refused == [("DeleteEventSourceMapping", mapping.uuid)]
    assert mapping.lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_backoff_pauses_stay_within_the_limit():
    assert list(stream_mapping.pauses(20)) == [1.0, 2.0, 4.0, 8.0, 5.0]
    assert sum(stream_mapping.pauses(stream_mapping.WAIT_LIMIT)) == stream_mapping.WAIT_LIMIT
