"""Connections between two pages that have nothing to send, or cannot be made at all."""

from .conftest import WAIT_MS, join, save_screenshot, wait_remote_videos_playing, wait_until

# No camera or microphone until the test says so (getUserMedia fails as on a machine without them).
NO_DEVICES_YET = """(() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__devices = false;
  navigator.mediaDevices.getUserMedia = (c) => (window.__devices ? real(c)
    : Promise.reject(new DOMException('none', 'NotFoundError')));
})();"""

# This page's connections gather no ICE candidates at all (relay only, and there is no relay),
# so nothing can connect to or from it, until window.__unblockIce().
BLOCK_ICE = """(() => {
  const Native = window.RTCPeerConnection;
  const all = [];
  let blocked = true;
  window.RTCPeerConnection = class extends Native {
    constructor(config = {}, ...rest) {
      super(blocked ? {...config, iceTransportPolicy: 'relay'} : config, ...rest);
      all.push(this);
    }
  };
  window.__unblockIce = () => {
    blocked = false;
    for (const pc of all) {
      const config = {...pc.getConfiguration(), iceTransportPolicy: 'all'};
      if (pc.signalingState !== 'closed') pc.setConfiguration(config);
    }
  };
})();"""

PEERS_CONNECTED = """async () => {
  const peers = Object.values(await window.__parley.stats());
  return peers.length === 1 && peers.every((p) => p.state === 'connected');
}"""


def test_two_people_without_camera_or_mic_connect_and_a_camera_turned_on_later_is_seen(people, meeting):
    mid = meeting()
    ada, bob = people(2, init_script=NO_DEVICES_YET)
    join(ada, mid, "Ada")
    join(bob, mid, "Bob")
    for person in (ada, bob):
        wait_until(person, PEERS_CONNECTED, timeout=30_000)

    ada.evaluate("window.__devices = true")
    ada.click("#toggle-cam")
    wait_remote_videos_playing(bob, 1)
    assert ada.errors == [] and bob.errors == []


def tile(pid):
    return f'.tile[data-pid="{pid}"]'


def test_a_connection_that_cannot_be_made_says_so_and_retry_connects_once_it_can(people, meeting):
    mid = meeting()
    (ada,) = people(1, init_script=BLOCK_ICE)
    (bob,) = people(1)
    ada_id = join(ada, mid, "Ada")
    bob_id = join(bob, mid, "Bob")
    # both see the notice on the other's tile, and the roster says it too
    ada.wait_for_selector(f"{tile(bob_id)} .trouble:has-text(\"Can't connect to Bob\")", timeout=20_000)
    bob.wait_for_selector(f"{tile(ada_id)} .trouble:has-text(\"Can't connect to Ada\")", timeout=20_000)
    assert ada.is_hidden(f"{tile(bob_id)} .spinner")
    ada.click("#toggle-people")
    assert ada.text_content(f'#roster li[data-pid="{bob_id}"] .status') == "can't connect"
    save_screenshot(ada, "room-cant-connect.png")

    ada.evaluate("window.__unblockIce()")
    ada.click(f"{tile(bob_id)} .trouble button")
    for person in (ada, bob):
        wait_remote_videos_playing(person, 1)
    ada.wait_for_selector(f"{tile(bob_id)} .trouble", state="hidden", timeout=WAIT_MS)
    bob.wait_for_selector(f"{tile(ada_id)} .trouble", state="hidden", timeout=WAIT_MS)
    assert ada.text_content(f'#roster li[data-pid="{bob_id}"] .status') == "connected"
