"""What the recording and streaming unit tests share: a bot joining with its invitation,
and the meeting's items as the table holds them."""

from chalicelib.models import META_SK, Item, Meeting, meeting_pk


def join_bot(client, mid, invite, name):
    resp = client.call("POST", f"/meetings/{mid}/join", {"name": name, "botToken": invite})
    assert resp.status == 200, resp.json
    return resp.json


def partition(mid):
    return [item.serialize() for item in Item.query(meeting_pk(mid), consistent_read=True)]


def meeting_item(mid):
    return Meeting.get(meeting_pk(mid), META_SK, consistent_read=True)
