"""Shaping DynamoDB Streams records the way Lambda delivers them."""

import base64


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
        who = record["userIdentity"]
        shaped["userIdentity"] = {"type": who.get("Type"), "principalId": who.get("PrincipalId")}
    return shaped
