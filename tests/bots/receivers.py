"""What a recording is delivered to in the tests: S3 (moto, in-process) and a callback
receiver (http.server on 127.0.0.1)."""

import contextlib
import http.server
import json
import threading

import boto3
from moto import mock_aws


@contextlib.contextmanager
def s3_bucket(monkeypatch, bucket: str):
    """An S3 client of moto's in-process S3 with `bucket` created."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        yield client


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers with the next of
    `statuses` (then 200)."""

    def __init__(self, statuses=(), headers=None):
        self.requests: list[tuple[dict, dict]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), json.loads(body)))
                status = statuses[len(receiver.requests) - 1] \
                    if len(receiver.requests) <= len(statuses) else 200
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/recorded"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
