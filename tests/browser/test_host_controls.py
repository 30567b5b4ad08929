"""Host controls in real Chromium on the local stack: the host's badge and menus, what a
guest's page does when asked, removal, lock, end for all, co-hosts and handing host over."""

from .conftest import ada_bob_and_cy, host_meeting, join_as_host, tools_ready, wait_remote_videos_playing


def person_action(page, pid, label):
    """Open the people list and pick `label` from the menu of participant `pid`."""
    if page.get_attribute("#toggle-people", "aria-expanded") != "true":
        page.click("#toggle-people")
    page.click(f'#roster li[data-pid="{pid}"] .more')
    page.click(f'#person-menu >> text="{label}"')


def meeting_action(page, label, confirm=False):
    page.click("#host-controls")
    page.click(f'#meeting-menu >> text="{label}"')
    if confirm:
        page.click("dialog.confirm [data-confirm]")


def test_the_host_mutes_asks_turns_off_the_camera_and_removes_a_guest(people, stack):
    _, (ada, bob, cy), (_, bob_id, _) = ada_bob_and_cy(people, stack, host=True)
    assert ada.text_content("#my-role") == "You are the host"
    assert ada.is_visible("#host-controls")
    assert bob.is_hidden("#my-role") and bob.is_hidden("#host-controls")
    bob.click("#toggle-people")
    assert bob.eval_on_selector_all("#roster .more", "els => els.length") == 0  # guests: no menus
    assert bob.text_content("#roster .role") == "host"

    person_action(ada, bob_id, "Mute")
    bob.wait_for_selector('#toggle-mic[data-on="false"]')
    bob.wait_for_selector(".toast >> text=The host muted your microphone.")
    cy.wait_for_selector(f'.tile[data-pid="{bob_id}"][data-audio="off"]')

    person_action(ada, bob_id, "Ask to unmute")
    bob.click("#unmute-yes")
    bob.wait_for_selector('#toggle-mic[data-on="true"]')
    cy.wait_for_selector(f'.tile[data-pid="{bob_id}"][data-audio="on"]')

    person_action(ada, bob_id, "Turn camera off")
    bob.wait_for_selector('#toggle-cam[data-on="false"]')
    cy.wait_for_selector(f'.tile[data-pid="{bob_id}"][data-video="off"]')

    person_action(ada, bob_id, "Remove from meeting")
    ada.click("dialog.confirm [data-confirm]")
    bob.wait_for_selector("#removed")
    cy.wait_for_selector(f'.tile[data-pid="{bob_id}"]', state="detached")
    ada.wait_for_selector(f'#roster li[data-pid="{bob_id}"]', state="detached")
    assert ada.errors == [] and cy.errors == []


def test_a_locked_meeting_shows_a_new_joiner_a_clear_page_until_it_is_unlocked(people, stack):
    mid, key = host_meeting(stack)
    ada, bob = people(2)
    join_as_host(ada, mid, key, "Ada")
    tools_ready(ada)
    meeting_action(ada, "Lock meeting")
    ada.wait_for_selector(".toast >> text=The meeting is locked: nobody new can join.")

    bob.goto(f"/#/{mid}")
    bob.fill("#display-name", "Bob")
    bob.click("#join-button")
    bob.wait_for_selector("#locked >> text=This meeting is locked")

    meeting_action(ada, "Unlock meeting")
    ada.wait_for_selector(".toast >> text=The meeting is unlocked.")
    bob.click("#locked button")  # Try again: the pre-join screen, then in
    bob.fill("#display-name", "Bob")
    bob.click("#join-button")
    bob.wait_for_selector(".room")
    wait_remote_videos_playing(bob, 1)


def test_ending_the_meeting_for_all_shows_everyone_the_ended_page(people, stack):
    _, (ada, bob, cy), _ = ada_bob_and_cy(people, stack, host=True)
    meeting_action(ada, "End meeting for all", confirm=True)
    for person in (ada, bob, cy):
        person.wait_for_selector("#ended >> text=The host ended it for everyone.")


def test_a_co_host_gets_host_powers_and_host_can_be_handed_over(people, stack):
    _, (ada, bob, cy), (ada_id, bob_id, cy_id) = ada_bob_and_cy(people, stack, host=True)
    person_action(ada, bob_id, "Make co-host")
    bob.wait_for_selector("#my-role >> text=You are a co-host")
    bob.wait_for_selector("#host-controls", state="visible")
    cy.click("#toggle-people")
    cy.wait_for_selector(f'#roster li[data-pid="{bob_id}"] .role >> text=co-host')

    bob.click("#toggle-people")  # a co-host may mute a guest, but neither make hosts nor remove one
    bob.click(f'#roster li[data-pid="{cy_id}"] .more')
    items = bob.eval_on_selector_all("#person-menu button", "bs => bs.map(b => b.textContent)")
    assert "Mute" in items and "Make host" not in items and "Make co-host" not in items
    bob.keyboard.press("Escape")
    bob.click(f'#roster li[data-pid="{ada_id}"] .more')
    assert "Remove from meeting" not in bob.eval_on_selector_all(
        "#person-menu button", "bs => bs.map(b => b.textContent)")
    bob.keyboard.press("Escape")

    person_action(ada, bob_id, "Make host")
    ada.click("dialog.confirm [data-confirm]")
    bob.wait_for_selector("#my-role >> text=You are the host")
    ada.wait_for_selector("#my-role >> text=You are a co-host")
    cy.wait_for_selector(f'#roster li[data-pid="{bob_id}"] .role >> text=host')
    assert ada.errors == [] and bob.errors == [] and cy.errors == []
