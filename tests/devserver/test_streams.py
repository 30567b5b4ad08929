"""The local stack's stream poller behaves like a Lambda event source mapping: in order per
shard, from the latest position, bounded retries, parents before children, and it outlives
DynamoDB errors. A scripted Streams API stands in for DynamoDB so each case is exact."""

import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from botocore.exceptions import EndpointConnectionError

from devserver import streams
from devserver.lambdas import Entry

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/parley/stream/2026-11-23T00:00:00.000"
WAIT = 10  # ceiling for a background thread to catch up; not a timing assertion


class FakeStreams:
    """A DynamoDB Streams API with shards we append to and close by hand."""

    def __init__(self):
        self.shards: dict[str, dict] = {}
        self.failures = 0  # the next N get_records calls fail like a dropped connection
        self.seq = 100

    def add_shard(self, sid, parent=None):
        self.shards[sid] = {"parent": parent, "records": [], "closed": False}

    def write(self, sid, name="INSERT", kind="Ticket"):
        self.seq += 1
        self.shards[sid]["records"].append({
            "eventID": f"e{self.seq}", "eventName": name, "eventVersion": "1.0",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": datetime(2026, 11, 23, tzinfo=UTC),
                         "Keys": {"pk": {"S": "M#x"}, "sk": {"S": f"T#{self.seq}"}},
                         "NewImage": {"type": {"S": kind}, "blob": {"B": b"\x00\x01"}},
                         "SequenceNumber": str(self.seq), "SizeBytes": 10,
                         "StreamViewType": "NEW_AND_OLD_IMAGES"}})
        return f"e{self.seq}"

    def describe_stream(self, StreamArn, ExclusiveStartShardId=None):
        shards = []
        for sid, shard in self.shards.items():
            rng = {"StartingSequenceNumber": "1"}
            if shard["closed"]:
                rng["EndingSequenceNumber"] = str(self.seq)
            entry = {"ShardId": sid, "SequenceNumberRange": rng}
            if shard["parent"]:
                entry["ParentShardId"] = shard["parent"]
            shards.append(entry)
        return {"StreamDescription": {"StreamArn": StreamArn, "Shards": shards}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        records = self.shards[ShardId]["records"]
        if ShardIteratorType == "LATEST":
            pos = len(records)
        elif ShardIteratorType == "TRIM_HORIZON":
            pos = 0
        else:
            pos = next(i + 1 for i, r in enumerate(records)
                       if r["dynamodb"]["SequenceNumber"] == SequenceNumber)
        return {"ShardIterator": f"{ShardId}@{pos}"}

    def get_records(self, ShardIterator, Limit):
        if self.failures:
            self.failures -= 1
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        sid, pos = ShardIterator.split("@")
        shard, pos = self.shards[sid], int(pos)
        batch = shard["records"][pos:pos + Limit]
        end = pos + len(batch)
        done = shard["closed"] and end == len(shard["records"])
        return {"Records": [dict(r) for r in batch],
                "NextShardIterator": None if done else f"{sid}@{end}"}


class Recorder:
    """The stream handler: records each batch's event ids; can be told to fail."""

    def __init__(self, fail_on=()):
        self.batches: list[list[str]] = []
        self.calls: list[list[str]] = []
        self.fail_on = set(fail_on)
        self.lock = threading.Lock()

    def __call__(self, event, context):
        ids = [r["eventID"] for r in event["Records"]]
        with self.lock:
            self.calls.append(ids)
        if self.fail_on & set(ids):
            raise RuntimeError("handler bug")
        with self.lock:
            self.batches.append(ids)
            self.last_event = event

    def delivered(self) -> list[str]:
        with self.lock:
            return [i for batch in self.batches for i in batch]


@pytest.fixture
def setup(monkeypatch):
    monkeypatch.setattr(streams, "DISCOVER_INTERVAL", 0.0)
    fake, waker, pollers = FakeStreams(), streams.Waker(), []
    fake.add_shard("shard-1")

    def start(handler, batch_size=100):
        config = SimpleNamespace(batch_size=batch_size, starting_position="LATEST")
        poller = streams.StreamPoller(Entry("on_table_change", handler, config), fake, ARN,
                                      "eu-west-1", waker.event())
        poller.start()
        pollers.append(poller)
        return poller

    yield fake, waker, start
    for poller in pollers:
        poller.stop()


def eventually(check):
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "the poller did not catch up"
        time.sleep(0.01)


def test_delivers_only_what_was_written_after_start_in_order(setup):
    fake, waker, start = setup
    fake.write("shard-1")  # history: before the stack started
    handler = Recorder()
    start(handler)
    ids = [fake.write("shard-1") for _ in range(5)]
    waker()
    eventually(lambda: handler.delivered() == ids)


def test_records_arrive_in_lambdas_event_shape(setup):
    fake, waker, start = setup
    handler = Recorder()
    start(handler)
    fake.write("shard-1", "MODIFY", "Participant")
    waker()
    eventually(lambda: handler.delivered())
    record = handler.last_event["Records"][0]
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventVersion"] == "1.1"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventSourceARN"] == ARN
    assert record["eventName"] == "MODIFY"
    change = record["dynamodb"]
    assert change["ApproximateCreationDateTime"] == int(datetime(2026, 11, 23, tzinfo=UTC)
                                                        .timestamp())
    assert change["NewImage"]["blob"] == {"B": "AAE="}  # base64 text, as in Lambda's JSON
    assert set(change) >= {"Keys", "NewImage", "SequenceNumber", "SizeBytes", "StreamViewType"}


def test_a_failing_batch_is_retried_a_bounded_number_of_times_then_skipped(setup):
    fake, waker, start = setup
    handler = Recorder(fail_on={"e101"})
    start(handler, batch_size=1)
    bad = fake.write("shard-1")
    assert bad == "e101"
    good = [fake.write("shard-1"), fake.write("shard-1")]
    waker()
    eventually(lambda: handler.delivered() == good)
    assert handler.calls.count([bad]) == 1 + streams.MAX_RETRIES


def test_a_child_shard_is_read_after_its_parent_is_drained(setup):
    fake, waker, start = setup
    handler = Recorder()
    start(handler)
    in_parent = [fake.write("shard-1"), fake.write("shard-1")]
    fake.add_shard("shard-2", parent="shard-1")
    in_child = [fake.write("shard-2")]
    fake.shards["shard-1"]["closed"] = True
    waker()
    eventually(lambda: handler.delivered() == in_parent + in_child)


def test_keeps_going_through_dynamodb_errors(setup):
    fake, waker, start = setup
    handler = Recorder()
    poller = start(handler)
    fake.failures = 3
    ids = [fake.write("shard-1"), fake.write("shard-1")]
    waker()
    eventually(lambda: handler.delivered() == ids)
    eventually(lambda: poller.status["healthy"])
