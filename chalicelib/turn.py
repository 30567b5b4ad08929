"""ICE servers for a participant: the configured STUN list plus time-limited TURN credentials.

TURN uses the "REST API" scheme coturn implements with `use-auth-secret`: the username is
`<expiry>:<pid>` and the password is base64(HMAC-SHA1(secret, username)), so no TURN
user database is needed and a leaked credential expires by itself. The secret is
PARLEY_TURN_SECRET locally, and in AWS the SSM SecureString PARLEY_TURN_SECRET_PARAM names
(docs/DEPLOY.md, "TURN"), the same scheme for the stage's own coturn and for a provider's.
"""

import base64
import hashlib
import hmac
import time

from .config import Settings


def credentials(secret: str, pid: str, expires: int) -> tuple[str, str]:
    """(username, password) that coturn accepts until `expires` (epoch seconds)."""
    username = f"{expires}:{pid}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(s: Settings, pid: str, now: float | None = None) -> list[dict]:
    """The RTCIceServer list of a join response; TURN credentials last as long as the token."""
    servers = [dict(server) for server in s.ice_servers]
    secret = s.turn_shared_secret() if s.turn_urls else None
    if secret:
        now = time.time() if now is None else now
        username, password = credentials(secret, pid, int(now) + s.token_ttl)
        servers.append({"urls": list(s.turn_urls), "username": username, "credential": password})
    return servers
