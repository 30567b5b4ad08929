"""Which callback URLs a recording may carry: the recorder POSTs its result there, from
inside the deployment's network (addresses.py: never a private address of it).

Rules: http or https, a host, no user name or password in the URL; and unless the local
stack allows private callbacks (its tests run a receiver on this machine), every address
the host resolves to must be a public one. The check runs when the recording is created.
"""

from .addresses import Resolver, Rules, resolve
from .addresses import check as check_url
from .errors import InvalidCallbackUrl

CALLBACKS = Rules("The callback URL", {"http": 80, "https": 443}, InvalidCallbackUrl)


def check(url: str, allow_private: bool = False, resolver: Resolver = resolve) -> str:
    """`url` if a recording may call it back; 400 `invalid_callback_url` saying why not."""
    return check_url(url, CALLBACKS, allow_private=allow_private, resolver=resolver)
