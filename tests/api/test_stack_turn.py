"""The local stack's TURN server (coturn, started by the stack) with the credentials the
join response carries: it relays for them, over UDP and TCP, and refuses expired or
forged ones. The TURN client is aioice's (the ICE library aiortc uses): a real Allocate
with long-term credentials (RFC 5766), then data relayed between two allocations."""

import asyncio
import time
from urllib.parse import urlsplit

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint

from chalicelib import turn
from tests.bots.aio import run_async

from .stack_client import Rest

WAIT = 20  # seconds: a ceiling for a slow machine, never a timing assert


class Inbox(asyncio.DatagramProtocol):
    def __init__(self):
        self.received = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.received.put_nowait((data, addr))


def turn_servers(stack, name="Tess"):
    """(pid, the TURN entry of a fresh join's iceServers)."""
    rest = Rest(stack.api)
    mid = rest.create("Relay")["meeting"]["id"]
    reply = rest.call("POST", f"/meetings/{mid}/join", {"name": name})
    assert reply.status == 200, reply.json
    entries = [s for s in reply.json["iceServers"] if "username" in s]
    assert len(entries) == 1, reply.json["iceServers"]
    return reply.json["participant"]["id"], entries[0]


def address(url):
    """turn:127.0.0.1:3478?transport=udp -> (("127.0.0.1", 3478), "udp")."""
    host, _, port = urlsplit(url).path.rpartition(":")
    return (host, int(port)), url.rpartition("transport=")[2]


async def allocate(server, username, password, transport):
    return await asyncio.wait_for(create_turn_endpoint(Inbox, server, username, password,
                                                       transport=transport), WAIT)


async def relayed_both_ways(server, transport, one, other):
    """Two allocations with the given credentials each send to the other's relayed address
    until both have heard the other: coturn relays between them."""
    (a, a_in), (b, b_in) = [await allocate(server, *creds, transport) for creds in (one, other)]
    try:
        a_at, b_at = a.get_extra_info("sockname"), b.get_extra_info("sockname")
        assert a_at[0] == b_at[0] == "127.0.0.1" and a_at != b_at
        heard = {}
        deadline = time.monotonic() + WAIT
        while len(heard) < 2 and time.monotonic() < deadline:
            a.sendto(b"from a", b_at)  # each send also installs the sender's permission
            b.sendto(b"from b", a_at)
            for name, inbox in (("a", a_in), ("b", b_in)):
                try:
                    heard[name] = await asyncio.wait_for(inbox.received.get(), 0.2)
                except TimeoutError:
                    pass
        return heard, a_at, b_at
    finally:
        a.close()
        b.close()
        await asyncio.sleep(0.1)  # lets the Refresh(lifetime 0) go out


def test_the_join_response_names_the_local_turn_server_over_udp_and_tcp(turn_stack, turn_secret):
    pid, entry = turn_servers(turn_stack)
    servers = [address(url) for url in entry["urls"]]
    assert [kind for _, kind in servers] == ["udp", "tcp"]
    assert servers[0][0] == servers[1][0] and servers[0][0][0] == "127.0.0.1"
    expiry, _, user = entry["username"].partition(":")
    assert user == pid and int(expiry) > time.time() + 3600
    assert turn.credentials(turn_secret, pid, int(expiry))[1] == entry["credential"]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_coturn_relays_between_two_allocations_made_with_join_credentials(turn_stack, transport):
    _, ada = turn_servers(turn_stack, "Ada")
    _, bob = turn_servers(turn_stack, "Bob")
    server = dict(reversed(address(u)) for u in ada["urls"])[transport]
    heard, a_at, b_at = run_async(lambda: relayed_both_ways(
        server, transport, (ada["username"], ada["credential"]), (bob["username"], bob["credential"])))
    assert heard == {"a": (b"from b", b_at), "b": (b"from a", a_at)}


def refused(server, username, password, transport="udp"):
    """The STUN error coturn answered an Allocate with (None: it made the allocation)."""
    async def attempt():
        try:
            relay, _ = await allocate(server, username, password, transport)
        except stun.TransactionFailed as err:
            return err.response.attributes["ERROR-CODE"]
        relay.close()
        await asyncio.sleep(0.1)
        return None
    return run_async(attempt)


def test_coturn_refuses_expired_and_forged_credentials(turn_stack, turn_secret):
    pid, entry = turn_servers(turn_stack)
    server, _ = address(entry["urls"][0])
    now = int(time.time())
    assert refused(server, *turn.credentials(turn_secret, pid, now + 600)) is None  # the control
    assert refused(server, *turn.credentials(turn_secret, pid, now - 60)) == (401, "Unauthorized")
    assert refused(server, *turn.credentials("not-" + turn_secret, pid, now + 600)) == (
        401, "Unauthorized")
    username = f"{now + 10 ** 6}:{pid}"  # a later expiry written over a real credential
    assert refused(server, username, entry["credential"]) == (401, "Unauthorized")
    assert refused(server, entry["username"], entry["credential"], "tcp") is None
