"""The room's tools in real Chromium on the local stack: chat (history, direct messages, inert
markup), raised hands, reactions and keyboard shortcuts."""

import json

from playwright.sync_api import TimeoutError

from harness.http import fetch

from .conftest import (
    ada_bob_and_cy,
    api_call,
    host_meeting,
    join,
    save_rtc_traces,
    tools_ready,
    wait_remote_videos_playing,
)

LOG = "#chat-log li"


def open_chat(person):
    tools_ready(person)
    if person.get_attribute("#toggle-chat", "aria-expanded") != "true":
        person.click("#toggle-chat")
    person.wait_for_selector("#chat-panel", state="visible")


def say(person, text, to=None):
    open_chat(person)
    person.select_option("#chat-to", to or "")  # "": everyone
    person.fill("#chat-input", text)
    person.press("#chat-input", "Enter")
    person.wait_for_function("() => document.querySelector('#chat-input').value === ''")


def texts(person):
    return person.eval_on_selector_all(f"{LOG} p", "ps => ps.map(p => p.textContent)")


def wait_text(person, text):
    person.wait_for_function("t => [...document.querySelectorAll('#chat-log li p')]"
                             ".some(p => p.textContent === t)", arg=text)


def history(stack, person, mid):
    """The chat history as the server gives it to this page's participant."""
    token = person.evaluate("JSON.parse(sessionStorage.getItem('parley.session')).token")
    status, _, body = fetch(f"{stack.api}/meetings/{mid}/messages",
                            headers={"Authorization": f"Bearer {token}"})
    assert status == 200, body
    return [m["text"] for m in json.loads(body)["messages"]]


def test_chat_goes_both_ways_and_a_late_joiner_and_a_reload_read_the_history(people, stack):
    mid, _ = host_meeting(stack)
    ada, bob, cy = people(3)
    join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    tools_ready(bob)

    say(ada, "Hello Bob")
    bob.wait_for_selector("#toggle-chat .count:not([hidden])")  # unread badge while closed
    assert bob.text_content("#toggle-chat .count") == "1"
    bob.wait_for_selector(".toast.chat-toast")
    open_chat(bob)
    wait_text(bob, "Hello Bob")
    assert bob.is_hidden("#toggle-chat .count")
    assert bob.text_content(f"{LOG} .meta b") == "Ada"

    bob.fill("#chat-input", "Hi Ada")  # Shift+Enter adds a line, Enter sends
    bob.press("#chat-input", "Shift+Enter")
    bob.type("#chat-input", "two lines")
    assert bob.input_value("#chat-input") == "Hi Ada\ntwo lines"
    bob.press("#chat-input", "Enter")
    wait_text(ada, "Hi Ada\ntwo lines")

    join(cy, mid, "Cy")
    open_chat(cy)
    wait_text(cy, "Hi Ada\ntwo lines")
    assert texts(cy) == ["Hello Bob", "Hi Ada\ntwo lines"]

    bob.reload()
    bob.wait_for_selector(".room")
    open_chat(bob)
    wait_text(bob, "Hi Ada\ntwo lines")
    assert texts(bob) == ["Hello Bob", "Hi Ada\ntwo lines"]
    assert ada.errors == [] and bob.errors == [] and cy.errors == []


def test_a_direct_message_reaches_only_its_recipient_on_the_page_and_in_history(people, stack):
    mid, (ada, bob, cy), (_, bob_id, _) = ada_bob_and_cy(people, stack)
    for person in (ada, bob, cy):
        open_chat(person)
    ada.wait_for_function("() => document.querySelectorAll('#chat-to option').length === 3")

    say(ada, "only for Bob", to=bob_id)
    say(ada, "for everyone")
    for person in (bob, cy):
        wait_text(person, "for everyone")
    assert texts(bob) == ["only for Bob", "for everyone"]
    assert bob.text_content(f'{LOG}[data-private="true"] .private') == "to you, privately"
    assert texts(ada) == ["only for Bob", "for everyone"]
    assert "Bob" in ada.text_content(f'{LOG}[data-private="true"] .private')
    assert texts(cy) == ["for everyone"]  # the message after it arrived: the DM never will

    assert history(stack, cy, mid) == ["for everyone"]
    assert history(stack, bob, mid) == ["only for Bob", "for everyone"]
    cy.reload()
    cy.wait_for_selector(".room")
    open_chat(cy)
    wait_text(cy, "for everyone")
    assert texts(cy) == ["for everyone"]


def test_markup_and_script_links_in_chat_stay_text_and_only_web_links_become_links(people, stack):
    mid, _ = host_meeting(stack)
    ada, bob = people(2)
    join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    open_chat(bob)
    evil = ['<img src=x onerror="window.pwned=1">', "javascript:window.pwned=2",
            '<a href="javascript:window.pwned=3">click</a>', "[x](javascript:window.pwned=4)",
            "see https://example.com/a?b=1&c=<b>2</b>, ok."]
    for text in evil:
        say(ada, text)
    wait_text(bob, evil[-1])
    assert texts(bob) == evil
    links = bob.eval_on_selector_all(f"{LOG} a",
                                     "as => as.map(a => [a.getAttribute('href'), a.rel, a.target])")
    assert links == [["https://example.com/a?b=1&c=", "noopener noreferrer", "_blank"]]
    assert bob.eval_on_selector_all(f"{LOG} img, {LOG} b b, {LOG} p *:not(a)", "els => els.length") == 0
    bob.click(f"{LOG} >> text=click", force=True)  # text, not a link: nothing runs
    assert bob.evaluate("window.pwned") is None
    assert ada.errors == [] and bob.errors == []


def test_a_chat_message_that_is_too_long_is_not_sent_and_stays_in_the_box(people, stack):
    mid, _ = host_meeting(stack)
    (ada,) = people(1)
    join(ada, mid, "Ada")
    open_chat(ada)
    ada.fill("#chat-input", "x" * 2001)
    ada.dispatch_event("#chat-input", "input")
    ada.wait_for_selector("#chat-chars.warn-text")
    ada.press("#chat-input", "Enter")
    assert ada.input_value("#chat-input") == "x" * 2001
    assert history(stack, ada, mid) == []


def test_raised_hands_show_to_everyone_in_order_and_the_host_lowers_one(people, stack):
    _, (ada, bob, cy), (_, bob_id, cy_id) = ada_bob_and_cy(people, stack, host=True)

    bob.keyboard.press("r")  # the shortcut
    ada.wait_for_selector(".toast >> text=Bob raised a hand")
    cy.wait_for_selector(f'.tile[data-pid="{bob_id}"][data-hand="true"]')
    assert bob.get_attribute("#toggle-hand", "aria-pressed") == "true"
    cy.click("#toggle-hand")
    ada.click("#toggle-people")
    ada.wait_for_function("() => document.querySelectorAll('#roster .hand').length === 2")
    order = ada.eval_on_selector_all("#roster li", "lis => lis.map(li => li.dataset.pid)")
    assert order[:2] == [bob_id, cy_id]  # raised first, in the order raised; then the others

    ada.click(f'#roster li[data-pid="{bob_id}"] .lower')
    bob.wait_for_selector(".toast >> text=The host lowered your hand.")
    assert bob.get_attribute("#toggle-hand", "aria-pressed") == "false"
    cy.wait_for_selector(f'.tile[data-pid="{bob_id}"][data-hand="false"]')
    assert bob.eval_on_selector_all("#roster .lower", "els => els.length") == 0  # guests: no button
    cy.click("#toggle-hand")
    ada.wait_for_function("() => document.querySelectorAll('#roster .hand').length === 0")
    assert ada.errors == [] and bob.errors == [] and cy.errors == []


def test_a_reaction_floats_over_the_senders_tile_on_the_other_page(people, stack):
    mid, _ = host_meeting(stack)
    ada, bob = people(2)
    ada_id = join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    tools_ready(bob)
    ada.click("#toggle-reactions")
    ada.click('#reactions-menu [data-emoji="🎉"]')
    ada.wait_for_selector(".tile.self .reaction")
    bob.wait_for_selector(f'.tile[data-pid="{ada_id}"] .reaction')
    assert bob.text_content(f'.tile[data-pid="{ada_id}"] .reaction') == "🎉"
    bob.wait_for_selector(f'.tile[data-pid="{ada_id}"] .reaction', state="detached", timeout=6000)
    assert ada.errors == [] and bob.errors == []


def test_shortcuts_are_listed_and_do_nothing_while_typing(people, stack):
    mid, _ = host_meeting(stack)
    (ada,) = people(1)
    join(ada, mid, "Ada")
    tools_ready(ada)
    ada.keyboard.press("Shift+?")
    ada.wait_for_selector("#shortcuts[open]")
    assert ada.eval_on_selector_all("#shortcuts kbd", "ks => ks.map(k => k.textContent)") == [
        "M", "V", "R", "C", "P", "?"]
    ada.keyboard.press("Escape")
    ada.wait_for_selector("#shortcuts:not([open])", state="attached")

    ada.keyboard.press("c")
    ada.wait_for_selector("#chat-panel", state="visible")
    ada.type("#chat-input", "mvr")
    assert ada.get_attribute("#toggle-mic", "data-on") == "true"
    assert ada.get_attribute("#toggle-hand", "aria-pressed") == "false"
    ada.click(".grid")
    ada.keyboard.press("m")
    ada.wait_for_selector('#toggle-mic[data-on="false"]')
    for button in ("#toggle-chat", "#toggle-hand", "#toggle-reactions", "#show-shortcuts"):
        assert ada.get_attribute(button, "aria-label")
    assert ada.errors == []


TILES_NOW = """() => [...document.querySelectorAll('.tile')].map(t => ({pid: t.dataset.pid,
  main: t.classList.contains('main'), speaking: t.classList.contains('speaking'),
  width: t.querySelector('video').videoWidth}))"""


def decoding(person, tile):
    """Wait until `tile` shows decoded video; on a timeout, say what the connections did."""
    try:
        person.wait_for_function("s => document.querySelector(s)?.querySelector('video').videoWidth > 0",
                                 arg=tile)
    except TimeoutError as err:
        raise AssertionError(f"{tile} shows no video; tiles {person.evaluate(TILES_NOW)}; every page's "
                             f"peer connections in {save_rtc_traces(person)}") from err


def main_tile(person):
    return person.evaluate("() => document.querySelector('.grid.has-main .tile.main')?.dataset.pid || null")


def test_a_screen_share_becomes_the_main_view_for_the_others_and_stopping_restores_the_grid(people, stack):
    mid, _ = host_meeting(stack)
    ada, bob, cy = people(3)
    ada_id = join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    tools_ready(ada)
    wait_remote_videos_playing(bob, 1)
    shared = f'.tile.screen[data-pid="screen:{ada_id}"]'

    ada.click("#toggle-screen")
    decoding(bob, f"{shared}.main")
    assert main_tile(bob) == f"screen:{ada_id}"
    assert bob.evaluate(f"document.querySelector('{shared} .name').textContent") == "Ada's screen"
    decoding(bob, f'.tile[data-pid="{ada_id}"]')
    assert ada.get_attribute("#toggle-screen", "aria-pressed") == "true"
    assert main_tile(ada) is None  # the presenter's own share is never their main view
    ada.wait_for_selector(shared)

    join(cy, mid, "Cy")  # a late joiner gets the share too, as the main view
    decoding(cy, f"{shared}.main")

    ada.click("#toggle-screen")
    for person in (bob, cy):
        person.wait_for_selector(shared, state="detached")
        person.wait_for_selector(".grid:not(.has-main)")
    assert ada.get_attribute("#toggle-screen", "aria-pressed") == "false"

    ada.click("#toggle-screen")  # again, ended this time by the browser's own "Stop sharing"
    bob.wait_for_selector(f"{shared}.main")
    ada.evaluate(f"document.querySelector('{shared} video').srcObject.getVideoTracks()[0]"
                 ".dispatchEvent(new Event('ended'))")
    bob.wait_for_selector(shared, state="detached")
    bob.wait_for_selector(".grid:not(.has-main)")
    wait_remote_videos_playing(bob, 2)
    assert ada.errors == [] and bob.errors == [] and cy.errors == []


def test_a_click_pins_a_tile_to_the_main_view_and_a_second_click_unpins_it(people, stack):
    _, (ada, bob, cy), (_, bob_id, _) = ada_bob_and_cy(people, stack)
    wait_remote_videos_playing(ada, 2)
    ada.click(f'.tile[data-pid="{bob_id}"]')
    assert main_tile(ada) == bob_id
    assert ada.get_attribute(f'.tile[data-pid="{bob_id}"] .pin', "aria-pressed") == "true"
    assert main_tile(cy) is None  # a pin is this page's own choice
    ada.click(f'.tile[data-pid="{bob_id}"]')
    assert main_tile(ada) is None
    ada.hover(f'.tile[data-pid="{bob_id}"]')
    ada.click(f'.tile[data-pid="{bob_id}"] .pin')
    assert main_tile(ada) == bob_id
    ada.click(f'.tile[data-pid="{bob_id}"] .pin')
    assert main_tile(ada) is None
    assert ada.errors == []


def test_the_speaking_ring_and_the_speaker_view_follow_the_unmuted_microphone(people, stack):
    _, (ada, bob, cy), (ada_id, bob_id, _) = ada_bob_and_cy(people, stack)
    cy.click("#toggle-mic")  # the one watching: quiet
    bob.click("#toggle-mic")
    cy.click("#toggle-layout")  # speaker view
    speaking = ("([pid, on]) => document.querySelector(`.tile[data-pid='${pid}']`)"
                "?.classList.contains('speaking') === on")
    cy.wait_for_function(speaking, arg=[ada_id, True])
    cy.wait_for_function(speaking, arg=[bob_id, False])
    cy.wait_for_function("pid => document.querySelector('.tile.main')?.dataset.pid === pid", arg=ada_id)
    bob.wait_for_function(speaking, arg=[ada_id, True])

    ada.click("#toggle-mic")
    bob.click("#toggle-mic")
    cy.wait_for_function(speaking, arg=[bob_id, True])
    cy.wait_for_function(speaking, arg=[ada_id, False])
    cy.wait_for_function("pid => document.querySelector('.tile.main')?.dataset.pid === pid", arg=bob_id)
    ada.wait_for_function(speaking, arg=[bob_id, True])
    assert ada.errors == [] and bob.errors == [] and cy.errors == []


NEGOTIATIONS = """() => window.__rtcTrace().flatMap(pc => pc.trace)
  .filter(x => x[1] === 'setLocal' || x[1] === 'setRemote').length"""
DECODED = "async () => Object.values(await window.__parley.stats())[0]?.framesDecoded || 0"


def test_switching_microphone_and_speaker_keeps_the_connection_and_is_remembered(people, stack):
    mid, _ = host_meeting(stack)
    ada, bob, cy = people(3)
    join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    tools_ready(bob)
    wait_remote_videos_playing(ada, 1)
    wait_remote_videos_playing(bob, 1)
    bob.click("#devices")
    bob.wait_for_selector("#room-speaker")
    kinds = bob.evaluate("async () => (await navigator.mediaDevices.enumerateDevices()).map(d => d.kind)")
    assert bob.eval_on_selector_all("#room-mic option", "os => os.length") == kinds.count("audioinput")
    outputs = bob.eval_on_selector_all("#room-speaker option", "os => os.map(o => o.value)")
    assert len(outputs) == kinds.count("audiooutput") > 1

    before = (bob.evaluate(NEGOTIATIONS), ada.evaluate(NEGOTIATIONS))
    bob.select_option("#room-mic", index=1)
    bob.select_option("#room-speaker", outputs[-1])
    bob.wait_for_function("id => [...document.querySelectorAll('.tile video')].every(v => v.sinkId === id)",
                          arg=outputs[-1])
    decoded = ada.evaluate(DECODED)
    ada.wait_for_function(f"async () => ({DECODED})() > {decoded + 10}")  # Bob still comes through
    assert (bob.evaluate(NEGOTIATIONS), ada.evaluate(NEGOTIATIONS)) == before  # no new offer
    assert bob.evaluate("JSON.parse(localStorage.getItem('parley.output'))") == outputs[-1]

    cy_id = join(cy, mid, "Cy")  # a tile that comes later plays on the chosen speaker too
    bob.wait_for_function("([pid, id]) => document.querySelector(`.tile[data-pid='${pid}'] video`)"
                          "?.sinkId === id", arg=[cy_id, outputs[-1]])
    assert ada.errors == [] and bob.errors == []


def test_earlier_chat_history_loads_a_page_at_a_time(people, stack):
    created = api_call(stack, "POST", "/meetings", {"name": "Long chat"})
    mid = created["meeting"]["id"]
    writer = api_call(stack, "POST", f"/meetings/{mid}/join", {"name": "Writer"})
    for n in range(205):
        status, _, body = fetch(f"{stack.api}/meetings/{mid}/messages", "POST",
                                json.dumps({"text": f"line {n}"}).encode(),
                                {"Content-Type": "application/json",
                                 "Authorization": f"Bearer {writer['token']}"})
        assert status == 201, body
    (ada,) = people(1)
    join(ada, mid, "Ada")
    open_chat(ada)
    wait_text(ada, "line 204")
    assert len(texts(ada)) == 200 and texts(ada)[0] == "line 5"
    ada.click("#chat-earlier")
    wait_text(ada, "line 0")
    assert texts(ada) == [f"line {n}" for n in range(205)]
    ada.wait_for_selector("#chat-earlier", state="hidden")
