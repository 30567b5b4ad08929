"""Frontend weight: bytes shipped (no build step, no third-party code), gzip-transferred
against DESIGN.md's budgets (harness/frontend_size.py), and what it takes to get from the
meeting link to a painted room in Chromium."""

import statistics

from bench import first_frame
from bench.processes import local_stack
from harness import chromium, frontend_size
from harness.frontend_size import FRONTEND


def shipped_bytes() -> dict:
    sizes = {"js": 0, "css": 0, "html": 0, "other": 0}
    files = 0
    for path in FRONTEND.rglob("*"):
        if path.is_file():
            kind = path.suffix.lstrip(".")
            sizes[kind if kind in sizes else "other"] += path.stat().st_size
            files += 1
    return sizes | {"files": files}


def gzip_transferred() -> dict:
    """JS + CSS gzip-compressed: before the room is painted and in all, with file counts."""
    weight = frontend_size.weight(FRONTEND)
    return {"first_paint": weight.first_paint_total, "first_paint_files": len(weight.first_paint),
            "all": weight.shipped_total, "all_files": len(weight.shipped)}


def _room_paint(browser, base) -> dict:
    mid = first_frame._post(f"{base}/api/meetings", {"name": "paint"})["meeting"]["id"]
    context, page = first_frame._page(browser, base)
    try:
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"/#/{mid}")
        page.wait_for_selector("#join-button")
        to_prejoin = len(requests)
        fcp = page.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0]"
                            "?.startTime ?? null")
        page.fill("#display-name", "paint")
        page.click("#join-button")
        page.wait_for_selector(".room")
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
        return {"requests_to_prejoin": to_prejoin, "requests_to_room": len(requests),
                "fcp_ms": fcp}
    finally:
        context.close()


def run(quick: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    result = {"bytes": shipped_bytes(), "gzip": gzip_transferred()}
    with local_stack(PARLEY_ICE_SERVERS="[]") as \
            (base, _proc), sync_playwright() as pw:
        browser = chromium.launch(pw)
        try:
            runs = [_room_paint(browser, base) for _ in range(1 if quick else 5)]
        finally:
            browser.close()
    result["paint"] = {key: statistics.median(r[key] for r in runs if r[key] is not None)
                       for key in runs[0]}
    return result


def markdown(result: dict) -> str:
    b, g, p = result["bytes"], result["gzip"], result["paint"]
    first, every = frontend_size.FIRST_PAINT_BUDGET, frontend_size.ALL_BUDGET
    return "\n".join([
        "| shipped | bytes |", "|---|---|",
        f"| JavaScript (ES modules) | {b['js']:,} |", f"| CSS | {b['css']:,} |",
        f"| HTML | {b['html']:,} |", f"| other (icons) | {b['other']:,} |",
        f"| files | {b['files']} |",
        "",
        f"| JS + CSS, gzip-transferred (level {frontend_size.GZIP_LEVEL}) | files | bytes "
        "| budget |",
        "|---|---|---|---|",
        f"| before the room is painted (index.html's stylesheets and static imports) "
        f"| {g['first_paint_files']} | {g['first_paint']:,} | {first // 1024} KiB "
        f"({g['first_paint'] / first:.0%} of it) |",
        f"| all shipped | {g['all_files']} | {g['all']:,} | {every // 1024} KiB "
        f"({g['all'] / every:.0%} of it) |",
        "",
        "No third-party runtime code; `config.js` (generated) is left out.",
        "",
        f"From the meeting link: {p['requests_to_prejoin']:.0f} requests to the pre-join page "
        f"(first contentful paint at {p['fcp_ms']:.0f} ms), "
        f"{p['requests_to_room']:.0f} requests in all to a painted room "
        "(median of the runs; includes the REST calls and config.js).",
    ])


if __name__ == "__main__":
    print(markdown(run()))
