"""`python -m bench [--quick] [--out PATH]`: run every benchmark, write the report.

Each section measures against a baseline in the same run; absolute times on a shared
machine vary, ratios much less. `--quick` is a few-second smoke run (used by the tests).
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench import coldstart, cost
from harness.frontend_size import ALL_BUDGET, FIRST_PAINT_BUDGET

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
            f"{mem:.0f} GiB RAM, Python {platform.python_version()}")


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


SECTIONS = []


def section(title):
    def register(fn):
        SECTIONS.append((title, fn))
        return fn
    return register


# Each section returns its markdown and the figures the Targets table quotes.
@section("1. Signaling delivery (Parley local stack vs PeerJS server)")
def _signaling(quick):
    from bench import signaling_report

    return signaling_report.run(quick)


@section("2. Join to first remote frame (real Chromium)")
def _first_frame(quick):
    from bench import first_frame

    result = first_frame.run(quick)
    ratios = [r["parley_first"] / r["direct_first"] for r in result.values()]
    return first_frame.markdown(result), {"first_frame_ratio": max(ratios)}


@section("3. Cost per join and per participant-minute")
def _cost(quick):
    result = cost.run(quick)
    return cost.markdown(result), {"usd_per_1000": result["median_per_1000"]}


@section("4. Cold start")
def _coldstart(quick):
    result = coldstart.run(quick)
    lam = result.get("lambda", {})
    return coldstart.markdown(result), {"import_ms": result["imports"]["app_ms"],
                                        "lambda_import_ms": lam.get("bytecode_ms")}


@section("5. Frontend weight")
def _frontend(quick):
    from bench import frontend

    result = frontend.run(quick)
    gzipped = result["gzip"]
    return frontend.markdown(result), {"frontend_first_paint_kib": gzipped["first_paint"] / 1024,
                                       "frontend_all_kib": gzipped["all"] / 1024}


@section("6. Local stack capacity")
def _capacity(quick):
    from bench import capacity

    return capacity.markdown(capacity.run(quick)), {}


@section("7. Soak: meeting after meeting on one local stack")
def _soak(quick):
    from bench import soak

    result = soak.run(quick)
    return soak.markdown(result), soak.facts(result)


@section("8. Join storm over the protocol")
def _join_storm(quick):
    from bench import join_storm

    return join_storm.markdown(join_storm.run(quick)), {}


@section("9. Recorder: mixing and encoding 2, 4 and 6 participants")
def _recorder(quick):
    from bench import recorder

    result = recorder.run(quick)
    return recorder.markdown(result), recorder.facts(result)


@section("10. Streamer: playing a 720p and a 1080p file")
def _streamer(quick):
    from bench import streamer

    result = streamer.run(quick)
    return streamer.markdown(result), streamer.facts(result)


@section("11. Bandwidth-aware mesh: six pages")
def _mesh(quick):
    from bench import mesh

    result = mesh.run(quick)
    return mesh.markdown(result), mesh.facts(result)


@section("12. Join through TURN only vs direct")
def _turn_first_frame(quick):
    from bench import turn_first_frame

    result = turn_first_frame.run(quick)
    return turn_first_frame.markdown(result), turn_first_frame.facts(result)


def _verdict(value, goal, text, lower_is_better=True) -> str:
    if value is None:
        return "not measured in this run"
    met = value <= goal if lower_is_better else value >= goal
    return ("met: " if met else f"missed by {value / goal:.1f}×: ") + text.format(value)


def _frontend_verdict(first_paint_kib, all_kib) -> str:
    """Both budgets in one row: "missed by" the larger of the two overruns."""
    if first_paint_kib is None:
        return _verdict(None, 1, "")
    return _verdict(max(first_paint_kib * 1024 / FIRST_PAINT_BUDGET, all_kib * 1024 / ALL_BUDGET), 1,
                    f"{first_paint_kib:.1f} KiB before the room is painted, "
                    f"{all_kib:.1f} KiB in all (section 5)")


def _recorder_verdict(cpu, lag) -> str:
    """Both goals in one row, like the frontend's: "missed by" the larger overrun."""
    if cpu is None:
        return _verdict(None, 1, "")
    return _verdict(max(cpu / 0.5, lag / 2.0), 1, f"{cpu:.2f} of a core at 6, at most "
                    f"{lag:.2f} s behind (section 9)")


def _mesh_verdict(ratio, kept) -> str:
    """The ratio's goal, and missed outright when the main view lost resolution."""
    if ratio is None or kept:
        return _verdict(ratio, 0.40, "{:.2f}× the unshaped uplink, main view kept (section 11)")
    return f"missed: the main view's resolution dropped ({ratio:.2f}× the unshaped uplink, section 11)"


def targets_table(facts: dict) -> str:
    """The goals of the benchmark issue against this run's figures."""
    fact = facts.get
    sig_p99 = fact("signaling_p99")
    lam = fact("lambda_import_ms")
    rows = [
        ("signaling p50 within 5× PeerJS (200 clients × 1/s)",
         _verdict(fact("signaling_p50_ratio"), 5, "p50 {:.0f}× PeerJS (section 1)")),
        ("signaling p99 under 60 ms at that load",
         _verdict(sig_p99, 60, "p99 {:.0f} ms")
         + (f"; {fact('signaling_held'):.0f} tickets/s held" if sig_p99 is not None else "")),
        ("join to first frame within 1.3× the direct baseline",
         _verdict(fact("first_frame_ratio"), 1.3, "{:.2f}× at worst (section 2)")),
        ("under 0.05 USD per 1,000 participant-minutes (TURN excluded)",
         _verdict(fact("usd_per_1000"), 0.05, "{:.4f} USD (section 3)")),
        ("app import under 150 ms",
         _verdict(fact("import_ms"), 150, "{:.0f} ms with -X importtime in the dev venv")
         + (f"; {lam:.0f} ms as Lambda lays out the package (section 4)" if lam else "")),
        ("frontend JS + CSS gzip-transferred: ≤ 30 KB before the room is painted, ≤ 90 KB in all",
         _frontend_verdict(fact("frontend_first_paint_kib"), fact("frontend_all_kib"))),
        ("local stack memory flat after the first step of the soak (within 10 MiB)",
         _verdict(fact("soak_growth_mib") if fact("soak_growth_mib") is None
                  else max(0.0, fact("soak_growth_mib")), 10,
                  "{:.0f} MiB more at the last step (section 7)")),
        ("recorder: ≤ 0.5 of one core for 6 participants of 640×480 in av mode, never 2 s behind",
         _recorder_verdict(fact("recorder_cpu_6"), fact("recorder_max_lag"))),
        ("streamer: ≤ 0.5 of one core for a 720p file with one person connected",
         _verdict(fact("streamer_cpu_720p"), 0.5, "{:.2f} of a core (section 10)")),
        ("mesh: shaped uplink per sender ≤ 0.40 of unshaped, main view's resolution kept",
         _mesh_verdict(fact("mesh_uplink_ratio"), fact("mesh_main_kept"))),
    ]
    return "\n".join(["## Targets, and what closes the gaps", "",
                      "| target | this run |", "|---|---|"]
                     + [f"| {goal} | {verdict} |" for goal, verdict in rows])


TARGETS = """Where signaling's time goes. PeerJS relays a frame in memory in well under a
millisecond. Parley makes every ticket durable and replayable: a ticket is a REST call
(token check and meeting in one BatchGetItem, a conditional counter update, a put), a
stream read, a read of the recipient's connections and a push through the management
API, twice (the fast path, then the stream's copy a client drops by id). On the local
stack all of it runs in one Python process: chalice, botocore, PynamoDB and moto (a test
double that parses and evaluates every call in Python) share one GIL, so the rate held
is set by the stack's CPU per ticket (section 1's last column) on one core; past it,
requests queue and latency grows without bound. What has been taken out of a ticket's
path, from ~33 ms of one core at first: the embedded DynamoDB's in-process clients skip
HTTP altogether (botocore's body goes to moto's handler method and the answer is parsed
as botocore would: no signing, no WSGI environ, no Flask routing, no second parse of
the request, no generic serializer for plain items), moto parses each update expression
once, transactions no longer copy the whole table, the auth reads are one call, and the
management API's pushes go to the socket on the server's event loop instead of over
loopback HTTP. What is left is mostly moto's own evaluation of each call (UpdateItem's
expression validation above all), PynamoDB's and botocore's request building, Chalice's
event handling and the stream handler's decoding, in that order; the next step would be
a second core (REST in worker processes over the one embedded store), which the contract
allows behind the same `make run`. In AWS the same path is single-digit-millisecond
DynamoDB calls on as many concurrent Lambda instances as needed, while Lambda polls each
stream shard about four times a second, so there the stream hop costs up to ~250 ms; the
fast path takes it off a ticket's way.

A stack left running levels off (section 7): stream records are trimmed once delivered,
TTL deletes expired items, empty partitions are dropped, and the autoclear purge runs as
often as the retention period when that is under an hour.

Join to first frame: a join is now two signaling messages in a row, the newcomer's offer
and the answer, each with its candidates inside (docs/FRONTEND.md has the before and
after: four to six). At 4 people that is within 1.13× of the direct baseline in this run.
At 2 people the direct baseline is short (~350 ms), so Parley's fixed costs weigh more:
the REST join (~50–120 ms here), the room's start before the offer (~50 ms), and two
stored tickets, each a few ms of route plus the time the stack's one busy core takes to
get to it (~30–100 ms each on this shared machine). What would close it: a second core
for the stack (above), and on AWS the model in LATENCY.md puts the new path at ≈ 0.7 s
warm.

Import time: botocore dominates (PynamoDB needs it; section 4 lists chalice alone as the
baseline), and Lambda's runtime preloads nothing, so the figure is what a cold start
pays. boto3 itself is now imported on the first WebSocket send, not at import. What is
left is botocore's own import; Lambda SnapStart for Python, or provisioned concurrency
for the REST function, removes it from the user's path.
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few-second smoke run")
    parser.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    parser.add_argument("--only", help="comma-separated section numbers, e.g. 3,4")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` on {now}, commit {_commit()}.",
        f"Machine: {machine()}.",
        "All servers ran on this machine (localhost); each figure is compared with a "
        "baseline measured in the same run.",
        "What the same paths cost in AWS, on paper with sources: [LATENCY.md](LATENCY.md).",
    ]
    failed = 0
    facts = {}
    for title, fn in SECTIONS:
        if only and title.split(".")[0] not in only:
            continue
        started = time.monotonic()
        print(f"== {title}", file=sys.stderr, flush=True)
        try:
            body, found = fn(args.quick)
            facts.update(found)
        except Exception:
            failed += 1
            body = "This section failed in this run:\n\n```\n" + traceback.format_exc() + "```"
        parts += ["", f"## {title}", "", body, "",
                  f"_Section time: {time.monotonic() - started:.0f} s._"]
    if not only:
        parts += ["", targets_table(facts), "", TARGETS]
    Path(args.out).write_text("\n".join(parts) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
