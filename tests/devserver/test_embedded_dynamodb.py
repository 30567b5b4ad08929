"""The embedded DynamoDB keeps DynamoDB's promises where moto alone does not: a cancelled
transaction changes nothing (items and stream), the table is never swapped for a copy, and
clients in this process and over HTTP see one store."""

import http.client
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import dynamodb_backends

from .conftest import client_of, make_table

TABLE = "embedded-test"


@pytest.fixture(scope="module")
def ddb(server):
    client = client_of(server)
    make_table(client, TABLE)
    return client


def _key(sk):
    return {"pk": {"S": "M#1"}, "sk": {"S": sk}}


def _stream_length():
    table = dynamodb_backends["123456789012"]["us-east-1"].tables[TABLE]
    return len(table.stream_shard.items)


def _seat_transaction(count_limit):
    """A join: take a seat if fewer than `count_limit` are taken, and add the participant."""
    return [
        {"Update": {"TableName": TABLE, "Key": _key("META"),
                    "UpdateExpression": "ADD seats :one",
                    "ConditionExpression": "seats < :limit",
                    "ExpressionAttributeValues": {":one": {"N": "1"},
                                                  ":limit": {"N": str(count_limit)}}}},
        {"Put": {"TableName": TABLE, "Item": {**_key("P#new"), "name": {"S": "Ada"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
    ]


def test_cancelled_transaction_changes_nothing(ddb):
    ddb.put_item(TableName=TABLE, Item={**_key("META"), "seats": {"N": "1"}})
    for i in range(300):  # a table with more in it than the transaction touches
        ddb.put_item(TableName=TABLE, Item={**_key(f"X#{i:03}"), "n": {"N": str(i)}})
    backend = dynamodb_backends["123456789012"]["us-east-1"]
    table_before = backend.tables[TABLE]
    records_before = _stream_length()

    # The update of META succeeds first and the put then fails: both must be undone.
    ddb.put_item(TableName=TABLE, Item={**_key("P#new"), "name": {"S": "Grace"}})
    records_before += 1
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=_seat_transaction(count_limit=5))
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"

    meta = ddb.get_item(TableName=TABLE, Key=_key("META"), ConsistentRead=True)["Item"]
    assert meta["seats"] == {"N": "1"}
    existing = ddb.get_item(TableName=TABLE, Key=_key("P#new"), ConsistentRead=True)["Item"]
    assert existing["name"] == {"S": "Grace"}
    assert _stream_length() == records_before
    assert backend.tables[TABLE] is table_before  # not swapped for a copy
    assert ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "M#1"}},
                     Select="COUNT")["Count"] == 302


def test_cancelled_transaction_removes_items_it_created(ddb):
    ddb.put_item(TableName=TABLE, Item={**_key("META"), "seats": {"N": "9"}})
    ddb.delete_item(TableName=TABLE, Key=_key("P#new"))
    records_before = _stream_length()
    items = _seat_transaction(count_limit=5)  # the put is fine, the seat check fails
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=list(reversed(items)))
    assert "Item" not in ddb.get_item(TableName=TABLE, Key=_key("P#new"), ConsistentRead=True)
    assert _stream_length() == records_before


def test_committed_transaction_writes_and_streams(ddb):
    ddb.put_item(TableName=TABLE, Item={**_key("META"), "seats": {"N": "0"}})
    ddb.delete_item(TableName=TABLE, Key=_key("P#new"))
    records_before = _stream_length()
    ddb.transact_write_items(TransactItems=_seat_transaction(count_limit=5))
    meta = ddb.get_item(TableName=TABLE, Key=_key("META"), ConsistentRead=True)["Item"]
    assert meta["seats"] == {"N": "1"}
    assert _stream_length() == records_before + 2


def test_http_clients_see_the_same_store(server, ddb):
    ddb.put_item(TableName=TABLE, Item={**_key("shared"), "v": {"S": "in-process"}})
    host, port = server.get_host_and_port()
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("POST", "/", body=json.dumps({"TableName": TABLE, "Key": _key("shared"),
                                               "ConsistentRead": True}),
                 headers={"X-Amz-Target": "DynamoDB_20120810.GetItem",
                          "Content-Type": "application/x-amz-json-1.0",
                          "Authorization": "AWS4-HMAC-SHA256 Credential=t/20261123/us-east-1/"
                                           "dynamodb/aws4_request, SignedHeaders=host, "
                                           "Signature=0"})
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["Item"]["v"] == {"S": "in-process"}


def test_other_endpoints_are_left_to_the_network(server):
    """Only the embedded endpoint is answered in-process; anything else still dials out."""
    other = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                         aws_access_key_id="t", aws_secret_access_key="t",
                         config=boto3.session.Config(retries={"max_attempts": 1},
                                                     connect_timeout=1))
    with pytest.raises(Exception, match="Could not connect"):
        other.list_tables()


ODD_ITEM = {"s": {"S": "ünïcode ✓"}, "n": {"N": "-1.5e3"}, "t": {"BOOL": False},
            "z": {"NULL": True}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]},
            "m": {"M": {"deep": {"L": [{"S": "x"}, {"M": {"e": {"S": ""}}}, {"N": "0"}]}}},
            "b": {"B": b"\x00\xff"}, "mb": {"M": {"bs": {"BS": [b"\x01"]}}}}


def test_items_read_back_as_written(ddb):
    """Plain maps skip moto's serializer; binary ones still take it: both must round-trip."""
    plain = {k: v for k, v in ODD_ITEM.items() if k not in ("b", "mb")}
    ddb.put_item(TableName=TABLE, Item={**_key("odd-plain"), **plain})
    ddb.put_item(TableName=TABLE, Item={**_key("odd-binary"), **ODD_ITEM})
    for sk, expected in (("odd-plain", plain), ("odd-binary", ODD_ITEM)):
        got = ddb.get_item(TableName=TABLE, Key=_key(sk), ConsistentRead=True)["Item"]
        assert got == {**_key(sk), **expected}
    queried = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p AND begins_with(sk, :o)",
                        ExpressionAttributeValues={":p": {"S": "M#1"}, ":o": {"S": "odd-"}},
                        ConsistentRead=True)["Items"]
    assert queried == [{**_key("odd-binary"), **ODD_ITEM}, {**_key("odd-plain"), **plain}]


def test_a_query_reads_its_partition_in_order_and_pages_through_it(ddb):
    for pk in ("M#q1", "M#q2"):
        for i in (3, 1, 2, 0):
            ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": f"T#{i}"}})
    query = {"TableName": TABLE, "KeyConditionExpression": "pk = :p",
             "ExpressionAttributeValues": {":p": {"S": "M#q2"}}, "ConsistentRead": True}
    assert [i["sk"]["S"] for i in ddb.query(**query)["Items"]] == [f"T#{i}" for i in range(4)]
    backwards = ddb.query(**query, ScanIndexForward=False)["Items"]
    assert [i["sk"]["S"] for i in backwards] == [f"T#{i}" for i in (3, 2, 1, 0)]
    first = ddb.query(**query, Limit=3)
    rest = ddb.query(**query, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert [i["sk"]["S"] for i in first["Items"] + rest["Items"]] == [f"T#{i}" for i in range(4)]
    assert ddb.query(**{**query, "ExpressionAttributeValues": {":p": {"S": "M#none"}}})[
        "Items"] == []
    everything = ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    assert {"M#q1", "M#q2"} <= {i["pk"]["S"] for i in everything}  # a scan still sees all
