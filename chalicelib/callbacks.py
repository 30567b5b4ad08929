"""Which callback URLs a recording may carry: the recorder POSTs its result there, from
inside the deployment's network, so a URL must never point it at the deployment's own
private addresses (instance metadata, VPC services): server-side request forgery.

Rules: http or https, a host, no user name or password in the URL; and unless the local
stack allows private callbacks (its tests run a receiver on this machine), every address
the host resolves to must be a public one. The check runs when the recording is created;
a name that later resolves elsewhere is the recorder's to re-check when it calls.
"""

import ipaddress
import re
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from .errors import InvalidCallbackUrl

Resolver = Callable[[str, int], list[str]]
# A DNS name once IDNA-encoded: labels of letters, digits and hyphens (checked before any
# lookup, so a malformed host costs no resolver round trip).
_HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)([A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?$")


def _well_formed(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        return bool(_HOSTNAME.match(host.encode("idna").decode("ascii")))
    except UnicodeError:
        return False


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def public(address: str) -> bool:
    """Whether `address` is a public unicast address: not private, loopback, link-local,
    multicast, reserved, unspecified or shared (carrier NAT), also when an IPv6 address
    carries an IPv4 one (mapped ::ffff:a.b.c.d)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a zone id (fe80::1%eth0) aside
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_private
                                 or ip.is_loopback or ip.is_link_local)


def check(url: str, allow_private: bool = False, resolver: Resolver = resolve) -> str:
    """`url` if a recording may call it back; 400 `invalid_callback_url` saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:  # a port out of range, a malformed IPv6 host
        raise InvalidCallbackUrl(f"The callback URL is not a valid URL: {err}.") from err
    if parts.scheme not in ("http", "https"):
        raise InvalidCallbackUrl("The callback URL must be an http or https URL.")
    if not parts.hostname:
        raise InvalidCallbackUrl("The callback URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidCallbackUrl("The callback URL must not hold a user name or password.")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise InvalidCallbackUrl("The callback URL must not contain spaces or control "
                                 "characters.")
    if not _well_formed(parts.hostname):
        raise InvalidCallbackUrl(f"The callback URL's host {parts.hostname} is not a valid "
                                 "host name.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolver(parts.hostname, port)
    except (OSError, UnicodeError) as err:
        raise InvalidCallbackUrl(f"The callback URL's host {parts.hostname} cannot be "
                                 "resolved.") from err
    if not addresses:
        raise InvalidCallbackUrl(f"The callback URL's host {parts.hostname} cannot be "
                                 "resolved.")
    if not allow_private:
        for address in addresses:
            if not public(address):
                raise InvalidCallbackUrl(
                    f"The callback URL's host {parts.hostname} resolves to {address}, which "
                    "is not a public address (private, loopback, link-local, multicast "
                    "and reserved addresses are refused).")
    return url
