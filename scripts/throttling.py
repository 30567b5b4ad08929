"""API Gateway stage throttling on the REST and WebSocket APIs (chalice cannot set it):
the limits, why they are what they are, the calls that set them (`make deploy`) and the
same settings as CloudFormation properties (`make package`)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Throttle:
    rate: float  # steady requests (WebSocket: messages) per second
    burst: int   # how many may arrive at once (the token bucket's size)


# The app's own token buckets (chalicelib/ratelimit.py) live in each warm Lambda instance,
# so a flood spread over many addresses and instances gets past them; these stage limits
# bound the total. API Gateway applies a stage's default to every method (WebSocket: every
# route) separately, not to the API as a whole. They are ceilings for runaway clients and
# floods, far above normal use; a client over them gets API Gateway's 429.
#
# REST, each method: the cost example in docs/DEPLOY.md is under 1 request/s in working
# hours, 3/s at ten times that use. The spikiest legitimate traffic is joining a full
# meeting: an offer, an answer and a few batches of ICE candidates per peer, some 50 POSTs
# to .../tickets within a second or two, and a ticket refused there breaks that call's
# setup. 400 at once is several such joins in the same instant. 200/s keeps one flooded
# method at ~20 concurrent Lambdas (~100 ms each), far from the 1,000 the account's
# functions share with the stream and WebSocket handlers.
REST_THROTTLE = Throttle(rate=200, burst=400)
# Creating and joining a meeting may hash or check a passcode with scrypt (16 MB and a
# tenth of a second or so of the handler's CPU each): what a flood from many addresses
# would aim at. A meeting seats 6 by default, so 40 at once is several meetings filling in the same
# second and 20/s is 1,200 joins a minute, far beyond a team's Monday 9:00.
STRICT_THROTTLE = Throttle(rate=20, burst=40)
STRICT_METHODS = (("/meetings", "POST"), ("/meetings/{mid}/join", "POST"))
# WebSocket, each route ($connect, and $default carrying the ping): a client pings once
# per 270 s, so 100/s is the ping load of ~27,000 sockets. The real peak is $connect after a network
# blip, when every client reconnects; clients back off with jitter (0.5 s doubling to
# 15 s), so 200 at once and 100/s let a thousand of them back within seconds while one
# stage stays well under the 500 new connections/s the account's stages share.
WEBSOCKET_THROTTLE = Throttle(rate=100, burst=200)


def resource_setting_path(resource: str) -> str:
    """A resource as method settings name it: `/meetings/{mid}/join` →
    `/~1meetings~1{mid}~1join` (a JSON pointer: `~` is `~0`, `/` is `~1`); `*` → `/*`."""
    if resource != "*":
        resource = resource.replace("~", "~0").replace("/", "~1")
    return f"/{resource}"


def method_setting_path(resource: str, method: str) -> str:
    """The update_stage path prefix of a method's settings: `/meetings/{mid}/join`, POST
    → `/~1meetings~1{mid}~1join/POST`; `*`, `*` → `/*/*` (every method)."""
    return f"{resource_setting_path(resource)}/{method}"


def _rest_targets() -> list[tuple[str, str, Throttle]]:
    """(resource, method, limit): the stage default, then the stricter create and join."""
    return [("*", "*", REST_THROTTLE)] + [(resource, method, STRICT_THROTTLE)
                                          for resource, method in STRICT_METHODS]


def rest_method_settings() -> list[dict]:
    """The REST limits as a CloudFormation stage's MethodSettings."""
    return [{"ResourcePath": resource_setting_path(resource), "HttpMethod": method,
             "ThrottlingRateLimit": float(throttle.rate), "ThrottlingBurstLimit": throttle.burst}
            for resource, method, throttle in _rest_targets()]


def websocket_route_settings() -> dict:
    """The WebSocket limit as a stage's DefaultRouteSettings (API and CloudFormation)."""
    return {"ThrottlingRateLimit": float(WEBSOCKET_THROTTLE.rate),
            "ThrottlingBurstLimit": WEBSOCKET_THROTTLE.burst}


def rest_throttling_operations() -> list[dict[str, str]]:
    """Patch operations for the stage default and the stricter create/join methods."""
    ops = []
    for resource, method, throttle in _rest_targets():
        prefix = method_setting_path(resource, method)
        ops += [
            {"op": "replace", "path": f"{prefix}/throttling/rateLimit",
             "value": f"{throttle.rate:g}"},
            {"op": "replace", "path": f"{prefix}/throttling/burstLimit",
             "value": str(throttle.burst)},
        ]
    return ops


def throttle_rest_api(apigateway, rest_api_id: str, stage: str) -> dict:
    """Set the REST API stage's throttling (replace: the same every run); return the
    stage's method settings as API Gateway reports them."""
    return apigateway.update_stage(restApiId=rest_api_id, stageName=stage,
                                   patchOperations=rest_throttling_operations())["methodSettings"]


def throttle_websocket_api(apigatewayv2, api_id: str, stage: str) -> bool:
    """Set the WebSocket API stage's default route throttling; False when it already was.

    The other default route settings (logging, metrics) are read and sent back unchanged.
    """
    current = apigatewayv2.get_stage(ApiId=api_id, StageName=stage).get(
        "DefaultRouteSettings", {})
    wanted = {**current, **websocket_route_settings()}
    if wanted == current:
        return False
    apigatewayv2.update_stage(ApiId=api_id, StageName=stage, DefaultRouteSettings=wanted)
    return True
