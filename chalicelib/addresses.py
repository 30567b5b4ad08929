"""URLs a bot is told to reach from inside the deployment's network (a recording's
callback, a stream's source): never the deployment's own private addresses (instance
metadata, VPC services), which would be server-side request forgery.

`check` applies one `Rules`: the schemes allowed, a host, no user name or password, no
spaces or control characters, a well-formed host name; then, if the rules say so, every
address the host resolves to must be a public one (unless private ones are allowed: the
local stack, whose tests run servers on this machine). The check runs when the job is
created; a name that later resolves elsewhere is the bot's to re-check when it calls.
"""

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ApiError

Resolver = Callable[[str, int], list[str]]
# A DNS name once IDNA-encoded: labels of letters, digits and hyphens (checked before any
# lookup, so a malformed host costs no resolver round trip).
_HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)([A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?$")


@dataclass(frozen=True)
class Rules:
    """What one kind of URL may be. `what` names it in messages ("The callback URL");
    `ports`: each allowed scheme and its default port; `error`: the 400 raised."""

    what: str
    ports: dict
    error: type[ApiError]

    def schemes(self) -> str:
        names = list(self.ports)
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


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


def check(url: str, rules: Rules, allow_private: bool = False, lookup: bool = True,
          resolver: Resolver = resolve) -> str:
    """`url` if a bot may be sent to it; `rules.error` (400) saying why not. `lookup`:
    resolve the host (a host that does not resolve is refused); without it only the
    form is checked, which is safe only where private addresses are allowed."""
    what, fail = rules.what, rules.error
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:  # a port out of range, a malformed IPv6 host
        raise fail(f"{what} is not a valid URL: {err}.") from err
    if parts.scheme not in rules.ports:
        raise fail(f"{what} must be an {rules.schemes()} URL.")
    if not parts.hostname:
        raise fail(f"{what} has no host.")
    if parts.username is not None or parts.password is not None:
        raise fail(f"{what} must not hold a user name or password.")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise fail(f"{what} must not contain spaces or control characters.")
    if not _well_formed(parts.hostname):
        raise fail(f"{what}'s host {parts.hostname} is not a valid host name.")
    if not lookup:
        return url
    port = port or rules.ports[parts.scheme]
    try:
        addresses = resolver(parts.hostname, port)
    except (OSError, UnicodeError) as err:
        raise fail(f"{what}'s host {parts.hostname} cannot be resolved.") from err
    if not addresses:
        raise fail(f"{what}'s host {parts.hostname} cannot be resolved.")
    if not allow_private:
        for address in addresses:
            if not public(address):
                raise fail(
                    f"{what}'s host {parts.hostname} resolves to {address}, which is not a "
                    "public address (private, loopback, link-local, multicast and reserved "
                    "addresses are refused).")
    return url
