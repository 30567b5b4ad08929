"""What S3 checks of a browser's upload (a presigned POST) that moto leaves out, in front
of the embedded S3, so the local stack refuses what AWS would refuse, before it is stored.

moto stores whatever a form POST carries. S3 first checks the form against its policy:
the signature (SigV4 over the base64 policy), the expiry, every condition (exact values,
`starts-with`, `content-length-range` on the file), and that every field of the form is
covered by a condition. A refusal is S3's XML error: 403 AccessDenied or
SignatureDoesNotMatch, 400 EntityTooLarge, EntityTooSmall or InvalidArgument. S3 also
answers a form POST with the bucket's CORS headers (a page on another origin reads the
answer only with them); moto's server answers every origin instead, so its headers on a
form POST are replaced with the bucket's.

The form is read a chunk at a time, never whole in memory: the body is kept for moto in a
file that spills to disk past SPOOL bytes, and the file's bytes are counted as they pass,
so a file past its policy's size range is refused as soon as it is (the rest of the
request is read and dropped, so the page still gets the answer), before it is stored.
"""

import base64
import hashlib
import hmac
import json
import logging
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from xml.sax.saxutils import escape

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Epilogue, Field, File, MultipartDecoder, NeedData
from werkzeug.wsgi import ClosingIterator

log = logging.getLogger("devserver")

# Fields the policy need not name (AWS's documentation of POST policies).
_UNCHECKED = {"policy", "x-amz-signature", "file"}
CorsRules = Callable[[str], list]  # bucket → its CORS rules: [(origins, methods, exposed)]
CHUNK = 64 * 1024  # bytes read from the request at a time
SPOOL = 1024 * 1024  # bytes of a body held in memory before it goes to a temporary file


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _signing_key(secret: str, date: str, region: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _check_signature(form: dict, secret: str) -> None:
    credential = form.get("x-amz-credential", "").split("/")
    if form.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or len(credential) != 5:
        raise Refused(400, "InvalidArgument", "POST requires a SigV4 credential and algorithm")
    _, date, region, service, _ = credential
    expected = hmac.new(_signing_key(secret, date, region), form["policy"].encode(),
                        hashlib.sha256).hexdigest()
    if service != "s3" or not hmac.compare_digest(expected, form.get("x-amz-signature", "")):
        raise Refused(403, "SignatureDoesNotMatch", "The request signature we calculated "
                      "does not match the signature you provided.")


def _policy(form: dict, now: datetime) -> list:
    try:
        policy = json.loads(base64.b64decode(form["policy"]))
        expiry = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = policy["conditions"]
    except (ValueError, KeyError, TypeError) as err:
        raise Refused(400, "InvalidPolicyDocument", f"Invalid Policy: {err}") from err
    if now >= expiry:
        raise Refused(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    return conditions


def _condition_failed(condition) -> Refused:
    return Refused(403, "AccessDenied", "Invalid according to Policy: Policy Condition "
                   f"failed: {json.dumps(condition)}")


def check(form: dict, size: int | None, bucket: str, secret: str | None,
          now: datetime | None = None) -> None:
    """Raise Refused unless S3 would store this form's file (`size` bytes; None: no file):
    `form` holds its fields, names in lower case; `secret` None: any signature passes."""
    if size is None:
        raise Refused(400, "InvalidArgument", "POST requires exactly one file upload per "
                      "request.")
    if secret is not None:
        _check_signature(form, secret)
    values = {**form, "bucket": bucket}
    covered = set()
    for condition in _policy(form, now or datetime.now(UTC)):
        if isinstance(condition, dict) and len(condition) == 1:
            (name, expected), = condition.items()
            name = name.lower()
            if values.get(name) != expected:
                raise _condition_failed(condition)
            covered.add(name)
        elif isinstance(condition, list) and len(condition) == 3 \
                and condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if size > high:
                raise Refused(400, "EntityTooLarge", "Your proposed upload exceeds the "
                              "maximum allowed size")
            if size < low:
                raise Refused(400, "EntityTooSmall", "Your proposed upload is smaller than "
                              "the minimum allowed size")
        elif isinstance(condition, list) and len(condition) == 3 \
                and condition[0] in ("eq", "starts-with") and str(condition[1]).startswith("$"):
            name = condition[1][1:].lower()
            value = values.get(name, "")
            ok = value == condition[2] if condition[0] == "eq" else value.startswith(condition[2])
            if not ok:
                raise _condition_failed(condition)
            covered.add(name)
        else:
            raise Refused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition: "
                          f"{json.dumps(condition)}")
    extra = sorted(n for n in form if n not in covered and n not in _UNCHECKED
                   and not n.startswith("x-ignore-") and n != "bucket")
    if extra:
        raise Refused(403, "AccessDenied", "Invalid according to Policy: Extra input fields: "
                      + ", ".join(extra))


@lru_cache(maxsize=64)
def _most(policy: str) -> float:
    """The largest file a policy allows (infinity when it says none or cannot be read:
    `check` then says why)."""
    try:
        conditions = json.loads(base64.b64decode(policy))["conditions"]
        return min((int(c[2]) for c in conditions
                    if isinstance(c, list) and len(c) == 3 and c[0] == "content-length-range"),
                   default=float("inf"))
    except (ValueError, KeyError, TypeError, IndexError):
        return float("inf")


class _Form:
    """A multipart form as it comes in: its fields (names in lower case) and the size of
    its `file` so far (None: no file yet); `check_file(fields, size)` after each piece of
    the file."""

    def __init__(self, boundary: bytes, check_file: Callable[[dict, int], None]):
        self.decoder = MultipartDecoder(boundary)
        self.check_file = check_file
        self.fields: dict[str, str] = {}
        self.size: int | None = None
        self._part, self._value = None, bytearray()

    def feed(self, chunk: bytes) -> None:
        self.decoder.receive_data(chunk or None)  # None: the end of the body
        try:
            event = self.decoder.next_event()
            while not isinstance(event, NeedData | Epilogue):
                self._take(event)
                event = self.decoder.next_event()
        except ValueError as err:  # not a multipart body
            raise Refused(400, "InvalidArgument", f"The form cannot be read: {err}") from err

    def _take(self, event) -> None:
        if isinstance(event, Field | File):
            self._part, self._value = event, bytearray()
            if isinstance(event, File) and event.name.lower() == "file":
                self.size = 0
        elif isinstance(self._part, File) and self._part.name.lower() == "file":
            self.size += len(event.data)
            self.check_file(self.fields, self.size)
        elif isinstance(self._part, Field):
            self._value += event.data
            if not event.more_data:
                self.fields[self._part.name.lower()] = self._value.decode(errors="replace")


def read_form(environ, body, check_file: Callable[[dict, int], None]) -> tuple[dict, int | None]:
    """Read a multipart form POST from `environ` a chunk at a time, copying it to the file
    `body`: its fields (names in lower case) and the size of its `file` (None: no file).
    `check_file(fields so far, bytes of the file so far)` is called as the file comes in;
    once it raises Refused, the rest of the request is read and dropped, never kept, and
    the refusal raised."""
    stream, left = environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0)
    _, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
    if not options.get("boundary"):
        raise Refused(400, "InvalidArgument", "The form has no multipart boundary.")
    form, refused = _Form(options["boundary"].encode(), check_file), None
    while True:
        chunk = stream.read(min(CHUNK, left)) if left > 0 else b""
        left -= len(chunk)
        if refused is None:
            body.write(chunk)
            try:
                form.feed(chunk)
            except Refused as err:
                refused = err
        if not chunk:
            break
    if refused is not None:
        raise refused
    return form.fields, form.size


def _error(refused: Refused) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{refused.code}</Code>'
            f"<Message>{escape(refused.message)}</Message></Error>").encode()


class PostPolicy:
    """WSGI middleware around moto's app: a form POST to a bucket is checked (`check`)
    and answered with the bucket's CORS headers; anything else passes untouched.
    `secret`: the secret key the app signs with (the stack's dummy one; None: unknown,
    signatures are not checked)."""

    def __init__(self, app, secret: str | None, cors_rules: CorsRules):
        self.app, self.secret, self.cors_rules = app, secret, cors_rules

    def __call__(self, environ, start_response):
        bucket = environ.get("PATH_INFO", "").strip("/")
        if (environ.get("REQUEST_METHOD") != "POST" or not bucket or "/" in bucket
                or environ.get("QUERY_STRING")
                or not environ.get("CONTENT_TYPE", "").startswith("multipart/form-data")):
            return self.app(environ, start_response)
        cors = self._cors(bucket, environ.get("HTTP_ORIGIN"))
        body = tempfile.SpooledTemporaryFile(SPOOL)  # noqa: SIM115 (closed after the answer)
        try:
            form, size = read_form(environ, body, lambda form, size: self._check(form, size, bucket))
            if "policy" in form:
                check(form, size, bucket, self.secret)
        except Refused as refused:
            body.close()
            log.info("S3 refused an upload to %s: %s %s", bucket, refused.code, refused.message)
            start_response(f"{refused.status} {'Forbidden' if refused.status == 403 else 'Bad Request'}",
                           [("Content-Type", "application/xml"), *cors])
            return [_error(refused)]
        body.seek(0)
        environ["wsgi.input"] = body

        def with_cors(status, headers, exc_info=None):  # the bucket's, not moto's own
            kept = [(k, v) for k, v in headers
                    if not k.lower().startswith("access-control-") and k.lower() != "vary"]
            return start_response(status, [*kept, *cors], exc_info)

        return ClosingIterator(self.app(environ, with_cors), body.close)

    def _check(self, form: dict, size: int, bucket: str) -> None:
        """Refuse a file already past its policy's size range (with S3's first reason)."""
        if "policy" in form and size > _most(form["policy"]):
            check(form, size, bucket, self.secret)

    def _cors(self, bucket: str, origin: str | None) -> list[tuple[str, str]]:
        """The headers S3 adds for a POST from `origin`: of the first matching rule."""
        if not origin:
            return []
        for origins, methods, exposed in self.cors_rules(bucket):
            if "POST" in methods and _matches(origin, origins):
                headers = [("Access-Control-Allow-Origin", origin),
                           ("Access-Control-Allow-Methods", ", ".join(methods)),
                           ("Vary", "Origin")]
                if exposed:
                    headers.append(("Access-Control-Expose-Headers", ", ".join(exposed)))
                return headers
        return []


def _matches(origin: str, allowed: Iterable[str]) -> bool:
    for pattern in allowed:
        if pattern == "*" or pattern == origin:
            return True
        if "*" in pattern:
            head, _, tail = pattern.partition("*")
            if origin.startswith(head) and origin.endswith(tail):
                return True
    return False
