"""Streamer start-up: from the host's POST to the first frame of the streamer's tile
decoded on the page, against the same clip played from a file in a page.

Streamer: a local stack (its launcher starting the real bot, `python -m bots.streamer`),
a Chromium page that joined a fresh meeting as its host, and the POST of a stream of
the clip (served over HTTP by bench/streamer.py's file server) sent by that page with
fetch, so every time below is in the page's clock from the moment the request is sent:
the POST answered, the bot's process started (/proc, in the system clock the page's
Date.now() shares), the bot joined (its participant-joined event on the page's
socket), the offer and the answer applied on the page's RTCPeerConnection, the
connection up, the stream `playing` (the bot opened the source: its stream-updated
event), the first frame decoded (the peer's framesDecoded > 0) and shown
(requestVideoFrameCallback on the tile's <video>), and the first picture of the clip
shown, the figure compared (until it has the source's first picture the bot sends a
black one of its own size). All of it is read from outside:
the page's own WebSocket and RTCPeerConnection are wrapped by an init script that
only listens.

Baseline: the same file over http://127.0.0.1 in a plain page's <video>, from setting
its src and calling play() to the first frame shown (requestVideoFrameCallback), a
fresh URL each run so nothing comes from the cache.

Besides: the time a fresh Python takes to import the bot (its share of "process
started → joined"), measured in a process of its own.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.first_frame import _join, _page, _post
from bench.processes import descendants, local_stack
from harness import chromium

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MS = 60_000  # a run with no frame after this counts as failed
# The stages of the streamer's start-up, in the order they usually come.
STAGES = [("answered", "POST answered"), ("process", "bot process started"),
          ("joined", "bot joined"), ("offer", "offer applied"), ("answer", "answer applied"),
          ("connected", "connection up"), ("playing", "source open (`playing`)"),
          ("decoded", "first frame decoded (getStats, polled)"), ("shown", "first frame shown"),
          ("clip", "first picture of the clip shown")]

# Marks (performance.now()) of what the page sees, first time each.
_MARKS = """(() => {
  const marks = window.__startup = {}, BLACK = [640, 360];  // bots/streamer/tracks.py
  const mark = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        let m;
        try { m = JSON.parse(e.data); } catch { return; }
        if (m.event === 'participant-joined' && m.participant?.role === 'bot') mark('joined');
        if (m.event === 'stream-updated' && m.stream?.state === 'playing') mark('playing');
      });
    }
  };
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(...args) {
      super(...args);
      this.addEventListener('connectionstatechange',
        () => this.connectionState === 'connected' && mark('connected'));
    }
    async setLocalDescription(...args) {
      await super.setLocalDescription(...args);
      if (this.localDescription) mark(this.localDescription.type);
    }
    async setRemoteDescription(...args) {
      await super.setRemoteDescription(...args);
      if (this.remoteDescription) mark(this.remoteDescription.type);
    }
  };
  new MutationObserver(() => {
    for (const v of document.querySelectorAll('.tile:not(.self) video')) {
      if (v.__watched) continue;
      v.__watched = true;
      const next = (now, frame) => {
        mark('shown');
        if (frame.width === BLACK[0] && frame.height === BLACK[1]) v.requestVideoFrameCallback(next);
        else mark('clip');
      };
      v.requestVideoFrameCallback(next);
    }
  }).observe(document, {subtree: true, childList: true});
})();"""

# The POST from the page, then wait for the first decoded frame; times relative to the
# POST being sent, and the system clock (Date.now()) at that moment.
_START = """async ([path, token, body, limit]) => {
  const marks = window.__startup;
  const epoch = Date.now(), t0 = performance.now();
  const res = await fetch(path, {method: 'POST', body: JSON.stringify(body),
    headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + token}});
  marks.answered = performance.now();
  const reply = await res.json();
  if (res.status !== 201) return {error: res.status + ' ' + JSON.stringify(reply)};
  while (performance.now() - t0 < limit && !('decoded' in marks && 'clip' in marks)) {
    const stats = window.__parley ? await window.__parley.stats() : {};
    if (Object.values(stats).some((s) => s && s.framesDecoded > 0)) marks.decoded ??= performance.now();
    await new Promise((r) => setTimeout(r, 5));
  }
  const times = {};
  for (const [k, v] of Object.entries(marks)) if (v >= t0) times[k] = v - t0;
  return {sid: reply.stream.id, epoch, times};
}"""

_STOP = """async ([path, token]) => {
  await fetch(path, {method: 'DELETE', headers: {Authorization: 'Bearer ' + token}});
}"""

# Baseline: the file in a <video>, src set and play() called to the first frame shown.
_BASELINE = """async ([src, limit]) => {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  document.body.append(video);
  const t0 = performance.now();
  const shown = new Promise((r) => video.requestVideoFrameCallback(() => r(performance.now() - t0)));
  video.src = src;
  video.play().catch(() => {});
  return await Promise.race([shown, new Promise((r) => setTimeout(() => r(null), limit))]);
}"""


def _started_at(pid: int) -> float | None:
    """When process `pid` started, in seconds of the system clock (to 1/CLK_TCK s)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME) - since_boot)


def _wait_gone(pids: list[int], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)


def streamer_run(browser, base: str, stack_pid: int, source: str) -> dict:
    """One start-up: a fresh meeting, its host's page, the stream started from the page."""
    created = _post(f"{base}/api/meetings", {"name": "bench start-up"})
    mid = created["meeting"]["id"]
    before = set(descendants(stack_pid))
    context, page = _page(browser, base, _MARKS)
    try:
        page.goto("/")
        page.evaluate("([k, v]) => sessionStorage.setItem(k, JSON.stringify(v))",
                      [f"parley.host.{mid}", created["hostKey"]])
        with page.expect_response(lambda r: r.url.endswith(f"/meetings/{mid}/join")) as joined:
            _join(page, mid, "Host")
        token = joined.value.json()["token"]
        page.wait_for_function("() => window.__parley")
        path = f"/api/meetings/{mid}/streams"
        result = page.evaluate(_START, [path, token, {"source": source, "title": "Clip",
                                                      "resume": False, "loop": True}, LIMIT_MS])
        if "error" in result:
            raise RuntimeError(f"the stream was not started: {result['error']}")
        bots = [pid for pid in descendants(stack_pid) if pid not in before]
        started = [at for at in map(_started_at, bots) if at is not None]
        if started:
            result["times"]["process"] = (min(started) - result["epoch"] / 1000) * 1000
        page.evaluate(_STOP, [f"{path}/{result['sid']}", token])
    finally:
        context.close()
    _wait_gone(bots)  # the next run starts with no bot of this one still running
    return result["times"]


def baseline_run(browser, media_base: str, clip: str, run: int) -> float | None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(media_base + "/")
        return page.evaluate(_BASELINE, [f"{media_base}/{clip}?run={run}", LIMIT_MS])
    finally:
        context.close()


def import_seconds() -> tuple[float, float]:
    """A fresh Python importing the streamer bot: (its whole run, the imports alone), s."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); "
                           "import bots.streamer.bot; print(time.perf_counter() - t)"],
                          cwd=ROOT, check=True, capture_output=True, text=True)
    return time.monotonic() - started, float(proc.stdout)


def run(media_base: str, clip: str, runs: int) -> dict:
    """`runs` start-ups of the streamer and of the baseline, alternating, on one stack, each
    pair after a fresh Python importing the bot (while no bot runs)."""
    from playwright.sync_api import sync_playwright

    streamer, baseline, imports = [], [], []
    with local_stack(PARLEY_ICE_SERVERS="[]") as (base, stack_pid), sync_playwright() as pw:
        browser = chromium.launch(pw)
        try:
            for i in range(runs):
                imports.append(import_seconds())
                baseline.append(baseline_run(browser, media_base, clip, i))
                streamer.append(streamer_run(browser, base, stack_pid, f"{media_base}/{clip}"))
        finally:
            browser.close()
    return {"clip": clip, "runs": runs, "streamer": streamer, "baseline": baseline,
            "python_s": statistics.median(whole for whole, _ in imports),
            "import_s": statistics.median(alone for _, alone in imports)}


def _spread(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def _median(values: list) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


# Where the time goes: (what, from, to) between stages of one run; `from` may be a tuple
# (the later of them), 0 is the POST being sent.
SPANS = [("the route, until the launcher's process exists", 0, "process"),
         ("Python starting, its REST join (the media modules importing meanwhile)",
          "process", "joined"),
         ("the rest of the imports, offer, answer, ICE and DTLS", "joined", "connected"),
         ("in parallel: the source opening (a file's begun at the join), its first media, "
          "the report", "joined", "playing"),
         ("from both of those to the clip's first picture shown", ("connected", "playing"), "clip")]


def _span(times: dict, start, end) -> float | None:
    starts = [0.0 if s == 0 else times.get(s) for s in (start if isinstance(start, tuple) else (start,))]
    if end not in times or None in starts:
        return None
    return times[end] - max(starts)


CUTS = """What would cut it. The bot's own start is the largest part: a fresh Python
importing aiortc, PyAV and numpy. The bot joins, reads its stream and begins to open a
file's source while those are still importing (bots/streamer/early.py), so its
participant-joined comes before its imports are done and the rest of them is counted
in "joined → connected"; a streamer kept warm (a process that has imported the bot and
waits for its job) would take most of it away, and in AWS the same holds for a Fargate
task, whose start (tens of seconds, not in this local figure) dwarfs the rest.
Negotiation: the offer leaves once the bot is made, then aiortc's ICE checks and DTLS
handshake run in Python. The first picture: a VP8 keyframe of 1280×720
encoded on the bot's executor, sent and decoded."""


def markdown(result: dict) -> str:
    runs, count = result["streamer"], result["runs"]
    clip, base = _median([t.get("clip") for t in runs]), _median(result["baseline"])
    lines = [
        "### Start-up", "",
        "| | ms to the first picture shown: median (min–max) | ratio |", "|---|---|---|",
        f"| streamer: POST → its tile shows the clip | {_spread([t.get('clip') for t in runs])} "
        f"| **{clip / base:.1f}×** |",
        f"| baseline: the same file in a page's `<video>` | {_spread(result['baseline'])} | 1× |",
        "", "| from the POST sent to … | ms, median (min–max) |", "|---|---|",
        *(f"| {label} | {_spread([t.get(key) for t in runs])} |" for key, label in STAGES),
        "", "| where the time goes | ms, median (min–max) |", "|---|---|",
        *(f"| {what} | {_spread([_span(t, start, end) for t in runs])} |"
          for what, start, end in SPANS),
        "",
        f"{count} run{'s' if count != 1 else ''} each, alternating, of `{result['clip']}` "
        "served over HTTP on this machine. Each streamer run is a fresh meeting whose host's "
        "page sends the POST (fetch) and stamps every stage in its own clock; the bot's "
        "process start is read from /proc. Until the source's first picture the bot sends a "
        "black one (bots/streamer/tracks.py), so \"first frame shown\" can come before the "
        f"clip. A fresh Python importing the bot takes {result['python_s'] * 1000:.0f} ms, "
        f"{result['import_s'] * 1000:.0f} ms of it the imports.",
        "", CUTS.replace("\n", " ")]
    missing = sum(1 for t in runs if "clip" not in t)
    if missing:
        lines.append(f"\n{missing} of {count} streamer runs showed no picture of the clip "
                     f"within {LIMIT_MS // 1000} s (left out of the medians).")
    return "\n".join(lines)
