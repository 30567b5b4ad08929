"""The app's Lambda entry points, found the way `chalice deploy` finds them.

Chalice registers every handler in `app.handler_map` under its function name, already
wrapped exactly as Lambda invokes it: `handler(event_dict, context)`. Calling those (not
the bare user functions) keeps Chalice's own event parsing, middleware and, for
WebSocket handlers, its `websocket_api.configure_from_api_id(...)` in the path.
"""

from dataclasses import dataclass, field

from chalice.app import DynamoDBEventConfig, ScheduledEventConfig
from chalice.local import LambdaContext

LAMBDA_TIMEOUT_MS = 900_000


def context(name: str) -> LambdaContext:
    return LambdaContext(function_name=f"parley-local-{name}", memory_size=256,
                         max_runtime_ms=LAMBDA_TIMEOUT_MS)


@dataclass
class Entry:
    name: str
    handler: object
    config: object = None

    def __call__(self, event: dict):
        return self.handler(event, context(self.name))


@dataclass
class Handlers:
    websocket: dict = field(default_factory=dict)  # route key -> Entry
    streams: list = field(default_factory=list)    # DynamoDB stream event sources
    schedules: list = field(default_factory=list)  # scheduled (cron / rate) functions


def find(app) -> Handlers:
    found = Handlers()
    for route_key, config in app.websocket_handlers.items():
        found.websocket[route_key] = Entry(config.name, app.handler_map[config.name], config)
    for config in app.event_sources:
        if isinstance(config, DynamoDBEventConfig):
            found.streams.append(Entry(config.name, app.handler_map[config.name], config))
        elif isinstance(config, ScheduledEventConfig):
            found.schedules.append(Entry(config.name, app.handler_map[config.name], config))
    return found
