"""A page's view of a streamer, for the browser tests: the frame numbers read from the
pixels of its tile (drawn on a canvas), and the page's inbound audio level."""

import time

from harness.clips import LEVELS_JS, number_from_levels

# Every RTCPeerConnection of the page, for its inbound audio stats.
CONNECTIONS = """(() => {
  const Native = window.RTCPeerConnection, all = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); all.push(this); }
  };
  window.__inboundAudio = async () => {
    const out = {level: 0, energy: 0, samples: 0};
    for (const pc of all.filter((pc) => pc.connectionState === 'connected')) {
      (await pc.getStats()).forEach((r) => {
        if (r.type !== 'inbound-rtp' || r.kind !== 'audio') return;
        out.level = Math.max(out.level, r.audioLevel || 0);
        out.energy += r.totalAudioEnergy || 0;
        out.samples += r.totalSamplesReceived || 0;
      });
    }
    return out;
  };
})();"""


TILE_LEVELS = f"pid => ({LEVELS_JS})(document.querySelector(`.tile[data-pid='${{pid}}'] video`))"


def number_on_tile(person, pid: str) -> int | None:
    levels = person.evaluate(TILE_LEVELS, pid)
    return number_from_levels(levels) if levels else None


def numbers_for(person, pid: str, seconds: float) -> list[tuple[float, int]]:
    """(time, frame number) read from the tile every ~100 ms for `seconds`."""
    seen, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        number = number_on_tile(person, pid)
        if number is not None:
            seen.append((time.monotonic(), number))
        person.wait_for_timeout(100)
    return seen
