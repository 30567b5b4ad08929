"""The bandwidth-aware mesh: six Chromium pages in one meeting, unshaped then shaped.

Both runs use the same layout: page i pins page i+1 (its main view), so every sender is one
page's main view and the others' strip tiles (thumbnails, or hidden when the strip scrolls
them out of a 960×600 window). The unshaped run opens the pages with `?shaping=off`, so each
peer gets the browser's default encoding; the shaped run without it. After the media has
settled, we read each page's getStats over a steady window: what it sends (outbound-rtp
bytesSent, audio and video, summed over its peers, per second), what its main view receives
(inbound-rtp frame size), and its CPU time per second: the renderer processes' (all threads,
from /proc, shared out per page) and its main thread's (CDP Performance TaskDuration).
"""

import contextlib
import os
import statistics
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.first_frame import _page, _post
from bench.processes import descendants, local_stack, own_cpu_seconds
from harness import chromium

TIMEOUT_MS = 120_000
# The pages' camera, in both runs: 640×360 instead of the 720p the page asks for. Six pages are
# 30 encoders and 30 decoders on this machine's two cores; at 720p both runs are CPU-bound (the
# encoders drop resolution and frames for CPU, not for the network) and the CPU sets the uplink.
CAMERA = {"width": 640, "height": 360}
_CAMERA_SCRIPT = """(() => {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  const size = {width: {ideal: WIDTH}, height: {ideal: HEIGHT}};
  navigator.mediaDevices.getUserMedia = (c) => gum(c && c.video
    ? {...c, video: {...(typeof c.video === 'object' ? c.video : {}), ...size}} : c);
})()""".replace("WIDTH", str(CAMERA["width"])).replace("HEIGHT", str(CAMERA["height"]))

_PLAYING = """n => {
  const tiles = [...document.querySelectorAll('.tile:not(.self):not(.screen)')];
  return tiles.length === n && tiles.every(t => t.querySelector('video').videoWidth > 0);
}"""
_COUNT_PLAYING = """() => [...document.querySelectorAll('.tile:not(.self):not(.screen) video')]
  .filter(v => v.videoWidth > 0).length"""
_HEARD = """n => Object.keys(window.__parleyMesh.shown()).length === n
  && Object.keys(window.__parleyMesh.told()).length === n"""
_READ = "async () => await window.__parleyMesh.rtp()"


def _chromium_cpu() -> dict:
    """CPU seconds so far of this process's Chromium processes, each counted once (its own
    time, not its children's): {"renderer": s, "all": s}."""
    total = {"renderer": 0.0, "all": 0.0}
    for pid in descendants(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"chromium" not in cmdline.split(b"\0")[0]:
                continue
            cpu = own_cpu_seconds(pid)
        except OSError:
            continue
        total["all"] += cpu
        if b"--type=renderer" in cmdline:
            total["renderer"] += cpu
    return total


def _task_seconds(cdp) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def meeting_run(browser, base, n, shaped, seconds) -> dict:
    """n pages in a new meeting, page i pinning page i+1; the figures of one steady window."""
    mid = _post(f"{base}/api/meetings", {"name": "mesh bench", "maxParticipants": 8})["meeting"]["id"]
    query = "" if shaped else "?shaping=off"
    contexts, pages, ids = [], [], []
    try:
        for i in range(n):
            context, page = _page(browser, base, _CAMERA_SCRIPT)  # 960×600
            page.set_default_timeout(TIMEOUT_MS)  # six pages: longer than one join's
            contexts.append(context)
            page.goto(f"/{query}#/{mid}")
            page.fill("#display-name", f"p{i}")
            page.click("#join-button")
            page.wait_for_selector("#toggle-chat", state="attached")  # the room and its tools
            pages.append(page)
            ids.append(page.evaluate("window.__parley.me"))
        for page in pages:  # a page still short of a video after that is measured as it is
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function(_PLAYING, arg=n - 1)
        mains = {ids[i]: ids[(i + 1) % n] for i in range(n)}
        for page, me in zip(pages, ids, strict=True):  # a click on the tile pins it (ui/stage.js)
            tile = f'.tile[data-pid="{mains[me]}"]'
            page.wait_for_selector(tile, state="attached")
            page.evaluate("(sel) => document.querySelector(sel).click()", tile)
        if shaped:  # every page has told every sender, and each sender has heard
            for page in pages:
                with contextlib.suppress(PlaywrightTimeout):
                    page.wait_for_function(_HEARD, arg=n - 1)
        time.sleep(2 if seconds < 10 else 10)  # encoders reconfigured, estimates settled
        cdps = [page.context.new_cdp_session(page) for page in pages]
        for cdp in cdps:
            cdp.send("Performance.enable")
        before = [page.evaluate(_READ) for page in pages]
        tasks0 = [_task_seconds(cdp) for cdp in cdps]
        cpu0, t0 = _chromium_cpu(), time.monotonic()
        time.sleep(seconds)
        after = [page.evaluate(_READ) for page in pages]
        tasks1 = [_task_seconds(cdp) for cdp in cdps]
        cpu1, dt = _chromium_cpu(), time.monotonic() - t0
        views = [page.evaluate("window.__parleyMesh.shown()") for page in pages]
        playing = sum(page.evaluate(_COUNT_PLAYING) for page in pages)
    finally:
        for context in contexts:
            context.close()

    def sent(rtp):
        return sum(side.get("bytes", 0) for peer in rtp.values() for side in peer["out"].values())

    uplink = [(sent(b) - sent(a)) * 8 / dt for a, b in zip(before, after, strict=True)]
    main = [after[i][mains[me]]["in"].get("video") or {} for i, me in enumerate(ids)]
    classes = {}
    for shown in views:
        for view in shown.values():
            classes[view] = classes.get(view, 0) + 1
    return {
        "uplink_bps": uplink,
        "main_heights": [m.get("height", 0) for m in main],
        "main_widths": [m.get("width", 0) for m in main],
        "renderer_cpu": (cpu1["renderer"] - cpu0["renderer"]) / dt / n,
        "chromium_cpu": (cpu1["all"] - cpu0["all"]) / dt / n,
        "main_thread": statistics.median((b - a) / dt for a, b in zip(tasks0, tasks1, strict=True)),
        "views": classes,
        "playing": playing,  # remote videos with a frame, of n × (n − 1)
        "seconds": dt,
    }


def run(quick: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    n, seconds = (4, 4) if quick else (6, 20)
    with local_stack(PARLEY_ICE_SERVERS="[]") as (base, _proc), sync_playwright() as pw:
        browser = chromium.launch(pw)
        try:
            unshaped = meeting_run(browser, base, n, False, seconds)
            shaped = meeting_run(browser, base, n, True, seconds)
        finally:
            browser.close()
    return {"people": n, "unshaped": unshaped, "shaped": shaped,
            "ratio": statistics.mean(shaped["uplink_bps"]) / statistics.mean(unshaped["uplink_bps"])}


def facts(result: dict) -> dict:
    return {"mesh_uplink_ratio": result["ratio"],
            "mesh_main_kept": (statistics.median(result["shaped"]["main_heights"])
                               >= statistics.median(result["unshaped"]["main_heights"]))}


def markdown(result: dict) -> str:
    def kbps(values):
        mean, low, high = (x / 1e3 for x in (statistics.mean(values), min(values), max(values)))
        return f"{mean:.0f} (min {low:.0f}, max {high:.0f})"

    def size(r):
        return ", ".join(f"{w}×{h}" for w, h in zip(r["main_widths"], r["main_heights"], strict=True))

    n = result["people"]
    lines = ["| run | uplink per sender, kbit/s (mean, min, max) | main view received (each page) "
             "| renderer CPU per page | all Chromium CPU per page | main thread per page | views "
             "| remote videos playing |",
             "|---|---|---|---|---|---|---|---|"]
    for name in ("unshaped", "shaped"):
        r = result[name]
        views = ", ".join(f"{v} {c}" for v, c in sorted(r["views"].items())) or "none sent"
        lines.append(f"| {name} | {kbps(r['uplink_bps'])} | {size(r)} | {r['renderer_cpu']:.2f} s/s "
                     f"| {r['chromium_cpu']:.2f} s/s | {r['main_thread']:.3f} s/s | {views} "
                     f"| {r['playing']} of {n * (n - 1)} |")
    ratio = result["ratio"]
    kept = facts(result)["mesh_main_kept"]
    lines += ["", f"**Shaped uplink: {ratio:.2f}× the unshaped** (target ≤ 0.40); the main view's median "
              f"received height {'kept' if kept else 'dropped'} "
              f"({statistics.median(result['unshaped']['main_heights']):.0f} → "
              f"{statistics.median(result['shaped']['main_heights']):.0f} lines).",
              "",
              f"{result['people']} pages in one headless Chromium on this machine, the fake camera held to "
              f"{CAMERA['width']}×{CAMERA['height']} in both runs (the page asks for 720p; six pages' 30 "
              "encoders at 720p leave both runs CPU-bound on two cores, the CPU rather than the network "
              f"setting the uplink), {result['shaped']['seconds']:.0f} s steady window per run; "
              "page i pins page i+1, so each sender is one page's main view and a strip tile "
              "(thumbnail, or hidden once the strip scrolls it away) on the others. Uplink: "
              "outbound-rtp bytesSent (audio + video, all peers) per second. CPU: seconds of CPU "
              "per second of wall time; the renderers' (encoders and decoders run there) and all "
              "of Chromium's processes' summed and shared out per page, and one page's main thread "
              "(CDP TaskDuration, the median page). Both runs share the two cores with the local "
              "stack and each other's pages, so the CPU figures are for comparing the two runs."]
    return "\n".join(lines)
