"""Debian's Chromium, driven by Playwright, with a fake camera and microphone.

Playwright's own browser download does not work here; the Makefile installs Debian's
`chromium` and every browser test and benchmark launches it through `launch`.
"""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--no-sandbox",
        "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def launch(playwright, extra_args=()):
    """A headless Chromium (`playwright` is a started sync_playwright()), with `extra_args`
    after the usual flags (e.g. a stricter autoplay policy)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*ARGS, *extra_args])
