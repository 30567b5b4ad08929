"""Connection quality in the room (frontend/js/ui/quality.js): signal bars on every remote
tile with their details, and the "your connection is poor" notice's hysteresis. The relayed
path is checked in test_relay.py, on the stack with a TURN server."""

import re

from .conftest import ada_bob_and_cy, quality_details, save_screenshot, wait_remote_videos_playing


def test_every_remote_tile_shows_signal_bars_whose_details_give_the_numbers_of_a_direct_call(people, stack):
    _, pages, ids = ada_bob_and_cy(people, stack)
    for person in pages:
        wait_remote_videos_playing(person, 2)
    for person, me in zip(pages, ids, strict=True):
        # bars on each remote tile (a connected level, 1–4), none on our own
        for pid in ids:
            selector = f'.tile[data-pid="{pid}"] .quality'
            if pid == me:
                assert person.query_selector(selector) is None
            else:
                person.wait_for_selector(f'{selector}:not([data-level="0"])')
                label = person.get_attribute(selector, "aria-label")
                assert re.fullmatch(r"Connection to (Ada|Bob|Cy): (excellent|good|fair|poor)", label), label

    ada = pages[0]
    details = quality_details(ada, ids[1])
    assert re.fullmatch(r"\d+ ms", details["rtt"]), details
    assert re.fullmatch(r"\d+\.\d %", details["loss"]), details
    assert re.fullmatch(r"[1-9][\d.]* (kbit/s|Mbit/s)", details["bitrate"]), details
    assert re.fullmatch(r"\d+ × \d+(, \d+ fps)?", details["resolution"]), details
    assert details["path"] == "Direct", details

    # the keyboard opens and closes them too, and Escape gives the focus back to the bars
    bars = f'.tile[data-pid="{ids[2]}"] .quality'
    ada.focus(bars)
    ada.keyboard.press("Enter")
    ada.wait_for_selector("#quality-details:focus")
    assert ada.get_attribute(bars, "aria-expanded") == "true"
    assert "Connection to Cy" in ada.text_content("#quality-details h3")
    save_screenshot(ada, "room-connection-details.png")
    ada.keyboard.press("Escape")
    ada.wait_for_selector("#quality-details", state="detached")
    assert ada.evaluate("(sel) => document.activeElement === document.querySelector(sel)", bars)
    assert ada.get_attribute(bars, "aria-expanded") == "false"
    assert ada.is_hidden("#poor-connection")
    for person in pages:
        assert person.errors == []


# The notice's state, fed readings one second apart: it shows only after 5 s of bad ones in a
# row, stays through a short good spell, and goes after 10 s of good ones in a row. What counts
# as bad: what we send comes back slow or lossy as the other side reports it, or the encoder is
# held back for bandwidth with little of it estimated to be available.
HYSTERESIS = """async () => {
  const {Hysteresis, sendsBadly} = await import('/js/ui/quality.js');
  const notice = new Hysteresis(5000, 10000);
  const states = [];
  const feed = (bad, seconds) => {
    for (let i = 0; i < seconds; i++) states.push(notice.feed(bad, states.length * 1000));
  };
  feed(false, 3);
  feed(true, 3);  // a short bad spell: nothing
  feed(false, 1);
  feed(true, 7);  // a lasting one: on once 5 s have passed
  feed(false, 4); // a short good spell: still on
  feed(true, 1);
  feed(false, 12); // a lasting one: off once 10 s have passed
  const good = {sendRtt: 0.05, sendLoss: 0, limited: false, available: 2e6};
  return {states, bad: [good, {...good, sendRtt: 0.6}, {...good, sendLoss: 0.2}, {...good, limited: true},
    {...good, limited: true, available: 100e3}].map(sendsBadly)};
}"""


def test_the_poor_connection_notice_needs_a_lasting_bad_spell_to_show_and_a_lasting_good_one_to_go(people):
    (page,) = people(1)
    page.goto("/")
    result = page.evaluate(HYSTERESIS)
    on = [i for i, state in enumerate(result["states"]) if state]
    # bad from reading 7 on: on at reading 12 (5 s later); good 14–17, bad at 18, good from 19 on:
    # off at reading 29 (10 s after 19)
    assert on == list(range(12, 29)), result["states"]
    assert result["bad"] == [False, True, True, False, True]
    assert page.errors == []
