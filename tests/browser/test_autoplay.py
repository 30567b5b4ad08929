"""Remote sound that the browser refuses to autoplay: tiles play muted and a notice asks for
one click or key press. This module runs its own Chromium with the strict autoplay policy
(sound only after the person has clicked or pressed a key in the document).

Two things let Chromium play sound anyway, so the test avoids them until the refusal: a page
that is capturing camera or mic (Bob has neither), and Playwright itself, whose evaluate and
wait_for_selector run with a user gesture. The page says "autoplay refused" on its console,
which Playwright can wait for without running anything in it."""

import pytest

from .conftest import join

STRICT_AUTOPLAY = "--autoplay-policy=document-user-activation-required"
NOTICE = ".toast:has-text('turn on sound')"

# Test-only: no camera or microphone (getUserMedia fails as on a machine without them); a
# refused play() is logged; window.__listeners() lists the window listeners registered now,
# each with the line that added it.
BOB_PAGE = """(() => {
  navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('none', 'NotFoundError'));
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    const playing = play.call(this);
    playing.catch((e) => e.name === 'NotAllowedError' && console.info('autoplay refused'));
    return playing;
  };
  const live = new Set();
  const add = window.addEventListener;
  const remove = window.removeEventListener;
  const capture = (o) => (typeof o === 'boolean' ? o : !!o?.capture);
  window.addEventListener = function (type, fn, opts) {
    live.add({type, fn, capture: capture(opts), from: new Error().stack.split('\\n')[2] || ''});
    return add.call(this, type, fn, opts);
  };
  window.removeEventListener = function (type, fn, opts) {
    for (const l of live) if (l.type === type && l.fn === fn && l.capture === capture(opts)) live.delete(l);
    return remove.call(this, type, fn, opts);
  };
  window.__listeners = () => [...live].map((l) => l.type + ' ' + l.from.trim());
})();"""


@pytest.fixture(scope="module")
def strict_browser(launch_browser):
    return launch_browser(STRICT_AUTOPLAY)


def room_view_listeners(person, module="/js/ui/"):
    """The window listeners the room's UI modules (or the one named) have registered now."""
    return [entry for entry in person.evaluate("window.__listeners()") if module in entry]


def reloaded_with_sound_refused(people, meeting, strict_browser):
    """Ada, and Bob (listen-only) in the strict browser, who reloads: a page nobody has
    clicked in yet, which rejoins by itself."""
    mid = meeting()
    (ada,) = people(1)
    (bob,) = people(1, init_script=BOB_PAGE, in_browser=strict_browser)
    ada_id = join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    with bob.expect_console_message(lambda m: m.text == "autoplay refused"):
        bob.reload()
    bob.wait_for_selector(NOTICE)
    video = f'.tile[data-pid="{ada_id}"] video'
    assert bob.evaluate("v => document.querySelector(v).muted", video) is True
    return bob, video


def test_a_key_press_turns_the_refused_sound_on_and_plays(people, meeting, strict_browser):
    bob, video = reloaded_with_sound_refused(people, meeting, strict_browser)
    bob.keyboard.press("Shift")
    bob.wait_for_function("v => { const el = document.querySelector(v); return !el.muted && !el.paused; }",
                          arg=video, timeout=10_000)
    bob.wait_for_selector(NOTICE, state="detached")
    assert room_view_listeners(bob, "/js/ui/roomview.js") == []  # the notice's; shortcuts stay
    assert bob.errors == []


def test_the_sound_notice_and_its_listeners_go_with_the_room(people, meeting, strict_browser):
    bob, _ = reloaded_with_sound_refused(people, meeting, strict_browser)
    bob.evaluate("location.hash = '#/'")  # leaves the meeting
    bob.wait_for_selector(".landing")
    assert bob.locator(NOTICE).count() == 0
    assert room_view_listeners(bob) == []
    bob.keyboard.press("Shift")
    bob.mouse.click(5, 5)
    assert bob.errors == []
