"""Cost: billable operations per join and per meeting-hour, priced in USD.

Flows run through the real app in-process (REST routes via chalice.test, WebSocket
handlers with Lambda-shaped events, the push handler on the table's real stream), and
every DynamoDB call is counted by bench.ops.OpCounter.
"""

import json
import os
import statistics

from bench.ops import OpCounter

# Public AWS prices, us-east-1, on-demand, as listed in November 2026.
PRICES = {
    "rest_request": 3.50 / 1e6,          # API Gateway REST API, first 333 M/month
    "ws_message": 1.00 / 1e6,            # API Gateway WebSocket, per 32 KB message
    "ws_connection_minute": 0.25 / 1e6,  # API Gateway WebSocket connection minutes
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,    # x86
    "wru": 0.625 / 1e6,                  # DynamoDB on-demand write request unit
    "rru": 0.125 / 1e6,                  # DynamoDB on-demand read request unit
}
LAMBDA_GB = 0.25          # 256 MB functions
LAMBDA_SECONDS = 0.040    # assumed mean billed duration per invocation
TWILIO_PER_MINUTE = 0.004  # Twilio Video group rooms, USD per participant-minute (published list price)
PING_EVERY_MIN = 5
TURN_NOTE = ("TURN relay, separately: a relayed 720p stream at ~1.5 Mbit/s moves ~0.68 GB an "
             "hour; at 0.09 USD/GB of EC2 egress (a coturn host) that is ~0.06 USD per relayed "
             "stream-hour, ~1 USD per 1,000 relayed stream-minutes, paid only for streams whose "
             "networks need a relay.")
HOURLY_ACTIVITY = {"patch": 6, "chat": 10}  # per participant-hour, assumed typical use
TICKETS_PER_PEER = {"description": 1, "candidates": 2}  # each direction


class CountingGateway:
    def __init__(self):
        self.frames = 0

    def configure_from_api_id(self, *_):
        pass

    def send(self, connection_id, message):
        assert len(message) < 32 * 1024
        self.frames += 1


class Meter:
    """Runs flows and tallies REST calls, Lambda invocations, WS frames and DynamoDB units."""

    def __init__(self, parley):
        from chalice.test import Client

        from chalicelib import models
        from chalicelib.config import load
        from harness.stream_reader import StreamReader

        self.parley = parley
        self.client = Client(parley.app, project_dir=os.path.dirname(__file__))
        self.ops = OpCounter()
        self.ops.attach(models.connection().client)
        self.stream = StreamReader(os.environ["PARLEY_DYNAMODB_ENDPOINT"])
        self.settings = load()
        # the REST handler's fast path sends tickets through the app's own WebSocket API
        self.gateway = parley.app.websocket_api = CountingGateway()
        self.reset()

    def reset(self):
        self.stream.records()
        self.ops.reset()
        self.gateway.frames = 0
        self.rest = self.lambdas = self.records = 0

    def call(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        resp = getattr(self.client.http, method.lower())(
            path, headers=headers, body=json.dumps(body) if body is not None else None)
        self.rest += 1
        self.lambdas += 1
        return json.loads(resp.body) if resp.body else None

    def connect(self, token, cid):
        event = {"requestContext": {"routeKey": "$connect", "eventType": "CONNECT",
                                    "connectionId": cid, "apiId": "bench", "stage": "ws",
                                    "domainName": "localhost"},
                 "queryStringParameters": {"token": token}, "isBase64Encoded": False}
        self.parley.ws_connect(event, None)
        self.lambdas += 1

    def push(self):
        from chalicelib import push

        records = self.stream.records()
        if records:
            push.handle_stream({"Records": records}, push.Sender(self.gateway, self.settings))
        self.records += len(records)
        self.lambdas += len(records)  # upper bound: one invocation per record

    def totals(self) -> dict:
        snap = self.ops.snapshot()
        return {"rest": self.rest, "lambdas": self.lambdas, "ws_frames": self.gateway.frames,
                "stream_records": self.records, "wru": snap["wru"], "rru": snap["rru"],
                "dynamodb_calls": sum(snap["calls"].values())}


SDP = {"type": "offer", "sdp": "v=0\r\n" + "a=candidate-and-codec-lines\r\n" * 180}
CANDIDATES = [{"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
               "sdpMid": "0", "sdpMLineIndex": 0}] * 3


def _negotiate(meter, mid, a, b):
    """What a pair of browsers sends to connect: offer, answer, batched candidates."""
    for sender, receiver in ((a, b), (b, a)):
        kind_data = [("description", SDP)] + [("candidates", CANDIDATES)] * \
            TICKETS_PER_PEER["candidates"]
        for kind, data in kind_data:
            meter.call("POST", f"/meetings/{mid}/tickets",
                       {"to": receiver["participant"]["id"], "kind": kind, "data": data},
                       token=sender["token"])


def join_costs(meter, k: int) -> dict:
    """The k-th person joining a meeting of k-1 connected people."""
    mid = meter.call("POST", "/meetings", {"name": f"k{k}", "maxParticipants": 8})["meeting"]["id"]
    people = []
    for i in range(k - 1):
        person = meter.call("POST", f"/meetings/{mid}/join", {"name": f"p{i}"})
        meter.connect(person["token"], f"c-{mid}-{i}")
        people.append(person)
    meter.push()
    meter.reset()
    meter.call("GET", f"/meetings/{mid}")
    newcomer = meter.call("POST", f"/meetings/{mid}/join", {"name": "new"})
    meter.connect(newcomer["token"], f"c-{mid}-new")
    meter.call("GET", f"/meetings/{mid}/tickets", token=newcomer["token"])
    for peer in people:
        _negotiate(meter, mid, newcomer, peer)
    meter.push()
    return meter.totals() | {"mid": mid, "people": people + [newcomer]}


def activity_costs(meter, mid, people) -> dict:
    """One PATCH and one chat message from one participant, with their fan-out."""
    out = {}
    for name, (method, path, body) in {
        "patch": ("PATCH", f"/meetings/{mid}/participants/me", {"audio": False}),
        "chat": ("POST", f"/meetings/{mid}/messages", {"text": "hello everyone"}),
    }.items():
        meter.reset()
        meter.call(method, path, body, token=people[0]["token"])
        meter.push()
        out[name] = meter.totals()
    return out


def usd(t: dict) -> float:
    lambda_cost = t["lambdas"] * (PRICES["lambda_request"]
                                  + LAMBDA_GB * LAMBDA_SECONDS * PRICES["lambda_gb_second"])
    return (t["rest"] * PRICES["rest_request"] + t["ws_frames"] * PRICES["ws_message"]
            + lambda_cost + t["wru"] * PRICES["wru"] + t["rru"] * PRICES["rru"])


def meeting_hour_usd(k: int, join: dict, activity: dict) -> float:
    """A k-person meeting held for one hour: k joins (approximated by k × the k-th join),
    keep-alive pings, connection minutes, and typical toggles and chat."""
    per_person_hour = (
        60 * PRICES["ws_connection_minute"]
        + (60 / PING_EVERY_MIN) * (2 * PRICES["ws_message"] + PRICES["lambda_request"]
                                   + LAMBDA_GB * LAMBDA_SECONDS * PRICES["lambda_gb_second"])
        + sum(n * usd(activity[name]) for name, n in HOURLY_ACTIVITY.items())
    )
    return k * usd(join) + k * per_person_hour + k * usd({"rest": 1, "lambdas": 1,
                                                          "ws_frames": k - 1, "wru": 2,
                                                          "rru": 2})


def run(quick: bool = False) -> dict:
    from bench.inprocess import boot

    parley, server = boot()
    try:
        meter = Meter(parley)
        rows = []
        for k in ([2, 4] if quick else range(2, 9)):
            join = join_costs(meter, k)
            activity = activity_costs(meter, join["mid"], join["people"])
            hour = meeting_hour_usd(k, join, activity)
            per_1000 = hour / (60 * k) * 1000
            rows.append({"k": k, **{key: join[key] for key in
                                    ("rest", "lambdas", "ws_frames", "stream_records",
                                     "dynamodb_calls", "wru", "rru")},
                         "join_usd": usd(join), "hour_usd": hour, "per_1000_min": per_1000})
        return {"rows": rows, "median_per_1000": statistics.median(r["per_1000_min"] for r in rows)}
    finally:
        server.stop()


def markdown(result: dict) -> str:
    lines = [
        "| k (meeting size after join) | REST calls | Lambda runs | WS frames | stream records "
        "| DynamoDB calls | WRU | RRU | USD per join | USD per meeting-hour "
        "| USD per 1,000 participant-min |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(f"| {r['k']} | {r['rest']} | {r['lambdas']} | {r['ws_frames']} | "
                     f"{r['stream_records']} | {r['dynamodb_calls']} | {r['wru']:.0f} | "
                     f"{r['rru']:.0f} | {r['join_usd']:.7f} | {r['hour_usd']:.5f} | "
                     f"{r['per_1000_min']:.5f} |")
    twilio = TWILIO_PER_MINUTE * 1000
    lines += [
        "",
        f"Median over meeting sizes: **{result['median_per_1000']:.4f} USD per 1,000 "
        f"participant-minutes**, excluding TURN relay; Twilio Video's list price is "
        f"{twilio:.2f} USD for the same 1,000 participant-minutes "
        f"({twilio / result['median_per_1000']:.0f}×).",
        "",
        TURN_NOTE,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
