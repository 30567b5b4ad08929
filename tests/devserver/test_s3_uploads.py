"""The embedded S3 takes a browser's upload (a presigned POST) as S3 does: within the
policy it is stored with its content type, anything else is refused before it is stored,
and a page of the stack's own origin may read the answer (CORS)."""

import io
import tempfile
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import urllib3
from botocore.config import Config

from devserver.embedded_services import EmbeddedServices
from devserver.s3_uploads import CHUNK, SPOOL, Refused, check, read_form

ORIGIN = "http://localhost:8000"
KEY = "streams/m1/uploads/u1/clip.mp4"


@pytest.fixture(scope="module")
def services():
    running = EmbeddedServices("us-east-1", bucket=f"up-{uuid.uuid4().hex[:12]}",
                               origins=(ORIGIN, "http://127.0.0.1:8000"))
    running.start()
    yield running
    running.stop()


def form(services, key=KEY, content_type="video/mp4", most=1000, seconds=600):
    """A form as the app signs it (SigV4, the stack's dummy key)."""
    app = boto3.client("s3", region_name="us-east-1", endpoint_url=services.endpoint,
                       aws_access_key_id="local", aws_secret_access_key="local",  # noqa: S106
                       config=Config(signature_version="s3v4",
                                     s3={"addressing_style": "path"}))
    return app.generate_presigned_post(
        services.bucket, key, Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, most]],
        ExpiresIn=seconds)


def post(upload, data, origin=ORIGIN, **fields):
    body = {**upload["fields"], **fields, "file": ("clip.mp4", data, "video/mp4")}
    return urllib3.PoolManager().request("POST", upload["url"], fields=body,
                                         headers={"Origin": origin} if origin else {})


def stored(services, key=KEY):
    found = services.client("s3").list_objects_v2(Bucket=services.bucket, Prefix=key)
    return [o["Key"] for o in found.get("Contents", ())]


def delete(services, key=KEY):
    services.client("s3").delete_object(Bucket=services.bucket, Key=key)


def test_an_upload_within_its_policy_is_stored_and_the_page_may_read_the_answer(services):
    resp = post(form(services), b"x" * 1000)
    assert resp.status == 204, resp.data
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    head = services.client("s3").head_object(Bucket=services.bucket, Key=KEY)
    assert (head["ContentLength"], head["ContentType"]) == (1000, "video/mp4")
    delete(services)


def test_a_file_over_the_size_range_is_refused_before_it_is_stored(services):
    for data, code in ((b"x" * 1001, "EntityTooLarge"), (b"", "EntityTooSmall")):
        resp = post(form(services), data)
        assert resp.status == 400 and f"<Code>{code}</Code>" in resp.data.decode()
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN  # the page sees why
        assert stored(services) == []


def test_a_large_file_is_stored_whole_and_one_past_its_range_is_refused_and_not_kept(services):
    data = bytes(range(256)) * (3 * SPOOL // 256)  # past what is held in memory
    resp = post(form(services, most=len(data)), data)
    assert resp.status == 204, resp.data
    got = services.client("s3").get_object(Bucket=services.bucket, Key=KEY)["Body"].read()
    assert got == data
    delete(services)
    resp = post(form(services, most=SPOOL), data)
    assert resp.status == 400 and "<Code>EntityTooLarge</Code>" in resp.data.decode()
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert stored(services) == []


def test_a_form_is_read_piece_by_piece_and_a_file_past_its_range_stops_the_copy(services):
    upload, data = form(services, most=1000), b"x" * (20 * CHUNK)
    body, content_type = urllib3.encode_multipart_formdata(
        {**upload["fields"], "file": ("clip.mp4", data, "video/mp4")})
    environ = {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
               "CONTENT_TYPE": content_type}

    def most_1000(fields, size):
        assert "policy" in fields  # every field before the file is read by then
        if size > 1000:
            raise Refused(400, "EntityTooLarge", "too large")

    with tempfile.TemporaryFile() as kept:
        with pytest.raises(Refused):
            read_form(environ, kept, most_1000)
        assert kept.tell() <= len(body) - 18 * CHUNK  # the rest was read and dropped
    assert environ["wsgi.input"].tell() == len(body)  # so the answer can be sent
    environ["wsgi.input"].seek(0)
    with tempfile.TemporaryFile() as kept:
        fields, size = read_form(environ, kept, lambda fields, size: None)
        kept.seek(0)
        assert (size, kept.read()) == (len(data), body)
    assert fields["key"] == KEY and fields["content-type"] == "video/mp4"


@pytest.mark.parametrize("change, code", [
    ({"Content-Type": "text/html"}, "AccessDenied"),
    ({"key": "streams/m1/uploads/u1/other.mp4"}, "AccessDenied"),
    ({"x-amz-signature": "0" * 64}, "SignatureDoesNotMatch"),
    ({"acl": "public-read"}, "AccessDenied"),
])
def test_a_form_that_breaks_its_policy_is_refused(services, change, code):
    resp = post(form(services), b"x" * 10, **change)
    assert resp.status == 403 and f"<Code>{code}</Code>" in resp.data.decode(), resp.data
    assert stored(services, "streams/m1/") == []


def test_an_expired_form_is_refused(services):
    upload = form(services)
    fields = {k.lower(): v for k, v in upload["fields"].items()}
    later = datetime.now(UTC) + timedelta(hours=2)
    with pytest.raises(Refused) as refused:
        check(fields, 10, services.bucket, "local", now=later)
    assert (refused.value.status, refused.value.message) == (
        403, "Invalid according to Policy: Policy expired.")
    check(fields, 10, services.bucket, "local")  # the same form now: accepted


def test_another_origin_gets_no_cors_headers_and_other_requests_pass_untouched(services):
    resp = post(form(services), b"x" * 10, origin="http://evil.example")
    assert resp.status == 204 and "Access-Control-Allow-Origin" not in resp.headers
    delete(services)
    preflight = urllib3.PoolManager().request(
        "OPTIONS", f"{services.endpoint}/{services.bucket}",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    s3 = services.client("s3")
    s3.put_object(Bucket=services.bucket, Key="recordings/x/y.mp3", Body=b"ID3")
    assert s3.get_object(Bucket=services.bucket, Key="recordings/x/y.mp3")["Body"].read() == b"ID3"
