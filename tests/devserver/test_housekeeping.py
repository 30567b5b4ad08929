"""The embedded DynamoDB levels off: delivered stream records are trimmed, items past
their TTL are deleted as DynamoDB's TTL deletes them, empty partitions are forgotten."""

import time

import pytest
from botocore.exceptions import ClientError

from devserver import housekeeping
from devserver.housekeeping import Housekeeping
from devserver.stream_records import lambda_record

from .conftest import client_of, make_table

TABLE = "housekeeping-test"


@pytest.fixture(scope="module")
def ddb(server):
    client = client_of(server)
    make_table(client, TABLE)
    client.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "expires"})
    return client


@pytest.fixture
def streams(server):
    import boto3

    return boto3.client("dynamodbstreams", endpoint_url=server.endpoint,
                        region_name="us-east-1", aws_access_key_id="t",
                        aws_secret_access_key="t")


def _key(pk, sk):
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _shard(ddb, streams):
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    return arn, shard


def _read(streams, arn, shard_id, kind="TRIM_HORIZON", sequence=None):
    kwargs = {"SequenceNumber": sequence} if sequence else {}
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id,
                                          ShardIteratorType=kind, **kwargs)["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def _sequences(records):
    return [int(r["dynamodb"]["SequenceNumber"]) for r in records]


def test_records_every_consumer_delivered_are_trimmed_and_numbering_goes_on(
        server, ddb, streams):
    arn, shard = _shard(ddb, streams)
    for i in range(5):
        ddb.put_item(TableName=TABLE, Item={**_key("M#trim", f"T#{i}")})
    before = _sequences(_read(streams, arn, shard["ShardId"]))
    delivered = before[-3]  # the consumer has delivered all but the last two
    stale_iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    chores = Housekeeping(server, lambda: {(arn, shard["ShardId"]): delivered})
    counts = chores.run_once(now=time.time() + housekeeping.STREAM_RETENTION + 1)

    assert counts["trimmed"] == len(before) - 2
    assert _sequences(_read(streams, arn, shard["ShardId"])) == before[-2:]
    _, described = _shard(ddb, streams)
    assert int(described["SequenceNumberRange"]["StartingSequenceNumber"]) == before[-2]
    with pytest.raises(ClientError) as trimmed:  # positioned before what is kept
        streams.get_records(ShardIterator=stale_iterator)
    assert trimmed.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    ddb.put_item(TableName=TABLE, Item={**_key("M#trim", "T#5")})
    after = _sequences(_read(streams, arn, shard["ShardId"], "AFTER_SEQUENCE_NUMBER",
                             str(before[-1])))
    assert after == [before[-1] + 1]


def test_records_not_delivered_or_younger_than_the_retention_are_kept(server, ddb, streams):
    arn, shard = _shard(ddb, streams)
    ddb.put_item(TableName=TABLE, Item={**_key("M#keep", "T#0")})
    kept = _sequences(_read(streams, arn, shard["ShardId"]))
    assert Housekeeping(server, lambda: {}).run_once()["trimmed"] == 0  # nobody read them
    other = Housekeeping(server, lambda: {(arn + "-other", shard["ShardId"]): kept[-1]})
    assert other.run_once(now=time.time() + 3600)["trimmed"] == 0  # another table's stream
    recent = Housekeeping(server, lambda: {(arn, shard["ShardId"]): kept[-1]}).run_once()
    assert recent["trimmed"] == 0  # delivered, but not a minute old
    assert _sequences(_read(streams, arn, shard["ShardId"])) == kept


def test_items_past_their_ttl_are_deleted_with_a_service_remove_record(server, ddb, streams):
    arn, shard = _shard(ddb, streams)
    now = time.time()
    ddb.put_item(TableName=TABLE, Item={**_key("M#ttl", "T#old"),
                                        "expires": {"N": str(int(now - 10))}})
    ddb.put_item(TableName=TABLE, Item={**_key("M#ttl", "T#new"),
                                        "expires": {"N": str(int(now + 3600))}})
    ddb.put_item(TableName=TABLE, Item={**_key("M#ttl", "T#text"),
                                        "expires": {"S": "not a number"}})
    ddb.put_item(TableName=TABLE, Item={**_key("M#ttl", "T#none")})
    last = _sequences(_read(streams, arn, shard["ShardId"]))[-1]
    writes = server.writes

    counts = Housekeeping(server, lambda: {}).run_once(now=now)

    assert counts["expired"] == 1
    left = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "M#ttl"}}, ConsistentRead=True)
    assert sorted(i["sk"]["S"] for i in left["Items"]) == ["T#new", "T#none", "T#text"]
    (removed,) = _read(streams, arn, shard["ShardId"], "AFTER_SEQUENCE_NUMBER", str(last))
    assert removed["eventName"] == "REMOVE"
    assert removed["dynamodb"]["Keys"] == _key("M#ttl", "T#old")
    assert removed["userIdentity"] == {"Type": "Service",
                                       "PrincipalId": "dynamodb.amazonaws.com"}
    assert lambda_record(removed, arn, "us-east-1")["userIdentity"] == {
        "type": "Service", "principalId": "dynamodb.amazonaws.com"}  # as Lambda gets it
    assert server.writes > writes  # a snapshot follows TTL deletions too


def test_a_reaction_is_deleted_once_its_minute_is_up(server, ddb):
    from chalicelib.models import REACTION_TTL, Reaction, now, reaction_sk

    sent = now()
    item = Reaction("M#reacted", reaction_sk("1"), rid="1", sender="p", emoji="👍",
                    sent_at=sent, expires=sent + REACTION_TTL)
    ddb.put_item(TableName=TABLE, Item=item.serialize())
    key = _key("M#reacted", reaction_sk("1"))

    Housekeeping(server, lambda: {}).run_once(now=sent.timestamp() + 30)
    assert "Item" in ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
    Housekeeping(server, lambda: {}).run_once(
        now=sent.timestamp() + REACTION_TTL.total_seconds() + 1)
    assert "Item" not in ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)


def test_empty_partitions_are_forgotten(server, ddb):
    ddb.put_item(TableName=TABLE, Item={**_key("C#gone", "CONN")})
    ddb.delete_item(TableName=TABLE, Key=_key("C#gone", "CONN"))
    ddb.get_item(TableName=TABLE, Key=_key("C#never", "CONN"))  # a lookup leaves one too
    with server.exclusive():
        (table,) = [t for t in server.tables() if t.name == TABLE]
        partitions = {k.value for k in table.items}
    assert {"C#gone", "C#never"} <= partitions
    assert Housekeeping(server, lambda: {}).run_once()["partitions"] >= 2
    with server.exclusive():
        assert not {"C#gone", "C#never"} & {k.value for k in table.items}


def test_moto_keeps_no_list_of_every_item_and_record_it_made(ddb):
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import StreamRecord

    for i in range(20):
        ddb.put_item(TableName=TABLE, Item={**_key("M#untracked", f"T#{i}")})
    assert len(Item.instances_tracked) == 0
    assert len(StreamRecord.instances_tracked) == 0
