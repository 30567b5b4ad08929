"""Translation between the browser's ICE shapes and aiortc's.

Browsers trickle candidates as RTCIceCandidateInit dicts (`candidates` tickets); aiortc
takes RTCIceCandidate objects and has no trickle of its own: it gathers every candidate
before setLocalDescription returns, so its descriptions carry them all. The SDP helpers
tell a renegotiation from a restart, which aiortc cannot apply to a live connection.
"""

import re

from aiortc import RTCIceCandidate, RTCIceServer
from aiortc.sdp import candidate_from_sdp

_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)
_FINGERPRINT = re.compile(r"^a=fingerprint:(.+?)\s*$", re.MULTILINE)
_ICE_SCHEMES = ("stun:", "turn:", "turns:")


def candidate_from_init(init: dict) -> RTCIceCandidate | None:
    """An RTCIceCandidateInit (`{candidate, sdpMid, sdpMLineIndex, usernameFragment}`) as
    aiortc's candidate; None for the empty end-of-candidates marker. ValueError if it
    cannot be read."""
    if not isinstance(init, dict) or not isinstance(init.get("candidate"), str):
        raise ValueError(f"not an RTCIceCandidateInit: {init!r}")
    line = init["candidate"].strip()
    if line.startswith("a="):
        line = line[2:]
    if not line:
        return None
    if line.startswith("candidate:"):
        line = line[len("candidate:"):]
    mid, index = init.get("sdpMid"), init.get("sdpMLineIndex")
    if mid is None and index is None:
        raise ValueError("a candidate needs sdpMid or sdpMLineIndex")
    try:
        candidate = candidate_from_sdp(line)
    except (AssertionError, IndexError, ValueError) as err:
        raise ValueError(f"unreadable candidate {init['candidate']!r}: {err}") from None
    candidate.sdpMid = None if mid is None else str(mid)
    candidate.sdpMLineIndex = None if index is None else int(index)
    return candidate


def ice_servers(servers: list) -> list[RTCIceServer]:
    """The join response's iceServers (RTCIceServer dicts) as aiortc's, keeping only the URLs
    it understands (aiortc uses the first STUN and the first TURN server)."""
    out = []
    for server in servers or []:
        urls = server.get("urls")
        urls = [urls] if isinstance(urls, str) else list(urls or [])
        urls = [u for u in urls if isinstance(u, str) and u.startswith(_ICE_SCHEMES)]
        if urls:
            out.append(RTCIceServer(urls=urls, username=server.get("username"),
                                    credential=server.get("credential")))
    return out


def ufrag(sdp: str | None) -> str | None:
    """The first ICE username fragment of a description (a bundled session has one)."""
    match = _UFRAG.search(sdp or "")
    return match.group(1) if match else None


def restarted(before: str | None, after: str) -> bool:
    """Whether description `after` starts a new ICE or DTLS session compared with `before`:
    an ICE restart (new ufrag) or a new endpoint (new certificate fingerprint)."""
    if not before:
        return False
    if ufrag(before) != ufrag(after):
        return True
    return set(_FINGERPRINT.findall(before)) != set(_FINGERPRINT.findall(after))


def same_offer(before: str | None, after: str) -> bool:
    """Whether `after` is `before` sent again, perhaps with more candidates in it."""
    def bare(sdp: str) -> list[str]:
        return [x for x in sdp.splitlines() if not x.startswith(("a=candidate:", "a=end-of-candidates"))]
    return before is not None and bare(before) == bare(after)
