"""Join to first remote frame through TURN only vs direct ICE, in the same run.

Two local stacks, each with its own coturn (the one `make run` starts) and the same ICE
servers: one tells its pages `iceTransportPolicy: "relay"` (PARLEY_ICE_POLICY=relay), so
every call goes page → coturn → page; the other leaves the browser's default, so ICE
picks the direct (host) path. Each run is a 2-person join timed as in section 2
(bench/first_frame.py: from the newcomer's Join click to its first decoded remote frame);
relay and direct runs alternate, so the machine's load drifts over both alike. After
each run the newcomer's selected candidate pair is read, so the report shows which path
the frames really took. No STUN server: nothing is reachable offline.
"""

import statistics

from bench import first_frame
from bench.processes import local_stack
from devserver import coturn
from harness import chromium

# Collect the page's RTCPeerConnections, to read the candidate pair each one uses.
_COLLECT_PCS = """(() => {
  const all = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...a) { super(...a); all.push(this); }
  };
  window.__benchPaths = () => Promise.all(all.filter((pc) => pc.connectionState === 'connected')
    .map(async (pc) => {
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((r) => {
        if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
      });
      const local = pair && stats.get(pair.localCandidateId);
      return local ? local.candidateType + (local.relayProtocol ? ` over ${local.relayProtocol}` : '') : null;
    }));
})();"""


def _one(browser, base, paths: list) -> float | None:
    """The newcomer's first-frame time of one 2-person join; its path type goes to `paths`."""
    times = first_frame.parley_run(
        browser, base, 2, init_script=_COLLECT_PCS,
        after=lambda page: paths.extend(page.evaluate("() => window.__benchPaths()")))
    return min(times) if times else None


def run(quick: bool = False) -> dict:
    """{"relay"|"direct": {"times": [ms or None], "paths": {candidate type: count}}}."""
    from playwright.sync_api import sync_playwright

    if coturn.binary() is None:
        return {"skipped": "coturn is not installed (make coturn installs it)"}
    runs = 1 if quick else 7
    results = {mode: {"times": [], "paths": []} for mode in ("relay", "direct")}
    with local_stack(TURN="on", PARLEY_ICE_SERVERS="[]", PARLEY_ICE_POLICY="relay") as (relay, _), \
            local_stack(TURN="on", PARLEY_ICE_SERVERS="[]") as (direct, _), \
            sync_playwright() as pw:
        browser = chromium.launch(pw)
        try:
            bases = {"relay": relay, "direct": direct}
            for i in range(runs):
                order = ("relay", "direct") if i % 2 == 0 else ("direct", "relay")
                for mode in order:
                    result = results[mode]
                    result["times"].append(_one(browser, bases[mode], result["paths"]))
        finally:
            browser.close()
    for result in results.values():
        result["paths"] = {kind: result["paths"].count(kind) for kind in sorted(
            set(result["paths"]), key=str)}
    return results


def medians(results: dict) -> dict:
    """{"relay": ms, "direct": ms, "ratio": relay/direct} over the runs that connected."""
    out = {}
    for mode in ("relay", "direct"):
        done = [t for t in results[mode]["times"] if t is not None]
        out[mode] = statistics.median(done) if done else float("nan")
    out["ratio"] = out["relay"] / out["direct"]
    return out


def markdown(results: dict) -> str:
    if "skipped" in results:
        return f"Not measured: {results['skipped']}."
    m = medians(results)
    runs = len(results["relay"]["times"])

    def row(mode, label):
        r = results[mode]
        done = [t for t in r["times"] if t is not None]
        spread = f"{min(done):.0f}–{max(done):.0f}" if done else "–"
        paths = ", ".join(f"{kind} × {n}" for kind, n in r["paths"].items()) or "–"
        return (f"| {label} | {m[mode]:.0f} | {spread} | {len(done)} of {runs} | {paths} |")

    return "\n".join([
        "| ICE | first frame ms (median) | range ms | connected | newcomer's path (local candidate) |",
        "|---|---|---|---|---|",
        row("relay", "TURN only (`iceTransportPolicy: \"relay\"`, local coturn)"),
        row("direct", "direct (browser default, same ICE servers)"),
        "",
        f"**TURN only / direct: {m['ratio']:.2f}×** (medians of {runs} alternating runs "
        "each, 2 people, from the newcomer's Join click to its first decoded remote frame, "
        "as in section 2). Through TURN each page first allocates a relay on coturn for "
        "each TURN URL (an Allocate that a first 401 makes two round trips), then adds a "
        "permission and binds a channel for the peer; every packet then goes "
        "through coturn. coturn here is on the same machine, so the figure is the protocol's cost "
        "and coturn's CPU, not a network's: in AWS the relay adds the round trips to the "
        "TURN host (docs/DEPLOY.md, \"TURN\").",
    ])


def facts(results: dict) -> dict:
    return {} if "skipped" in results else {"turn_first_frame_ratio": medians(results)["ratio"]}


if __name__ == "__main__":
    print(markdown(run()))
