"""The bandwidth-aware mesh (frontend/js/ui/tileviews.js, frontend/js/shaping.js): each page
tells every sender how big it shows their camera, and each sender shapes the stream it sends
that page. Read through the page's `window.__parleyMesh` hook: the views sent and received, and
each peer's RTP figures (getStats outbound-rtp and inbound-rtp)."""

from .conftest import ada_bob_and_cy, join, tools_ready, wait_remote_videos_playing, wait_until

RTP = "async () => await window.__parleyMesh.rtp()"


def views_settled(person, shown):
    """Wait until the page has told each peer how it shows them as in `shown` ({pid: view})."""
    wait_until(person, """want => window.__parleyMesh && Object.entries(want)
      .every(([pid, view]) => window.__parleyMesh.shown()[pid] === view)""", shown)


def told(person, pid, view):
    """Wait until the page has heard from `pid` that it shows this page's camera as `view`."""
    wait_until(person, "([pid, view]) => window.__parleyMesh?.told()[pid] === view", [pid, view])


def test_a_thumbnails_received_resolution_drops_below_the_main_views(people, stack):
    _, (ada, bob, cy), (ada_id, bob_id, cy_id) = ada_bob_and_cy(people, stack)
    wait_remote_videos_playing(ada, 2)
    ada.click(f'.tile[data-pid="{bob_id}"]')  # Bob pinned: the main view; Cy in the strip
    ada.wait_for_selector(f'.grid.has-main .tile.main[data-pid="{bob_id}"]')
    views_settled(ada, {bob_id: "main", cy_id: "thumbnail"})
    told(bob, ada_id, "main")
    told(cy, ada_id, "thumbnail")
    # what Ada receives: Bob's camera larger than Cy's, both still coming
    sizes = wait_until(ada, """async ([bob, cy]) => {
      const r = await window.__parleyMesh.rtp();
      const [b, c] = [r[bob].in.video, r[cy].in.video];
      return b && c && c.height > 0 && b.height > c.height && b.width > c.width && [b, c];
    }""", [bob_id, cy_id])
    assert sizes[1]["height"] <= 240, sizes  # a thumbnail's encoding: at most 180 lines of 720
    sent = cy.evaluate(RTP)[ada_id]["out"]
    assert sent["video"]["encoding"]["maxBitrate"] <= 150_000, sent
    assert sent["video"]["encoding"]["maxFramerate"] == 15, sent
    # audio first: the microphone's encoding goes at high priority
    audio = sent["audio"]["encoding"]
    assert (audio.get("priority"), audio.get("networkPriority")) == ("high", "high"), audio
    # the sender shaped only Ada's stream: Cy's camera to Bob (a large grid tile there) is larger
    told(cy, bob_id, "large")
    wait_until(cy, """async ([ada, bob]) => {
      const r = await window.__parleyMesh.rtp();
      return r[bob].out.video?.height > r[ada].out.video?.height;
    }""", [ada_id, bob_id])
    assert ada.errors == [] and bob.errors == [] and cy.errors == []


SHOW = "([pid, display]) => { document.querySelector(`.tile[data-pid='${pid}']`).style.display = display; }"

FLAT_VIDEO_LIVE_AUDIO = """async (pid) => {
  const read = async () => (await window.__parleyMesh.rtp())[pid].out;
  const a = await read();
  await new Promise((r) => setTimeout(r, 2000));
  const b = await read();
  return b.video.bytes === a.video.bytes && b.audio.bytes > a.audio.bytes && {a, b};
}"""


def test_a_hidden_tile_gets_no_video_from_its_sender_while_audio_goes_on(people, stack):
    _, (ada, bob, cy), (ada_id, bob_id, cy_id) = ada_bob_and_cy(people, stack)
    wait_remote_videos_playing(ada, 2)
    # Ada's page stops showing Cy's tile (as if scrolled away or collapsed)
    ada.evaluate(SHOW, [cy_id, "none"])
    views_settled(ada, {cy_id: "hidden", bob_id: "large"})
    told(cy, ada_id, "hidden")
    wait_until(cy, FLAT_VIDEO_LIVE_AUDIO, ada_id)  # no video bytes to Ada, audio still flowing
    assert cy.evaluate(RTP)[ada_id]["out"]["video"]["encoding"]["active"] is False
    # Cy's camera still goes to Bob, and Bob's to Ada
    wait_until(cy, """async (bob) => {
      const r = await window.__parleyMesh.rtp();
      const before = r[bob].out.video.bytes;
      await new Promise((res) => setTimeout(res, 1000));
      return (await window.__parleyMesh.rtp())[bob].out.video.bytes > before;
    }""", bob_id)
    # shown again: video comes back
    ada.evaluate(SHOW, [cy_id, ""])
    told(cy, ada_id, "large")
    wait_until(ada, """async (cy) => {
      const r = await window.__parleyMesh.rtp();
      const before = r[cy].in.video.bytes;
      await new Promise((res) => setTimeout(res, 1000));
      return (await window.__parleyMesh.rtp())[cy].in.video.bytes > before;
    }""", cy_id)
    assert ada.errors == [] and bob.errors == [] and cy.errors == []


def test_a_page_opened_with_shaping_off_sends_no_views_and_leaves_its_encodings_alone(people, stack, meeting):
    mid = meeting()
    ada, bob = people(2)
    ada.goto(f"/?shaping=off#/{mid}")  # the benchmark's unshaped baseline
    ada.fill("#display-name", "Ada")
    ada.click("#join-button")
    ada.wait_for_selector(".room")
    ada_id = ada.evaluate("window.__parley.me")
    bob_id = join(bob, mid, "Bob")
    tools_ready(ada)
    tools_ready(bob)
    wait_remote_videos_playing(ada, 1)
    views_settled(bob, {ada_id: "large"})  # Bob's page still says how it shows Ada
    assert ada.evaluate("window.__parleyMesh.shaping") is False
    assert ada.evaluate("window.__parleyMesh.shown()") == {}
    assert bob.evaluate("window.__parleyMesh.told()") == {}
    sent = ada.evaluate(RTP)[bob_id]["out"]["video"]
    assert sent["bytes"] > 0 and sent["active"] is True
    assert not {"maxBitrate", "maxFramerate"} & set(sent["encoding"]), sent
    assert sent["encoding"].get("scaleResolutionDownBy", 1) == 1, sent
    assert ada.errors == [] and bob.errors == []
