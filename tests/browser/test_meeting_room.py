"""The meeting room in real Chromium with fake camera and microphone, on the local stack."""

import re
import time

from .conftest import WAIT_MS, join, save_screenshot, wait_remote_videos_playing


def tile(pid):
    return f'.tile[data-pid="{pid}"]'


def test_two_people_see_each_others_video_playing_without_console_errors(people):
    ada, bob = people(2)
    ada.goto("/")
    ada.fill("#meeting-name", "Weekly sync")
    ada.click("#create-button")
    ada.fill("#display-name", "Ada")
    ada.click("#join-button")
    ada.wait_for_selector(".room")
    link = ada.url
    assert re.search(r"#/[\w-]+$", link)

    bob.goto(link)
    bob.fill("#display-name", "Bob")
    bob.click("#join-button")
    bob.wait_for_selector(".room")

    for person in (ada, bob):
        wait_remote_videos_playing(person, 1)
    assert ada.text_content(".tile:not(.self) .name") == "Bob"
    assert bob.text_content(".tile:not(.self) .name") == "Ada"
    save_screenshot(ada, "room-2-people.png")
    assert ada.errors == []
    assert bob.errors == []


def test_four_people_each_see_three_remote_videos_playing(people, meeting):
    mid = meeting(name="Design review")
    group = people(4)
    for person, name in zip(group, ["Ada", "Grace", "Linus", "Margaret"], strict=True):
        join(person, mid, name)
    for person in group:
        wait_remote_videos_playing(person, 3)
    linus, margaret = group[2].evaluate("window.__parley.me"), group[3].evaluate("window.__parley.me")
    group[2].click("#toggle-mic")
    group[3].click("#toggle-cam")
    group[0].wait_for_selector(f'{tile(linus)}[data-audio="off"]')
    group[0].wait_for_selector(f'{tile(margaret)}[data-video="off"]')
    group[0].click("#toggle-people")
    group[0].wait_for_function("() => document.querySelectorAll('#roster li').length === 4")
    # for the picture: a raised hand and a chat message arriving
    group[1].click("#toggle-hand")
    group[0].wait_for_selector("#roster .hand")
    group[2].click("#toggle-chat")
    group[2].fill("#chat-input", "Notes are in the doc: https://example.com/notes")
    group[2].press("#chat-input", "Enter")
    group[0].wait_for_selector(".chat-toast")
    save_screenshot(group[0], "room-4-people.png")  # make screenshot: docs/img/room.png


def test_toggling_mic_and_camera_changes_the_badges_on_the_other_page(people, meeting):
    mid = meeting()
    ada, bob = people(2)
    ada_id = join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    wait_remote_videos_playing(bob, 1)
    badge = tile(ada_id)

    ada.click("#toggle-mic")
    bob.wait_for_selector(f'{badge}[data-audio="off"] .mic-off', state="visible")
    ada.click("#toggle-cam")
    bob.wait_for_selector(f'{badge}[data-video="off"] .cam-off', state="visible")
    assert ada.get_attribute("#toggle-cam", "data-on") == "false"

    ada.click("#toggle-mic")
    ada.click("#toggle-cam")
    bob.wait_for_selector(f'{badge}[data-audio="on"][data-video="on"]')
    assert bob.is_hidden(f"{badge} .mic-off") and bob.is_hidden(f"{badge} .cam-off")
    wait_remote_videos_playing(bob, 1)


def test_leaving_removes_the_tile_on_the_other_page(people, meeting):
    mid = meeting()
    ada, bob, cy = people(3)
    ada_id = join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    join(cy, mid, "Cy")
    for person in (bob, cy):
        wait_remote_videos_playing(person, 2)

    ada.click("#leave-button")
    ada.wait_for_selector(".landing")
    assert ada.url.endswith("#/")
    for person in (bob, cy):
        person.wait_for_selector(tile(ada_id), state="detached")
        person.wait_for_function("() => document.querySelectorAll('#roster li').length === 2")
        wait_remote_videos_playing(person, 1)


def test_people_joining_at_the_same_moment_still_connect(people, meeting):
    """Three pages click Join at one wall-clock moment; everyone still sees everyone."""
    mid = meeting()
    group = people(3)
    for person, name in zip(group, ["Ada", "Bob", "Cy"], strict=True):
        person.goto(f"/#/{mid}")
        person.fill("#display-name", name)
    at = time.time() * 1000 + 1000  # every page clicks Join at this same wall-clock moment
    for person in group:
        person.evaluate("at => setTimeout(() => document.querySelector('#join-button').click(),"
                        " at - Date.now())", at)
    for person in group:
        wait_remote_videos_playing(person, 2)


def test_joins_that_raced_past_each_other_still_connect(people, meeting):
    """Two joins at the same moment can both read the roster before either is written,
    and both pushes of `participant-joined` can go out before either socket is open.
    Then the only news either page gets is the other's socket connecting; it must be
    enough. The test holds Ada's join response and gives Bob's an empty roster."""
    mid = meeting()
    ada, bob = people(2)
    held = {}

    def hold(route):
        held["response"] = route.fetch()  # Ada is in the meeting now
        held["route"] = route

    def without_ada(route):
        response = route.fetch()
        body = response.json()
        route.fulfill(response=response, json={**body, "participants": []})

    ada.route("**/join", hold)
    bob.route("**/join", without_ada)
    for person, name in ((ada, "Ada"), (bob, "Bob")):
        person.goto(f"/#/{mid}")
        person.fill("#display-name", name)
    ada.click("#join-button")
    while "route" not in held:
        ada.wait_for_timeout(50)
    bob.click("#join-button")
    bob.wait_for_selector(".room")
    held["route"].fulfill(response=held["response"])
    ada.wait_for_selector(".room")
    for person in (ada, bob):
        wait_remote_videos_playing(person, 1)


def test_a_reloaded_page_rejoins_and_media_flows_again(people, meeting):
    mid = meeting()
    ada, bob = people(2)
    join(ada, mid, "Ada")
    old_bob = join(bob, mid, "Bob")
    wait_remote_videos_playing(ada, 1)

    bob.reload()
    bob.wait_for_selector(".room")
    new_bob = bob.evaluate("window.__parley.me")
    assert new_bob != old_bob
    ada.wait_for_selector(tile(old_bob), state="detached")
    ada.wait_for_selector(tile(new_bob))
    for person in (ada, bob):
        wait_remote_videos_playing(person, 1)
    assert ada.text_content(f"{tile(new_bob)} .name") == "Bob"


def test_a_websocket_outage_shows_a_banner_and_missed_tickets_are_replayed(people, meeting):
    mid = meeting()
    ada, bob, cy = people(3)
    outage = {"on": False, "sockets": []}

    def route(ws):  # Bob's WebSocket goes through the test, which can cut it
        if outage["on"]:
            ws.close(code=4000, reason="outage")
        else:
            outage["sockets"].append(ws)
            ws.connect_to_server()

    bob.route_web_socket(re.compile(r"/ws\?"), route)
    join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    wait_remote_videos_playing(bob, 1)

    outage["on"] = True
    for ws in outage["sockets"]:
        ws.close(code=4000, reason="outage")
    bob.wait_for_selector("#reconnect-banner", state="visible")
    cy_id = join(cy, mid, "Cy")  # Cy's offer to Bob is stored while Bob cannot hear it
    wait_remote_videos_playing(ada, 2)

    outage["on"] = False
    bob.wait_for_selector("#reconnect-banner", state="hidden")
    bob.wait_for_selector(tile(cy_id))
    wait_remote_videos_playing(bob, 2)
    # the join Bob missed is re-read from the roster, so Cy has her name, not "Guest"
    bob.wait_for_selector(f"{tile(cy_id)} .name:text-is('Cy')")


def test_wrong_passcode_is_refused_then_the_right_one_joins(people, meeting):
    mid = meeting(passcode="blue-heron")
    (guest,) = people(1)
    guest.goto(f"/#/{mid}")
    guest.fill("#display-name", "Guest")
    guest.fill("#passcode", "red-herring")
    guest.click("#join-button")
    guest.wait_for_selector("#join-error:has-text('That passcode is not right.')")
    assert guest.is_visible("#prejoin, .prejoin")

    guest.fill("#passcode", "blue-heron")
    guest.click("#join-button")
    guest.wait_for_selector(".room")


def test_too_many_wrong_passcodes_say_when_to_try_again(people, meeting):
    mid = meeting(passcode="blue-heron")
    (guest,) = people(1)
    guest.goto(f"/#/{mid}")
    guest.fill("#display-name", "Guest")
    guest.fill("#passcode", "wrong")
    for _ in range(6):
        guest.click("#join-button")
        guest.wait_for_function("() => !document.querySelector('#join-button').disabled")
    text = guest.text_content("#join-error")
    assert re.match(r"Too many wrong passcodes\. Try again in \d+ min \(at .+\)\.", text), text


def test_an_unknown_meeting_shows_the_not_found_page(people):
    (visitor,) = people(1)
    visitor.goto("/#/NoSuchMeeting123")
    visitor.wait_for_selector("#not-found")
    assert visitor.text_content("#not-found h1") == "Meeting not found"
    visitor.click("#not-found a")
    visitor.wait_for_selector(".landing")


def test_a_display_name_with_markup_is_shown_as_plain_text(people, meeting):
    payload = '<img src=x onerror="window.__xss=1">'
    mid = meeting()
    ada, mallory = people(2)
    join(ada, mid, "Ada")
    mallory_id = join(mallory, mid, payload)
    ada.wait_for_selector(tile(mallory_id))
    assert ada.text_content(f"{tile(mallory_id)} .name") == payload
    ada.click("#toggle-people")
    assert ada.text_content(f'#roster li[data-pid="{mallory_id}"] .who') == payload
    assert ada.query_selector_all("img[src=x]") == []
    assert ada.evaluate("window.__xss") is None


def test_denied_camera_and_mic_explain_and_joining_without_them_works(people, meeting):
    deny = """navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('denied', 'NotAllowedError'));"""
    mid = meeting()
    (ada,) = people(1)
    (lurker,) = people(1, init_script=deny)
    join(ada, mid, "Ada")
    lurker.goto(f"/#/{mid}")
    lurker.wait_for_selector("#media-message:has-text('blocked')")
    lurker.fill("#display-name", "Lurker")
    lurker.click("#join-without")
    lurker.wait_for_selector(".room")
    lurker_id = lurker.evaluate("window.__parley.me")
    ada.wait_for_selector(f'{tile(lurker_id)}[data-audio="off"][data-video="off"]')
    wait_remote_videos_playing(lurker, 1)


def test_the_invite_link_is_the_meeting_link_without_the_passcode(people, meeting):
    mid = meeting(passcode="blue-heron")
    (host,) = people(1)
    host.context.grant_permissions(["clipboard-read", "clipboard-write"])
    join(host, mid, "Host", passcode="blue-heron")
    host.click("#copy-link")
    host.wait_for_selector(".toast:has-text('Invite link copied')")
    link = host.evaluate("navigator.clipboard.readText()")
    assert link.endswith(f"/#/{mid}")
    assert "blue-heron" not in link


def test_landing_page_says_plainly_when_webrtc_is_missing(people):
    (visitor,) = people(1, init_script="delete window.RTCPeerConnection;")
    visitor.goto("/")
    visitor.wait_for_selector("#unsupported")
    assert "WebRTC is not available" in visitor.text_content("#unsupported")


def test_switching_to_chinese_translates_the_page(people):
    (visitor,) = people(1)
    visitor.goto("/")
    visitor.select_option("#lang", "zh")
    visitor.wait_for_selector("#create-button:has-text('创建会议')")
    assert visitor.evaluate("document.documentElement.lang") == "zh-CN"
    visitor.reload()
    visitor.wait_for_selector("#create-button:has-text('创建会议')", timeout=WAIT_MS)
