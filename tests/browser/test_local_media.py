"""The person's own camera and microphone when something goes wrong: a track that stops by
itself, a blocked or busy device, and switching camera on a phone that opens one at a
time. Chromium's fake devices never fail, so init scripts make getUserMedia fail the way
real devices do."""

from .conftest import join, wait_remote_videos_playing

# getUserMedia as Chromium without the fake UI answers: a blocked permission refuses.
PERMISSION_DECIDES = """{
  const open = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = async function (c) {
    for (const [kind, name] of [['audio', 'microphone'], ['video', 'camera']]) {
      if (c[kind] && (await navigator.permissions.query({name})).state === 'denied') {
        throw new DOMException('Permission denied', 'NotAllowedError');
      }
    }
    return open.call(this, c);
  };
}"""

# Another app holds camera and microphone until the test sets window.__free.
BUSY_UNTIL_FREED = """{
  const open = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = function (c) {
    return window.__free ? open.call(this, c)
      : Promise.reject(new DOMException('Could not start video source', 'NotReadableError'));
  };
}"""

# A phone: no second camera while one is open; window.__failNext fails the next camera once.
ONE_CAMERA_AT_A_TIME = """{
  const open = MediaDevices.prototype.getUserMedia;
  const cameras = [];
  MediaDevices.prototype.getUserMedia = async function (c) {
    if (c.video && (cameras.some((t) => t.readyState === 'live') || window.__failNext)) {
      window.__failNext = 0;
      throw new DOMException('Could not start video source', 'NotReadableError');
    }
    const stream = await open.call(this, c);
    cameras.push(...stream.getVideoTracks());
    return stream;
  };
}"""

OWN_TRACK = """kind => document.querySelector('.tile.self video')?.srcObject?.getTracks()
  .find(t => t.kind === kind)"""
PREVIEW_TRACK = "() => document.querySelector('.preview video').srcObject?.getVideoTracks()[0]"


def tile(pid):
    return f'.tile[data-pid="{pid}"]'


def set_permissions(person, stack, setting, names=("camera", "microphone")):
    """What the person chose in the browser's site settings: granted, denied or prompt.
    (Chromium drops these settings when the DevTools session that made them detaches, so
    the session stays open with the page.)"""
    cdp = getattr(person, "cdp", None)
    if cdp is None:
        cdp = person.cdp = person.context.new_cdp_session(person.page)
    context_id = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
    for name in names:
        cdp.send("Browser.setPermission", {"permission": {"name": name}, "setting": setting,
                                           "origin": stack.url, "browserContextId": context_id})


def remember(person, getter, name):
    """Keep what `getter` returns in the page as window[name] (to compare with later)."""
    person.evaluate(f"() => {{ window.{name} = ({getter})('video'); }}")


def replaced_and_live(person, getter, name):
    person.wait_for_function(f"""() => {{
      const t = ({getter})('video');
      return t && t !== window.{name} && t.readyState === 'live';
    }}""")


def end_own_camera(person):
    """The camera stops by itself (unplugged, revoked): stop() alone fires no `ended`."""
    person.evaluate(f"""() => {{
      const t = ({OWN_TRACK})('video');
      window.__lost = t;
      t.stop();
      t.dispatchEvent(new Event('ended'));
    }}""")


def test_a_camera_that_stops_by_itself_is_started_again_and_frames_keep_flowing(people, meeting):
    mid = meeting()
    ada, bob = people(2)
    join(ada, mid, "Ada")
    bob_id = join(bob, mid, "Bob")
    wait_remote_videos_playing(ada, 1)

    end_own_camera(bob)
    replaced_and_live(bob, OWN_TRACK, "__lost")
    bob.wait_for_selector(".toast:has-text('Your camera stopped and has been started again')")
    assert bob.get_attribute("#toggle-cam", "data-on") == "true"
    assert ada.get_attribute(tile(bob_id), "data-video") == "on"
    wait_remote_videos_playing(ada, 1)
    assert bob.errors == []


def test_a_camera_that_stops_and_cannot_start_again_is_off_for_everyone(people, meeting):
    mid = meeting()
    ada, bob = people(2)
    join(ada, mid, "Ada")
    bob_id = join(bob, mid, "Bob")
    wait_remote_videos_playing(ada, 1)

    bob.evaluate("""() => { navigator.mediaDevices.getUserMedia = () =>
      Promise.reject(new DOMException('Requested device not found', 'NotFoundError')); }""")
    end_own_camera(bob)
    bob.wait_for_selector('#toggle-cam[data-on="false"]')
    bob.wait_for_selector(".toast:has-text('Your camera stopped, so it is off now')")
    ada.wait_for_selector(f'{tile(bob_id)}[data-video="off"] .cam-off', state="visible")
    assert ada.get_attribute(tile(bob_id), "data-audio") == "on"

    bob.evaluate("() => { delete navigator.mediaDevices.getUserMedia; }")  # plugged in again
    bob.click(".toast:has-text('Your camera stopped') button:has-text('Try again')")
    bob.wait_for_selector('#toggle-cam[data-on="true"]')
    ada.wait_for_selector(f'{tile(bob_id)}[data-video="on"]')
    wait_remote_videos_playing(ada, 1)


def test_blocked_camera_and_mic_say_so_and_the_prejoin_gets_them_once_allowed(people, meeting,
                                                                               stack):
    mid = meeting()
    (bob,) = people(1, init_script=PERMISSION_DECIDES)
    set_permissions(bob, stack, "denied")
    bob.goto(f"/#/{mid}")
    bob.wait_for_selector("#media-message:has-text('Camera and mic are blocked')")
    assert bob.is_visible("#media-retry") and bob.is_visible("#join-without")
    assert bob.get_attribute("#toggle-cam", "data-on") == "false"

    set_permissions(bob, stack, "granted")  # allowed in the address bar: no reload needed
    bob.wait_for_selector('#toggle-cam[data-on="true"]')
    bob.wait_for_selector("#media-message", state="hidden")
    assert bob.is_hidden("#media-retry")


def test_blocked_in_the_room_says_so_offers_a_retry_and_turns_on_once_allowed(people, meeting,
                                                                              stack):
    mid = meeting()
    (ada,) = people(1)
    (bob,) = people(1, init_script=PERMISSION_DECIDES)
    set_permissions(bob, stack, "denied")
    join(ada, mid, "Ada")
    bob.goto(f"/#/{mid}")
    bob.wait_for_selector("#media-message:has-text('blocked')")
    bob.fill("#display-name", "Bob")
    bob.click("#join-without")
    bob.wait_for_selector(".room")
    bob_id = bob.evaluate("window.__parley.me")

    bob.click("#toggle-cam")
    bob.wait_for_selector(".toast:has-text('blocked: allow it in the address bar')"
                          " button:has-text('Try again')")
    assert bob.get_attribute("#toggle-cam", "data-on") == "false"
    set_permissions(bob, stack, "granted", names=("camera",))
    bob.wait_for_selector('#toggle-cam[data-on="true"]')
    ada.wait_for_selector(f'{tile(bob_id)}[data-video="on"]')
    wait_remote_videos_playing(ada, 1)


def test_a_busy_camera_says_so_and_try_again_gets_it_once_free(people, meeting):
    mid = meeting()
    (ada,) = people(1)
    (bob,) = people(1, init_script=BUSY_UNTIL_FREED)
    join(ada, mid, "Ada")
    bob.goto(f"/#/{mid}")
    bob.wait_for_selector("#media-message:has-text('in use by another app')")

    bob.evaluate("() => { window.__free = true; }")  # the other app let go
    bob.click("#media-retry")
    bob.wait_for_selector('#toggle-cam[data-on="true"]')
    bob.wait_for_selector("#media-message", state="hidden")
    bob.fill("#display-name", "Bob")
    bob.click("#join-button")
    bob.wait_for_selector(".room")
    wait_remote_videos_playing(ada, 1)


def test_switching_camera_on_a_phone_that_opens_one_at_a_time_works(people, meeting):
    mid = meeting()
    (ada,) = people(1)
    (bob,) = people(1, init_script=ONE_CAMERA_AT_A_TIME)
    join(ada, mid, "Ada")
    bob.goto(f"/#/{mid}")
    bob.wait_for_selector('#toggle-cam[data-on="true"]')
    remember(bob, PREVIEW_TRACK, "__before")
    bob.select_option("#camera-select", index=0)  # the pre-join's camera list
    replaced_and_live(bob, PREVIEW_TRACK, "__before")
    assert bob.is_hidden("#media-message")

    bob.fill("#display-name", "Bob")
    bob.click("#join-button")
    bob.wait_for_selector(".room")
    wait_remote_videos_playing(ada, 1)

    bob.click("#devices")  # the room's device switch
    remember(bob, OWN_TRACK, "__before")
    bob.select_option("#room-camera", index=0)
    replaced_and_live(bob, OWN_TRACK, "__before")
    wait_remote_videos_playing(ada, 1)

    # the new camera will not start: the one we had comes back, and the person is told
    remember(bob, OWN_TRACK, "__before")
    bob.evaluate("() => { window.__failNext = 1; }")
    bob.select_option("#room-camera", index=0)
    bob.wait_for_selector(".toast:has-text('previous one is still in use')")
    replaced_and_live(bob, OWN_TRACK, "__before")
    assert bob.get_attribute("#toggle-cam", "data-on") == "true"
    wait_remote_videos_playing(ada, 1)
    assert bob.errors == []
