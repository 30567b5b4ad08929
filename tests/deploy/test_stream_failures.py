"""Reading the stream batches the push Lambda gave up on, against moto's SQS and streams."""

import json

import pytest

from scripts import stream_failures
from scripts.common import stack_name

TABLE = "parley-failures"


@pytest.fixture(scope="module")
def stream(aws):
    """A table with a stream holding four changes: {sequence numbers, shard, stream ARN}."""
    dynamodb = aws.client("dynamodb")
    table = dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    for sk in ("META", "P#ann", "P#bob"):
        dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "M#m1"}, "sk": {"S": sk}})
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": "M#m1"}, "sk": {"S": "P#ann"}},
                         UpdateExpression="SET hand = :h", ExpressionAttributeValues={
                             ":h": {"BOOL": True}})
    streams = aws.client("dynamodbstreams")
    arn = table["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    numbers = [r["dynamodb"]["SequenceNumber"]
               for r in streams.get_records(ShardIterator=iterator)["Records"]]
    assert len(numbers) == 4
    return {"numbers": numbers, "shard": shard, "arn": arn}


def note(stream, first, last, condition="RetryAttemptsExhausted"):
    """What Lambda sends to an on-failure destination for a DynamoDB stream batch."""
    return {
        "requestContext": {"requestId": "316aa6d0", "condition": condition,
                           "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:"
                                          "parley-dev-on_table_change",
                           "approximateInvokeCount": 4},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            "functionError": "Unhandled"},
        "version": "1.0", "timestamp": "2026-11-23T10:00:07.021Z",
        "DDBStreamBatchInfo": {
            "shardId": stream["shard"], "streamArn": stream["arn"],
            "startSequenceNumber": stream["numbers"][first],
            "endSequenceNumber": stream["numbers"][last], "batchSize": last - first + 1,
            "approximateArrivalOfFirstRecord": "2026-11-23T10:00:00Z",
            "approximateArrivalOfLastRecord": "2026-11-23T10:00:01Z",
        },
    }


@pytest.fixture
def queue(aws):
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="parley-test-stream-failures")["QueueUrl"]
    yield sqs, url
    sqs.delete_queue(QueueUrl=url)


def test_a_failed_batch_is_shown_with_the_changes_it_held(aws, stream, queue):
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(note(stream, 1, 3)))
    (failure,) = stream_failures.read_failures(sqs, url)
    records = stream_failures.batch_records(aws.client("dynamodbstreams"), failure.batch)
    assert [r["dynamodb"]["SequenceNumber"] for r in records] == stream["numbers"][1:4]
    text = "\n".join(stream_failures.describe(failure, records))
    assert "RetryAttemptsExhausted after 4 invocations (Unhandled)" in text
    assert "INSERT  pk=M#m1 sk=P#ann" in text and "MODIFY  pk=M#m1 sk=P#ann" in text
    assert "sk=META" not in text  # before the batch


def test_a_batch_the_stream_no_longer_holds_says_so(aws, stream, queue):
    gone = {**note(stream, 0, 0)["DDBStreamBatchInfo"],
            "streamArn": stream["arn"].replace(TABLE, "parley-deleted")}
    assert stream_failures.batch_records(aws.client("dynamodbstreams"), gone) is None
    failure = stream_failures.Failure("r", {**note(stream, 0, 0), "DDBStreamBatchInfo": gone})
    assert "no longer holds" in "\n".join(stream_failures.describe(failure, None))


def test_notes_are_kept_unless_deleted(stream, queue):
    sqs, url = queue
    for first in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(note(stream, first, first)))
    read = stream_failures.read_failures(sqs, url)
    assert len(read) == 3
    assert stream_failures.read_failures(sqs, url) == []  # hidden while being looked at
    assert stream_failures.delete_failures(sqs, url, read) == 3
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_make_stream_failures_finds_the_stages_queue_prints_and_deletes(aws, stream,
                                                                        monkeypatch, capsys):
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName=stack_name("dev"), TemplateBody=json.dumps({
        "Resources": {"StreamFailures": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"StreamFailureQueueUrl": {"Value": {"Ref": "StreamFailures"}}},
    }))
    url = cfn.describe_stacks(StackName=stack_name("dev"))["Stacks"][0]["Outputs"][0][
        "OutputValue"]
    aws.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(note(stream, 2, 2)))
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the script sets it; undone after
    assert stream_failures.main(["--stage", "dev", "--region", "us-east-1", "--delete"]) == 0
    out = capsys.readouterr().out
    assert "INSERT  pk=M#m1 sk=P#bob" in out
    assert "removed 1 notes from the queue" in out
    assert stream_failures.main(["--stage", "dev", "--region", "us-east-1"]) == 0
    assert "no failed stream batches recorded for dev" in capsys.readouterr().out
    cfn.delete_stack(StackName=stack_name("dev"))
