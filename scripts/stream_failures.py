"""Show the table changes the push Lambda gave up on: `make stream-failures STAGE=prod`.

After its bounded retries (or once a change is an hour old) Lambda skips a failing batch
of stream records and sends a note of it to the stage's SQS queue (infra/parley.yaml,
StreamFailures): which shard and which sequence numbers, not the changes themselves.
This reads those notes and, while the table's stream still holds them (24 hours), the
changes they point at, and prints both; `--delete` then removes the notes it printed.
Reading a note hides it from other readers for VISIBILITY seconds; kept, it comes back.
"""

import argparse
import json
import sys
from dataclasses import dataclass

from botocore.exceptions import ClientError, NoCredentialsError

from scripts.account import NO_CREDENTIALS, add_account_arguments, open_session
from scripts.cloudformation import stack_outputs
from scripts.common import stack_name

VISIBILITY = 60  # seconds a read note stays hidden (and so is not read twice in one run)
MAX_NOTES = 100
MAX_EMPTY_PAGES = 5  # a stream shard may answer empty pages before the records it has


@dataclass(frozen=True)
class Failure:
    """One note Lambda sent about a batch it gave up on."""

    receipt_handle: str
    note: dict

    @property
    def batch(self) -> dict:
        return self.note.get("DDBStreamBatchInfo", {})


def read_failures(sqs, queue_url: str, limit: int = MAX_NOTES) -> list[Failure]:
    """Up to `limit` notes from the queue, oldest first as SQS hands them out."""
    found: list[Failure] = []
    while len(found) < limit:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(10, limit - len(found)),
            VisibilityTimeout=VISIBILITY, WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            break
        found += [Failure(m["ReceiptHandle"], json.loads(m["Body"])) for m in messages]
    return found


def batch_records(streams, batch: dict) -> list[dict] | None:
    """The stream records of a failed batch, or None when the stream no longer has them."""
    start, end = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch["streamArn"], ShardId=batch["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch["startSequenceNumber"])["ShardIterator"]
    except ClientError as err:
        if err.response["Error"]["Code"] in ("TrimmedDataAccessException",
                                             "ResourceNotFoundException"):
            return None
        raise
    records: list[dict] = []
    empty = 0
    while iterator and empty < MAX_EMPTY_PAGES:
        page = streams.get_records(ShardIterator=iterator)
        iterator = page.get("NextShardIterator")
        if not page["Records"]:
            empty += 1
            continue
        empty = 0
        for record in page["Records"]:
            number = int(record["dynamodb"]["SequenceNumber"])
            if number > end:
                return records
            if number >= start:
                records.append(record)
        if number >= end:
            break
    return records


def describe(failure: Failure, records: list[dict] | None) -> list[str]:
    """Lines telling what failed, when and why, and which items changed."""
    note, batch = failure.note, failure.batch
    context = note.get("requestContext", {})
    error = note.get("responseContext", {}).get("functionError") or "no function error"
    lines = [
        f"{note.get('timestamp', '?')}  {context.get('condition', '?')} after "
        f"{context.get('approximateInvokeCount', '?')} invocations ({error})",
        f"  {batch.get('shardId', '?')}  sequence numbers {batch.get('startSequenceNumber')}"
        f"..{batch.get('endSequenceNumber')}  ({batch.get('batchSize', '?')} records, "
        f"first arrived {batch.get('approximateArrivalOfFirstRecord', '?')})",
    ]
    if records is None:
        lines.append("  the stream no longer holds these records (it keeps them 24 hours)")
        return lines
    for record in records:
        keys = record["dynamodb"].get("Keys", {})
        key = " ".join(f"{name}={next(iter(value.values()))}" for name, value in sorted(keys.items()))
        lines.append(f"    {record['eventName']:<6}  {key}  #{record['dynamodb']['SequenceNumber']}")
    return lines


def delete_failures(sqs, queue_url: str, failures: list[Failure]) -> int:
    """Remove the notes from the queue; returns how many were removed."""
    removed = 0
    for start in range(0, len(failures), 10):
        chunk = failures[start:start + 10]
        result = sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": f.receipt_handle} for i, f in enumerate(chunk)])
        removed += len(result.get("Successful", []))
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make stream-failures",
                                     description=__doc__.split("\n")[0])
    add_account_arguments(parser)
    parser.add_argument("--delete", action="store_true",
                        help="remove the notes printed (after you have dealt with them)")
    parser.add_argument("--limit", type=int, default=MAX_NOTES)
    args = parser.parse_args(argv)

    session = open_session(parser, args)
    try:
        outputs = stack_outputs(session.client("cloudformation"), stack_name(args.stage))
        sqs, streams = session.client("sqs"), session.client("dynamodbstreams")
        queue = outputs["StreamFailureQueueUrl"]
        failures = read_failures(sqs, queue, args.limit)
        for failure in failures:
            print("\n".join(describe(failure, batch_records(streams, failure.batch))))
        if not failures:
            print(f"no failed stream batches recorded for {args.stage}")
        elif args.delete:
            print(f"removed {delete_failures(sqs, queue, failures)} notes from the queue")
    except NoCredentialsError:
        parser.error(NO_CREDENTIALS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
