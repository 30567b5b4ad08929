"""A call relayed through the local stack's TURN server: two pages whose config.js says
`iceTransportPolicy: "relay"` (PARLEY_ICE_POLICY=relay) can only reach each other through
coturn, with the credentials their join responses carried."""

from .conftest import (
    api_call,
    join,
    quality_details,
    save_rtc_traces,
    tools_ready,
    wait_remote_videos_playing,
    wait_until,
)

RELAYED = ("Relayed (TURN over UDP)", "Relayed (TURN over TCP)")


def test_two_pages_forced_to_relay_see_each_other_through_the_local_turn_server_and_are_told_so(
        relayed_pair, turn_stack):
    ada, bob = relayed_pair
    ada.goto("/")
    config = ada.evaluate("async () => (await import('/config.js')).default")
    assert config["rtc"] == {"iceTransportPolicy": "relay"}
    mid = api_call(turn_stack, "POST", "/meetings", {"name": "Relayed"})["meeting"]["id"]
    ada_id = join(ada, mid, "Ada")
    bob_id = join(bob, mid, "Bob")
    for person in (ada, bob):
        wait_remote_videos_playing(person, 1)
    for person in (ada, bob):
        # once media flows, the pair in use has a relay candidate at our end (and at theirs:
        # relay, or prflx when their check came in before their candidate did) and bytes on it
        paths = wait_until(person, """async () => {
          const paths = await window.__rtcPaths();
          return paths.length === 1 && paths[0]?.bytesReceived > 0 && paths;
        }""")
        assert paths[0]["local"] == "relay", (paths, save_rtc_traces(person))
        assert paths[0]["remote"] in ("relay", "prflx"), paths
        assert paths[0]["relayProtocol"] in ("udp", "tcp") and "127.0.0.1" in paths[0]["url"], paths
    # and the connection details on the other's tile say so
    for person, other in ((ada, bob_id), (bob, ada_id)):
        tools_ready(person)
        assert quality_details(person, other)["path"] in RELAYED
    assert ada.errors == [] and bob.errors == []
