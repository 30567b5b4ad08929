"""Someone whose tab crashed (no pagehide, no leave request) disappears from the others'
rosters once they have had no open connection for 90 s: the minute sweep times them out."""

import time

from .conftest import join, wait_remote_videos_playing

# 90 s without a socket, then the local stack's sweep every 15 s, then the push.
WITHIN_MS = 120_000


def test_a_crashed_tab_leaves_the_others_rosters_within_two_minutes(people, meeting):
    ada, bob = people(2)
    mid = meeting()
    join(ada, mid, "Ada")
    bob_pid = join(bob, mid, "Bob")
    wait_remote_videos_playing(ada, 1)
    ada.wait_for_selector(f'#roster li[data-pid="{bob_pid}"]', state="attached")

    # As a crash looks to the server: the socket drops and no leave request ever comes
    # (the page's pagehide handler still runs, but its request goes nowhere).
    bob.evaluate("""() => {
      const send = window.fetch;
      window.fetch = (url, init) => init?.method === 'DELETE'
        ? Promise.reject(new TypeError('the tab crashed')) : send(url, init);
    }""")
    crashed_at = time.monotonic()
    bob.close()

    ada.wait_for_function(
        """pid => !document.querySelector(`#roster li[data-pid="${pid}"]`)
                  && !document.querySelector(`.tile[data-pid="${pid}"]`)""",
        arg=bob_pid, timeout=WITHIN_MS)
    gone_after = time.monotonic() - crashed_at
    print(f"\ncrashed tab left the roster after {gone_after:.0f} s")
    assert ada.errors == []
