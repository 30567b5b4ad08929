"""The embedded DynamoDB's items in a snapshot file and back, through a real EmbeddedDynamoDB:
every attribute kind survives, the file is written atomically for the owner only, only when
the table changed, and a damaged file stops the stack with a message instead of being lost."""

import json
import stat
import subprocess
import sys

import pytest

from devserver import snapshots
from devserver.snapshots import SnapshotError, Snapshots
from harness.stack import ROOT, free_port, stack_env

from .conftest import client_of, make_table

REGION = "us-east-1"


@pytest.fixture(scope="module")
def ddb(server):
    return client_of(server)


EVERY_KIND = {
    "pk": {"S": "M#kinds"}, "sk": {"S": "P#1"},
    "text": {"S": "Ada ✓ 你好 \"quoted\"\n"}, "number": {"N": "-12.5"},
    "yes": {"BOOL": True}, "nothing": {"NULL": True},
    "binary": {"B": b"\x00\xff\x10raw"},
    "strings": {"SS": ["conn-a", "conn-b"]}, "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x00", b"\xfe\xff"]},
    "nested": {"M": {"list": {"L": [{"S": "x"}, {"N": "3"}, {"BOOL": False},
                                    {"M": {"deep": {"B": b"\x01\x02"}, "set": {"SS": ["z"]}}}]},
                     "empty": {"M": {}}}},
}


def normalized(items):
    """Items comparable whatever order the sets and the scan come back in."""
    def value(v):
        ((kind, inner),) = v.items()
        if kind in ("SS", "NS", "BS"):
            return {kind: sorted(inner)}
        if kind == "M":
            return {"M": {k: value(x) for k, x in inner.items()}}
        if kind == "L":
            return {"L": [value(x) for x in inner]}
        return v
    return sorted(({k: value(v) for k, v in item.items()} for item in items),
                  key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def test_a_snapshot_restores_every_item_and_attribute_kind(server, ddb, tmp_path):
    make_table(ddb, "snap-source")
    make_table(ddb, "snap-copy")
    ddb.put_item(TableName="snap-source", Item=EVERY_KIND)
    for n in range(60):  # more than two BatchWriteItem calls' worth
        ddb.put_item(TableName="snap-source", Item={"pk": {"S": f"M#{n % 7}"}, "sk": {"S": f"T#{n}"},
                                                    "n": {"N": str(n)}})
    path = tmp_path / "snapshot.json"
    source = Snapshots(path, server, "snap-source", REGION)
    assert source.load() is None  # no file yet
    assert source.restore() == 0
    ddb.put_item(TableName="snap-source", Item={"pk": {"S": "M#late"}, "sk": {"S": "META"}})
    assert source.save() is True

    copy = Snapshots(path, server, "snap-copy", REGION)
    assert copy.load() == 62
    assert copy.restore() == 62
    original = snapshots.scan(ddb, "snap-source")
    assert normalized(snapshots.scan(ddb, "snap-copy")) == normalized(original)
    restored = ddb.get_item(TableName="snap-copy", Key={"pk": {"S": "M#kinds"}, "sk": {"S": "P#1"}},
                            ConsistentRead=True)["Item"]
    assert restored["binary"] == {"B": b"\x00\xff\x10raw"}
    assert restored["nested"]["M"]["list"]["L"][3]["M"]["deep"] == {"B": b"\x01\x02"}


def test_the_file_is_the_owners_only_and_written_only_after_a_change(server, ddb, tmp_path):
    make_table(ddb, "snap-changes")
    path = tmp_path / "snapshot.json"
    kept = Snapshots(path, server, "snap-changes", REGION)
    assert kept.save() is False  # nothing restored yet: never overwrite a snapshot
    kept.load()
    kept.restore()
    assert kept.save() is False and not kept.pending and not path.exists()

    ddb.put_item(TableName="snap-changes", Item={"pk": {"S": "M#1"}, "sk": {"S": "META"}})
    assert kept.pending
    assert kept.save() is True
    assert not kept.pending and kept.save() is False
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.json"]  # no temporary file left
    doc = json.loads(path.read_text())
    assert doc["format"] == snapshots.FORMAT and doc["table"] == "snap-changes"
    assert doc["items"] == [{"pk": {"S": "M#1"}, "sk": {"S": "META"}}]
    assert kept.status["items"] == 1 and kept.status["savedAt"]

    before = path.stat().st_mtime_ns
    ddb.delete_item(TableName="snap-changes", Key={"pk": {"S": "M#1"}, "sk": {"S": "META"}})
    assert kept.save() is True
    assert json.loads(path.read_text())["items"] == [] and path.stat().st_mtime_ns >= before


def test_a_scan_follows_every_page():
    class Pages:
        def __init__(self):
            self.calls = []

        def scan(self, **request):
            self.calls.append(request)
            if "ExclusiveStartKey" not in request:
                return {"Items": [{"n": {"N": "1"}}], "LastEvaluatedKey": {"k": {"S": "1"}}}
            return {"Items": [{"n": {"N": "2"}}]}

    pages = Pages()
    assert snapshots.scan(pages, "t") == [{"n": {"N": "1"}}, {"n": {"N": "2"}}]
    assert all(call["ConsistentRead"] for call in pages.calls)


def test_unprocessed_items_are_sent_again():
    class Throttled:
        def __init__(self):
            self.batches = []

        def batch_write_item(self, RequestItems):  # noqa: N803 (boto3's name)
            (requests,) = RequestItems.values()
            self.batches.append(len(requests))
            if len(self.batches) == 1:
                return {"UnprocessedItems": {"t": requests[20:]}}
            return {"UnprocessedItems": {}}

    client = Throttled()
    items = [{"pk": {"S": str(n)}, "sk": {"S": "x"}} for n in range(30)]
    assert snapshots.restore(client, "t", items) == 30
    assert client.batches == [25, 5, 5]


@pytest.mark.parametrize("content, why", [
    ("{not json", "Expecting property name"),
    ('{"format": "something else", "items": []}', "not a parley-dynamodb-snapshot file"),
    ('{"format": "parley-dynamodb-snapshot", "version": 1, "items": [{"pk": {"S": "x"}}]}',
     "not an item with a pk and an sk"),
    ('{"format": "parley-dynamodb-snapshot", "version": 1, "items": '
     '[{"pk": {"S": "x"}, "sk": {"S": "y"}, "b": {"B": "not base64!"}}]}', "damaged"),
])
def test_a_damaged_snapshot_is_refused_naming_the_file_and_how_to_start_fresh(tmp_path, content, why):
    path = tmp_path / "dynamodb-parley.json"
    path.write_text(content)
    with pytest.raises(SnapshotError) as refused:
        snapshots.read(path)
    message = str(refused.value)
    assert str(path) in message and why in message
    assert f"mv {path} {path}.broken" in message and "PARLEY_EPHEMERAL=1" in message


def test_make_run_stops_on_a_damaged_snapshot_and_leaves_it_as_it_was(tmp_path):
    path = tmp_path / "dynamodb-parley.json"
    path.write_text('{"format": "parley-dynamodb-snapshot", "version": 1, "items": [')
    result = subprocess.run([sys.executable, "-m", "devserver"], cwd=ROOT, capture_output=True,
                            env=stack_env(free_port(), PARLEY_DATA_DIR=str(tmp_path)),
                            text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"devserver: the snapshot {path} is damaged"), \
        result.stderr
    assert path.read_text().endswith('"items": [')
