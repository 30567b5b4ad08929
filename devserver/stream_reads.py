"""The stream poller's reads of the embedded DynamoDB's stream, without botocore.

The poller reads at least once per write (it is woken after every request). Through a
boto3 client each GetRecords cost about a millisecond of botocore machinery (serialising,
hooks, endpoint rules, parsing) on the stack's busiest core. Here GetShardIterator and
GetRecords go straight to the store's `apply` (direct_calls) and their JSON is read
as is; every other call, DescribeStream included, goes through the real client. The
answers are shaped as boto3's: errors raise `ClientError` with the same code, record
timestamps are datetimes. A binary attribute stays base64 text, which is how the Lambda
event (stream_records.py) wants it anyway.
"""

import json

from botocore.exceptions import ClientError

from .direct_calls import record_times

_TARGET = "DynamoDBStreams_20120810."


class DirectStreamReads:
    def __init__(self, client, apply, region: str):
        """`client`: boto3 dynamodbstreams (for the other calls); `apply(service, target,
        body, region, access_key) -> (status, headers, body)`: the embedded store's."""
        self._client = client
        self._apply = apply
        self._region = region

    def __getattr__(self, name):
        return getattr(self._client, name)

    def get_shard_iterator(self, **params) -> dict:
        return self._call("GetShardIterator", params)

    def get_records(self, **params) -> dict:
        return record_times(self._call("GetRecords", params))

    def _call(self, operation: str, params: dict) -> dict:
        status, headers, data = self._apply("dynamodbstreams", _TARGET + operation,
                                            json.dumps(params), self._region, "local")
        try:
            answer = json.loads(data) if data else {}
        except ValueError:
            answer = {}
        metadata = {"HTTPStatusCode": status, "HTTPHeaders": headers, "RetryAttempts": 0,
                    "RequestId": headers.get("x-amzn-requestid", "")}
        if status >= 300:
            code = (answer.get("__type") or headers.get("x-amzn-ErrorType") or str(status))
            code = code.rpartition("#")[2].partition(":")[0]
            message = answer.get("message") or answer.get("Message") or ""
            raise ClientError({"Error": {"Code": code, "Message": message},
                               "ResponseMetadata": metadata}, operation)
        answer["ResponseMetadata"] = metadata
        return answer
