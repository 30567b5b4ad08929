"""Recorder cost: the recorder's mixer taking 2, 4 and 6 synthetic 640x480 participants
(30 fps pictures of FFmpeg's moving testsrc2 pattern and a 48 kHz tone each, handed over
as decoded frames, as aiortc hands them to a bot) in `av` mode, the heaviest: grid
composition, H.264 and AAC.

Each run is a fresh process, so its peak memory is its own. The baseline is the same
participants with their tracks only drained, which is what a bot pays to receive without
recording; the difference is the mixing and encoding. Decoding the participants' VP8 or
H.264 is not in either figure (synthetic frames arrive decoded): that cost is aiortc's,
paid per received stream whether or not anything is recorded.
"""

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTS = (2, 4, 6)
TARGET_CPU = 0.5  # of one core, at 6 participants in av mode
MAX_BEHIND = 2.0  # seconds


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(count: int, seconds: float, record: bool) -> dict:
    from bots.recorder.mixer import Mixer
    from harness.media import FramesTrack, ToneTrack, pattern_frames

    pattern = pattern_frames()  # one second of it, each participant from another moment
    people = [(ToneTrack(300 + 150 * i), FramesTrack(pattern, offset=5 * i)) for i in range(count)]
    with tempfile.TemporaryDirectory() as directory:
        mixer = Mixer("av", Path(directory)) if record else None
        drains = []
        cpu, wall = _cpu(), time.monotonic()
        if mixer:
            await mixer.start()
        for i, tracks in enumerate(people):
            for track in tracks:
                if mixer:
                    mixer.attach(f"p{i}", track)
                else:
                    drains.append(asyncio.ensure_future(_drain(track)))
        await asyncio.sleep(seconds)
        result = await mixer.stop() if mixer else None
        cpu, wall = _cpu() - cpu, time.monotonic() - wall
        for task in drains:
            task.cancel()
        figures = {"cpu_per_second": cpu / wall, "seconds": wall,
                   "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        if result:
            await mixer.close()
            figures |= {"kbit_per_second": result.path.stat().st_size * 8 / 1000 / result.seconds,
                        "max_lag": result.max_lag, "dropped": result.dropped,
                        "skipped_pictures": result.skipped_pictures}
        return figures


async def _drain(track) -> None:
    while True:
        await track.recv()


def _run_one(count: int, seconds: float, record: bool) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.recorder", str(count), str(seconds),
                           "record" if record else "drain"], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=seconds + 120)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool) -> dict:
    seconds = 2.0 if quick else 10.0
    return {"seconds": seconds,
            "runs": {n: {"record": _run_one(n, seconds, True), "drain": _run_one(n, seconds, False)}
                     for n in COUNTS}}


def facts(result: dict) -> dict:
    six = result["runs"][6]["record"]
    return {"recorder_cpu_6": six["cpu_per_second"],
            "recorder_max_lag": max(r["record"]["max_lag"] for r in result["runs"].values())}


def markdown(result: dict) -> str:
    rows = ["| participants | CPU s per recorded s | baseline (drain only) | mixing + encoding | "
            "peak RSS MiB (baseline) | output kbit/s | furthest behind s | ticks dropped / "
            "without picture |", "|---|---|---|---|---|---|---|---|"]
    for n, run_ in result["runs"].items():
        rec, base = run_["record"], run_["drain"]
        rows.append(f"| {n} | {rec['cpu_per_second']:.2f} | {base['cpu_per_second']:.2f} | "
                    f"**{rec['cpu_per_second'] - base['cpu_per_second']:.2f}** | "
                    f"{rec['peak_rss_mib']:.0f} ({base['peak_rss_mib']:.0f}) | "
                    f"{rec['kbit_per_second']:.0f} | {rec['max_lag']:.2f} | "
                    f"{rec['dropped']} / {rec['skipped_pictures']} |")
    return "\n".join(rows + [
        "",
        f"Each run records {result['seconds']:.0f} s of testsrc2 pictures in `av` mode: a "
        "1280×720 grid at 15 fps "
        "(libx264 veryfast, zerolatency, CRF 26) with AAC mono 96 kbit/s, in a fresh "
        "process. CPU is the whole process (every thread), per second of wall time; the "
        "baseline drains the same synthetic tracks without recording. Target: ≤ "
        f"{TARGET_CPU} of one core at 6 participants, never more than {MAX_BEHIND:.0f} s "
        "behind real time."])


def main(argv) -> None:
    count, seconds, what = int(argv[0]), float(argv[1]), argv[2]
    print(json.dumps(asyncio.run(_measure(count, seconds, what == "record"))))


if __name__ == "__main__":
    main(sys.argv[1:])
