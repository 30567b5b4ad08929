"""An embedded DynamoDB of the module's own, and tables of the same key schema as Parley's."""

import boto3
import pytest

from devserver.embedded_dynamodb import EmbeddedDynamoDB


@pytest.fixture(scope="module")
def server():
    db = EmbeddedDynamoDB(port=0)
    db.start()
    yield db
    db.stop()


def client_of(server):
    return boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="t", aws_secret_access_key="t")


def make_table(client, name: str) -> None:
    """A table keyed like Parley's (pk, sk), with a stream of new and old images."""
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
