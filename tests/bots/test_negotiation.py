"""Perfect negotiation between two runtime peers (aiortc on both sides), their tickets carried
by an in-memory relay in order, as the server carries them: who offers, glare, a restart,
a repeated offer, and candidates trickled the way a browser sends them."""

import asyncio
import re

from bots.runtime.ice import candidate_from_init, ufrag
from bots.runtime.peers import Peer

from .aio import run_async
from .media import ChangingVideo, FrameCount

# "b" > "a": b is the polite one
A, B = "a" * 12, "b" * 12


class Relay:
    """Carries each side's tickets to the other; `log` lists (from, kind, type) in send order.
    A side in `trickling` sends its descriptions without candidates and then trickles them
    in a `candidates` ticket, shaped as a browser's RTCIceCandidateInit."""

    def __init__(self):
        self.peers: dict[str, Peer] = {}
        self.log: list[tuple] = []
        self.trickling: set[str] = set()

    def send_from(self, me: str, them: str):
        async def send(kind, data, key):
            assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key)
            self.log.append((me, kind, (data or {}).get("type") if kind == "description" else None))
            if kind == "description" and me in self.trickling:
                data, later = split_candidates(data)
                self.peers[them].handle({"kind": kind, "data": data, "from": me})
                self.peers[them].handle({"kind": "candidates", "data": later, "from": me})
            else:
                self.peers[them].handle({"kind": kind, "data": data, "from": me})
        return send

    def offers(self, me: str | None = None) -> int:
        return sum(1 for who, kind, typ in self.log if typ == "offer" and me in (None, who))


def split_candidates(description: dict) -> tuple[dict, list[dict]]:
    """A description without its candidate lines, and those candidates as a browser trickles
    them: each with its m-line's index and mid, and the description's ufrag."""
    kept, inits, index, mid = [], [], -1, None
    for line in description["sdp"].split("\r\n"):
        if line.startswith("m="):
            index, mid = index + 1, None
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:"):]
            for init in inits:
                if init["sdpMLineIndex"] == index:
                    init["sdpMid"] = mid
        if line.startswith("a=candidate:"):
            inits.append({"candidate": line[2:], "sdpMid": mid, "sdpMLineIndex": index,
                          "usernameFragment": ufrag(description["sdp"])})
        elif not line.startswith("a=end-of-candidates"):
            kept.append(line)
    return {**description, "sdp": "\r\n".join(kept)}, inits


def make(relay: Relay, me: str, them: str, starts: bool, sending=False, count=None, **tweaks) -> Peer:
    tracks = (lambda: [ChangingVideo()]) if sending else (lambda: [])
    peer = Peer(self_id=me, remote_id=them, ice_servers=[], send=relay.send_from(me, them),
                starts=starts, tracks=tracks, on_track=count.read if count else None)
    for name, value in tweaks.items():
        setattr(peer, name, value)
    relay.peers[me] = peer
    return peer


async def connected(*peers: Peer) -> None:
    while not all(p.pc.connectionState == "connected" for p in peers):
        await asyncio.sleep(0.05)


async def frames_flow(count: FrameCount, at_least: int = 15) -> None:
    start = count.frames["video"]
    while count.frames["video"] < start + at_least or len(count.pictures) < 3:
        await asyncio.sleep(0.05)


def run(test):
    async def main():
        relay = Relay()
        try:
            await test(relay)
        finally:
            for peer in relay.peers.values():
                await peer.close()
    run_async(main)


def test_the_newcomer_offers_and_the_other_side_only_answers():
    async def test(relay):
        seen = FrameCount()
        waiting = make(relay, B, A, starts=False, count=seen)
        newcomer = make(relay, A, B, starts=True, sending=True)
        await asyncio.gather(waiting.offer(), newcomer.offer())  # the waiting side holds back
        await connected(waiting, newcomer)
        await frames_flow(seen)
        assert relay.log == [(A, "description", "offer"), (B, "description", "answer")]
        assert waiting.rebuilds == newcomer.rebuilds == 0
    run(test)


def test_both_offering_at_once_is_settled_by_politeness():
    async def test(relay):
        at_a, at_b = FrameCount(), FrameCount()
        impolite = make(relay, A, B, starts=True, sending=True, count=at_a)
        polite = make(relay, B, A, starts=True, sending=True, count=at_b)
        assert polite.polite and not impolite.polite
        await asyncio.gather(impolite.offer(), polite.offer())
        assert relay.offers(A) == relay.offers(B) == 1  # glare
        await connected(impolite, polite)
        await asyncio.gather(frames_flow(at_a), frames_flow(at_b))  # both ways, on one negotiation
        # the impolite side ignored the polite offer; the polite side dropped its own for theirs
        assert impolite.ignored_offers == 1 and impolite.rebuilds == 0
        assert polite.rebuilds == 1 and polite.ignored_offers == 0
        assert [(who, typ) for who, _, typ in relay.log if typ == "answer"] == [(B, "answer")]
    run(test)


def test_a_waiting_side_offers_itself_when_no_offer_comes():
    async def test(relay):
        seen = FrameCount()
        quick = make(relay, B, A, starts=False, count=seen, wait_for_offer=0.2)
        slow = make(relay, A, B, starts=False, sending=True, wait_for_offer=30)
        await asyncio.gather(quick.offer(), slow.offer())
        await connected(quick, slow)
        await frames_flow(seen)
        assert relay.log == [(B, "description", "offer"), (A, "description", "answer")]
    run(test)


def test_a_restart_replaces_the_connection_on_both_sides_and_media_comes_back():
    async def test(relay):
        seen = FrameCount()
        impolite = make(relay, A, B, starts=True, count=seen)
        polite = make(relay, B, A, starts=False, sending=True)
        await asyncio.gather(impolite.offer(), polite.offer())
        await connected(impolite, polite)
        await frames_flow(seen)
        before = ufrag(impolite.pc.localDescription.sdp)
        polite.restart()  # the polite side leaves restarts to the other
        impolite.restart()
        await impolite.settled()
        await polite.settled()
        assert impolite.rebuilds == 1 and polite.rebuilds == 1
        assert ufrag(impolite.pc.localDescription.sdp) != before
        await connected(impolite, polite)
        await frames_flow(seen)
        assert seen.tracks == 2  # the new connection's track replaced the old one
        assert relay.offers(A) == 2 and relay.offers(B) == 0
    run(test)


def test_the_same_offer_again_gets_the_same_answer_without_a_new_negotiation():
    async def test(relay):
        answering = make(relay, B, A, starts=False)
        offering = make(relay, A, B, starts=True, sending=True)
        await offering.offer()
        await answering.settled()
        first_answer = answering.pc.localDescription.sdp
        offer = offering.pc.localDescription
        answering.handle({"kind": "description", "data": {"type": offer.type, "sdp": offer.sdp}})
        await answering.settled()
        answers = [x for x in relay.log if x[2] == "answer"]
        assert len(answers) == 2 and answering.pc.localDescription.sdp == first_answer
        assert answering.rebuilds == 0
        await connected(answering, offering)
    run(test)


def test_candidates_trickled_after_the_description_connect_the_peers():
    async def test(relay):
        seen = FrameCount()
        relay.trickling.add(A)  # A's descriptions reach B without candidates, then trickled
        waiting = make(relay, B, A, starts=False, count=seen)
        newcomer = make(relay, A, B, starts=True, sending=True)
        await newcomer.offer()
        await waiting.settled()
        transport = waiting.pc.getTransceivers()[0].receiver.transport.transport
        assert transport.getRemoteCandidates()  # they came from the candidates ticket
        await connected(waiting, newcomer)
        await frames_flow(seen)
    run(test)


def test_candidates_of_an_earlier_ice_session_are_not_added():
    async def test(relay):
        relay.trickling.add(A)
        waiting = make(relay, B, A, starts=False)
        newcomer = make(relay, A, B, starts=True)
        waiting.handle = lambda ticket: None  # hold A's tickets back; the test hands them in
        await newcomer.offer()
        offer = newcomer.pc.localDescription
        description, candidates = split_candidates({"type": offer.type, "sdp": offer.sdp})
        stale = [{**c, "usernameFragment": "old1"} for c in candidates]
        Peer.handle(waiting, {"kind": "description", "data": description})
        Peer.handle(waiting, {"kind": "candidates", "data": stale})
        await waiting.settled()
        transport = waiting.pc.getTransceivers()[0].receiver.transport.transport
        assert transport.getRemoteCandidates() == []
        Peer.handle(waiting, {"kind": "candidates", "data": candidates})
        await waiting.settled()
        added = transport.getRemoteCandidates()  # the first m-line's transport has its own
        assert sorted((c.ip, c.port) for c in added) == sorted(
            (c.ip, c.port) for c in map(candidate_from_init, candidates) if c.sdpMLineIndex == 0)
    run(test)
