"""What a recording is delivered to in the tests: S3 (moto's server on a loopback port) and
a callback receiver (http.server on 127.0.0.1)."""

import contextlib
import http.server
import json
import threading

from moto.server import ThreadedMotoServer

from bots.recorder.storage import s3_client


@contextlib.contextmanager
def s3_bucket(monkeypatch, bucket: str):
    """An S3 client (the recorder's own, with an endpoint) of a moto S3 server with `bucket`
    created, and removed again with what it holds. A server, not moto's in-process
    mock_aws, whose exit would reset the embedded DynamoDB other tests of the same run
    use; its buckets live in this process's moto state, hence the removal."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = "http://{}:{}".format(*server.get_host_and_port())
    try:
        client = s3_client(endpoint, "us-east-1")
        client.create_bucket(Bucket=bucket)
        yield client
    finally:
        cleaner = s3_client(endpoint, "us-east-1")  # without the hooks a test registered
        for item in cleaner.list_objects_v2(Bucket=bucket).get("Contents", []):
            cleaner.delete_object(Bucket=bucket, Key=item["Key"])
        cleaner.delete_bucket(Bucket=bucket)
        server.stop()


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
