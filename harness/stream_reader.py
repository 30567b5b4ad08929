"""The table's real DynamoDB stream, read from 'now' on, for tests and benchmarks that want
the records a write produced (the local stack's poller, devserver/streams.py, is the
long-running reader with retries and shard changes)."""

import boto3

from devserver.stream_records import lambda_record


class StreamReader:
    """Reads the table's stream (moto's Streams API) from the moment it is made."""

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
