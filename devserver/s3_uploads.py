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
"""

import base64
import hashlib
import hmac
import io
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from werkzeug.formparser import parse_form_data

log = logging.getLogger("devserver")

# Fields the policy need not name (AWS's documentation of POST policies).
_UNCHECKED = {"policy", "x-amz-signature", "file"}
CorsRules = Callable[[str], list]  # bucket → its CORS rules: [(origins, methods, exposed)]


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
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        cors = self._cors(bucket, environ.get("HTTP_ORIGIN"))
        try:
            form, size = self._read(environ, body)
            if "policy" in form:
                check(form, size, bucket, self.secret)
        except Refused as refused:
            log.info("S3 refused an upload to %s: %s %s", bucket, refused.code, refused.message)
            start_response(f"{refused.status} {'Forbidden' if refused.status == 403 else 'Bad Request'}",
                           [("Content-Type", "application/xml"), *cors])
            return [_error(refused)]
        environ["wsgi.input"] = io.BytesIO(body)

        def with_cors(status, headers, exc_info=None):  # the bucket's, not moto's own
            kept = [(k, v) for k, v in headers
                    if not k.lower().startswith("access-control-") and k.lower() != "vary"]
            return start_response(status, [*kept, *cors], exc_info)

        return self.app(environ, with_cors)

    @staticmethod
    def _read(environ, body: bytes) -> tuple[dict, int | None]:
        copy = {**environ, "wsgi.input": io.BytesIO(body)}
        _, fields, files = parse_form_data(copy)
        form = {name.lower(): value for name, value in fields.items()}
        upload = files.get("file")
        if upload is None:
            return form, None
        upload.stream.seek(0, io.SEEK_END)
        return form, upload.stream.tell()

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
