"""Streamer cost: CPU per streamed second for a 720p and a 1080p file.

Each clip is 30 fps of FFmpeg's moving testsrc2 pattern with a tone, H.264 + AAC in
MP4, served over HTTP by a separate process (python -m http.server), as a presigned S3
URL is. Each run is a fresh process playing the clip on its real-time clock through the
streamer's own player (bots/streamer: decode, scale to at most 1280×720, resample, pace,
the two outgoing tracks), in two ways:
- `play`: the tracks drained, as with nobody connected: decoding and pacing alone;
- `peer`: every picture and sound frame also encoded the way aiortc's RTCRtpSender does
  for one connected person (its VP8 encoder at its 1.5 Mbit/s ceiling, its Opus
  encoder), on executor threads as the sender runs them. Each more person costs one more
  such encode; packetising and SRTP are left out (small next to encoding).
Then the start-up of the 720p clip from a host's POST to its first picture on a page,
against the same file played in a page (bench/streamer_startup.py).
"""

import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import streamer_startup
from harness.stack import free_port

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
TARGET_CPU = 0.5  # of one core, 720p with one person connected
STARTUP_RUNS = {True: 1, False: 5}  # start-ups timed, by `quick`
VP8_BITRATE = 1_500_000  # aiortc's VP8 ceiling; a good link reaches it in seconds


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_clip(path: Path, size: tuple[int, int], seconds: float) -> Path:
    """testsrc2 and a 440 Hz tone, libx264 (veryfast, CRF 23, keyframe every 2 s) + AAC."""
    import av

    width, height = size
    with av.open(f"testsrc2=size={width}x{height}:rate=30:duration={seconds}", format="lavfi") as src, \
            av.open(f"sine=frequency=440:sample_rate=48000:duration={seconds}", format="lavfi") as sine, \
            av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast", "crf": "23", "g": "60"}
        audio = out.add_stream("aac", rate=48000)
        for frame in src.decode(video=0):
            frame.pts = None
            for packet in video.encode(frame.reformat(format="yuv420p")):
                out.mux(packet)
        for frame in sine.decode(audio=0):
            frame.pts = None
            for packet in audio.encode(frame):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                out.mux(packet)
    return path


async def _measure(url: str, seconds: float, encode: bool) -> dict:
    from aiortc.codecs import get_encoder
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    from bots.streamer.player import Player

    player = Player()
    started = time.monotonic()
    await player.start(url)
    first_media = time.monotonic() - started
    loop = asyncio.get_running_loop()
    encoded = {"bytes": 0}

    async def pump(track, encoder):
        while True:
            frame = await track.recv()
            if encoder is not None:
                payloads, _ = await loop.run_in_executor(None, encoder.encode, frame, False)
                encoded["bytes"] += sum(len(p) for p in payloads)

    vp8 = opus = None
    if encode:
        vp8 = get_encoder(RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96))
        vp8.target_bitrate = VP8_BITRATE
        opus = get_encoder(RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2,
                                                 payloadType=111))
    cpu, wall = _cpu(), time.monotonic()
    pumps = [asyncio.ensure_future(pump(player.video, vp8)), asyncio.ensure_future(pump(player.audio, opus))]
    await asyncio.sleep(seconds)
    cpu, wall = _cpu() - cpu, time.monotonic() - wall
    position = player.position()
    for task in pumps:
        task.cancel()
    await player.close()
    return {"cpu_per_second": cpu / wall, "seconds": wall, "first_media_s": first_media,
            "behind_s": wall - position, "pictures": player.video.sent,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "kbit_per_second": encoded["bytes"] * 8 / 1000 / wall if encode else None}


def _run_one(url: str, seconds: float, encode: bool) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.streamer", url, str(seconds),
                           "peer" if encode else "play"], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=seconds + 120)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _served(directory: Path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(directory)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        from harness.http import fetch

        deadline = time.monotonic() + 30
        while True:
            try:
                fetch(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the file server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def run(quick: bool) -> dict:
    seconds = 3.0 if quick else 20.0
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for name, size in SIZES.items():
            make_clip(folder / f"{name}.mp4", size, seconds + 5)
        with _served(folder) as base:
            return {"seconds": seconds,
                    "runs": {name: {"play": _run_one(f"{base}/{name}.mp4", seconds, False),
                                    "peer": _run_one(f"{base}/{name}.mp4", seconds, True)}
                             for name in SIZES},
                    "startup": streamer_startup.run(base, "720p.mp4", STARTUP_RUNS[quick])}


def facts(result: dict) -> dict:
    return {"streamer_cpu_720p": result["runs"]["720p"]["peer"]["cpu_per_second"]}


def markdown(result: dict) -> str:
    rows = ["| clip | CPU s per streamed s, one person | decoding and pacing alone | "
            "encoding for one person | peak RSS MiB | VP8 + Opus kbit/s | behind real time s |",
            "|---|---|---|---|---|---|---|"]
    for name, run_ in result["runs"].items():
        peer, play = run_["peer"], run_["play"]
        rows.append(f"| {name} | {peer['cpu_per_second']:.2f} | {play['cpu_per_second']:.2f} | "
                    f"**{peer['cpu_per_second'] - play['cpu_per_second']:.2f}** | "
                    f"{peer['peak_rss_mib']:.0f} | {peer['kbit_per_second']:.0f} | "
                    f"{peer['behind_s']:.2f} |")
    return "\n".join(rows + [
        "",
        f"Each run streams {result['seconds']:.0f} s of a 30 fps testsrc2 clip (H.264 + AAC over "
        "HTTP) in a fresh process; CPU is the whole process (every thread) per second of wall "
        "time. 1080p is decoded and scaled to 1280×720 before it is sent. Each more person "
        "connected adds the encoding column again. Target: ≤ "
        f"{TARGET_CPU} of one core for 720p with one person connected.",
        "", streamer_startup.markdown(result["startup"])])


def main(argv) -> None:
    url, seconds, what = argv[0], float(argv[1]), argv[2]
    print(json.dumps(asyncio.run(_measure(url, seconds, what == "peer"))))


if __name__ == "__main__":
    main(sys.argv[1:])
