"""Reading a table's DynamoDB stream and shaping its records the way Lambda delivers them."""

import boto3


class StreamReader:
    """Reads the table's real DynamoDB stream (moto's Streams API), from 'now' onwards."""

    def __init__(self, endpoint):
        from chalicelib.config import settings
        from chalicelib.models import stream_arn

        self.arn = stream_arn()
        self.client = boto3.client("dynamodbstreams", endpoint_url=endpoint,
                                   region_name=settings().region)
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
            for record in resp["Records"]:
                record["eventSourceARN"] = self.arn
                change = record["dynamodb"]
                created = change.get("ApproximateCreationDateTime")
                change["ApproximateCreationDateTime"] = int(created.timestamp()) if created else 0
                out.append(record)
        return out

