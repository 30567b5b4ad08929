"""Reading a table's DynamoDB stream and shaping its records the way Lambda delivers them."""

import base64

import boto3


def _lambda_value(value):
    """An AttributeValue as Lambda's JSON has it: binary values base64 text, not bytes."""
    if isinstance(value, dict):
        return {k: _lambda_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_value(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


def lambda_record(record: dict, stream_arn: str, region: str) -> dict:
    """One Streams API record (as boto3 returns it) in the shape of a Lambda event record."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    change["ApproximateCreationDateTime"] = int(created.timestamp()) if created else 0
    for key in ("Keys", "NewImage", "OldImage"):
        if key in change:
            change[key] = _lambda_value(change[key])
    shaped = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions say who removed the item
        shaped["userIdentity"] = record["userIdentity"]
    return shaped


class StreamReader:
    """Reads the table's real DynamoDB stream (moto's Streams API), from 'now' onwards.

    For tests that want the records a write produced; the local stack's poller
    (streams.py) is the long-running version with retries and shard changes.
    """

    def __init__(self, endpoint):
        from chalicelib.config import settings
        from chalicelib.models import stream_arn

        self.arn = stream_arn()
        self.region = settings().region
        self.client = boto3.client("dynamodbstreams", endpoint_url=endpoint,
                                   region_name=self.region)
        self.iterators = {}
        for shard in self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            it = self.client.get_shard_iterator(StreamArn=self.arn, ShardId=shard["ShardId"],
                                                ShardIteratorType="LATEST")["ShardIterator"]
            self.iterators[shard["ShardId"]] = it

    def records(self) -> list:
        """Everything written since the last call, shaped as Lambda delivers it."""
        out = []
        for shard, it in list(self.iterators.items()):
            resp = self.client.get_records(ShardIterator=it)
            self.iterators[shard] = resp["NextShardIterator"]
            out.extend(lambda_record(r, self.arn, self.region) for r in resp["Records"])
        return out
