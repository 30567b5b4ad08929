"""Browser ICE shapes into aiortc's: the candidates a page trickles, its ICE servers, and how a
restart is told from a renegotiation."""

import pytest

from bots.runtime.ice import candidate_from_init, ice_servers, restarted, same_offer, ufrag


def test_a_chrome_host_candidate_becomes_an_aiortc_candidate():
    c = candidate_from_init({
        "candidate": "candidate:842163049 1 udp 2122260223 192.168.1.20 54321 typ host "
                     "generation 0 ufrag EsAw network-id 1",
        "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "EsAw"})
    assert (c.foundation, c.component, c.protocol, c.priority) == ("842163049", 1, "udp", 2122260223)
    assert (c.ip, c.port, c.type) == ("192.168.1.20", 54321, "host")
    assert (c.sdpMid, c.sdpMLineIndex) == ("0", 0)


def test_reflexive_and_tcp_candidates_keep_their_related_address_and_tcp_type():
    srflx = candidate_from_init({
        "candidate": "candidate:1 1 udp 1686052607 203.0.113.7 40000 typ srflx raddr 10.0.0.2 "
                     "rport 50000 generation 0", "sdpMid": "1", "sdpMLineIndex": None})
    assert (srflx.type, srflx.relatedAddress, srflx.relatedPort) == ("srflx", "10.0.0.2", 50000)
    assert (srflx.sdpMid, srflx.sdpMLineIndex) == ("1", None)
    tcp = candidate_from_init({"candidate": "candidate:2 1 tcp 1518280447 10.0.0.2 9 typ host "
                                            "tcptype active generation 0", "sdpMLineIndex": 1})
    assert (tcp.protocol, tcp.tcpType, tcp.sdpMid, tcp.sdpMLineIndex) == ("tcp", "active", None, 1)


def test_a_candidate_written_as_an_sdp_attribute_is_read_too():
    c = candidate_from_init({"candidate": "a=candidate:7 1 udp 99 10.1.1.1 5000 typ host",
                             "sdpMid": "0"})
    assert (c.foundation, c.ip, c.port) == ("7", "10.1.1.1", 5000)


def test_the_empty_end_of_candidates_marker_is_none():
    assert candidate_from_init({"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}) is None


@pytest.mark.parametrize("init", [
    {"candidate": "candidate:1 1 udp 2122260223 10.0.0.1", "sdpMid": "0"},  # cut short
    {"candidate": "candidate:1 1 udp many 10.0.0.1 5000 typ host", "sdpMid": "0"},  # not a number
    {"candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host"},  # no sdpMid nor sdpMLineIndex
    {"sdpMid": "0"},
    "candidate:1 1 udp 1 10.0.0.1 5000 typ host",
])
def test_an_unreadable_candidate_is_a_value_error(init):
    with pytest.raises(ValueError):
        candidate_from_init(init)


def test_ice_servers_keep_stun_and_turn_with_their_credentials():
    servers = ice_servers([
        {"urls": "stun:stun.example.org:3478"},
        {"urls": ["turn:turn.example.org:3478?transport=udp", "https://not-ice.example.org"],
         "username": "1700000000:pid", "credential": "c2VjcmV0"},
        {"urls": ["http://nothing"]},
    ])
    assert [s.urls for s in servers] == [["stun:stun.example.org:3478"],
                                         ["turn:turn.example.org:3478?transport=udp"]]
    assert (servers[1].username, servers[1].credential) == ("1700000000:pid", "c2VjcmV0")
    assert ice_servers(None) == []


SDP = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
       "a=ice-ufrag:{ufrag}\r\na=ice-pwd:pwdpwdpwdpwdpwdpwdpwdpwd\r\n"
       "a=fingerprint:sha-256 {fp}\r\na=mid:0\r\n")


def test_a_new_ufrag_or_certificate_is_a_restart_and_the_same_session_is_not():
    before = SDP.format(ufrag="abcd", fp="AA:BB")
    assert ufrag(before) == "abcd"
    assert not restarted(before, SDP.format(ufrag="abcd", fp="AA:BB") + "a=sendonly\r\n")
    assert restarted(before, SDP.format(ufrag="efgh", fp="AA:BB"))
    assert restarted(before, SDP.format(ufrag="abcd", fp="CC:DD"))
    assert not restarted(None, before)  # a first description restarts nothing


def test_an_offer_sent_again_with_more_candidates_is_the_same_offer():
    first = SDP.format(ufrag="abcd", fp="AA:BB")
    again = first + "a=candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host\r\na=end-of-candidates\r\n"
    assert same_offer(first, again)
    assert not same_offer(first, first + "a=recvonly\r\n")
    assert not same_offer(None, first)
