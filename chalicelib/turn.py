"""ICE servers for a participant: the configured STUN list plus time-limited TURN credentials.

TURN uses the "REST API" scheme coturn implements with `use-auth-secret`: the username is
`<expiry>:<pid>` and the password is base64(HMAC-SHA1(secret, username)), so no TURN
user database is needed and a leaked credential expires by itself.
"""

import base64
import hashlib
import hmac
import time

from .config import Settings


def ice_servers(s: Settings, pid: str) -> list[dict]:
    servers = [dict(server) for server in s.ice_servers]
    if s.turn_secret and s.turn_urls:
        username = f"{int(time.time()) + s.token_ttl}:{pid}"
        digest = hmac.new(s.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
        servers.append({"urls": list(s.turn_urls), "username": username,
                        "credential": base64.b64encode(digest).decode()})
    return servers
