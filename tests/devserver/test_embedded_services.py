"""The local stack's embedded S3 and SES: mail from the verified sender is kept in the
outbox, and the bucket's objects survive a restart through the data directory."""

import uuid

import pytest

from devserver.embedded_services import SENDER, EmbeddedServices, objects_folder


@pytest.fixture
def services():
    # moto's backends live as long as the process: a bucket of this test's own
    running = EmbeddedServices("us-east-1", bucket=f"kept-{uuid.uuid4().hex[:12]}")
    running.start()
    yield running
    running.stop()


def test_mail_from_the_stacks_sender_is_listed_and_nothing_else_is_accepted(services):
    ses = services.client("ses")
    ses.send_email(Source=SENDER, Destination={"ToAddresses": ["ada@example.com"]},
                   Message={"Subject": {"Data": "Poll results: Kept"},
                            "Body": {"Text": {"Data": "Tea? (2 voted)"}}})
    sent = [m for m in services.outbox() if m["subject"] == "Poll results: Kept"]
    assert [(m["to"], m["body"]) for m in sent] == [(["ada@example.com"], "Tea? (2 voted)")]
    with pytest.raises(ses.exceptions.MessageRejected):  # unverified, as in SES's sandbox
        ses.send_email(Source="someone@elsewhere.example",
                       Destination={"ToAddresses": ["ada@example.com"]},
                       Message={"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}})


def test_objects_are_kept_in_the_data_directory_and_put_back(services, tmp_path):
    s3 = services.client("s3")
    s3.put_object(Bucket=services.bucket, Key="recordings/m1/r1/r1.mp3", Body=b"ID3 audio")
    s3.put_object(Bucket=services.bucket, Key="recordings/m1/r2/r2.mp4", Body=b"video" * 1000)
    folder = objects_folder(tmp_path)
    assert services.keep_objects(folder) == 2
    assert services.keep_objects(folder) == 0  # already there with the same size
    assert (folder / "recordings/m1/r1/r1.mp3").read_bytes() == b"ID3 audio"

    fresh = EmbeddedServices("us-east-1", bucket=f"restored-{uuid.uuid4().hex[:12]}")
    fresh.start()
    try:
        assert fresh.restore_objects(folder) == 2
        body = fresh.client("s3").get_object(Bucket=fresh.bucket,
                                             Key="recordings/m1/r2/r2.mp4")["Body"].read()
        assert body == b"video" * 1000
    finally:
        fresh.stop()


def test_a_key_that_would_leave_the_folder_is_not_written(services, tmp_path):
    services.client("s3").put_object(Bucket=services.bucket, Key="../../escape", Body=b"x")
    folder = objects_folder(tmp_path / "data")
    assert services.keep_objects(folder) == 0
    assert not (tmp_path / "escape").exists()
