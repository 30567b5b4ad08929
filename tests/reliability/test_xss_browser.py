"""Markup in names, meeting names and chat text is shown as text and never runs, in real
Chromium against the local stack (the browser suite's fixtures: tests/browser/conftest.py).

The hostile participants join through the API, as an attacker would; Ada joins from the
page. The test runs twice: with the site's Content-Security-Policy, and with the CSP
bypassed, so it is the rendering itself (text nodes, never HTML) that keeps the payloads
inert and not only the CSP. In the second run a positive control parses one payload as
HTML on purpose and sees it execute, so "window.__xss is undefined" means something.

Chat has no UI yet (frontend/js/room.js ignores the `message` event): the chat payload is
still pushed to the page while the checks run, and this test covers the chat view once
it renders messages anywhere in the DOM.
"""

import pytest

from tests.api.stack_client import Rest
from tests.browser import conftest as browser_suite
from tests.browser.conftest import WAIT_MS, Person, join

browser, people = browser_suite.browser, browser_suite.people  # the browser suite's fixtures

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'
IFRAME = '<iframe srcdoc="<script>parent.__xss=1</script>">'
MEETING_NAME = SCRIPT + " " + IMG
CHAT = "\n".join([IMG, SCRIPT, SVG, IFRAME, "javascript:window.__xss=1", "[x](javascript:1)"])

# Records the text of every toast, however briefly it shows.
RECORD_TOASTS = """
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes)
    if (n.classList && n.classList.contains('toast')) (window.__toasts ||= []).push(n.textContent);
}).observe(document, {subtree: true, childList: true});
"""
INJECTED = "img[src='x'], [onerror], [onload], iframe, script:not([src]), a[href^='javascript']"


@pytest.fixture(params=["with the CSP", "with the CSP bypassed"])
def ada(request, browser, people, stack):
    if request.param == "with the CSP":
        (person,) = people(1, init_script=RECORD_TOASTS)
        yield person
        return
    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=stack.url,
                                  bypass_csp=True)
    context.add_init_script(RECORD_TOASTS)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        yield Person(page)
    finally:
        context.close()


def _tile_name(person, pid: str) -> str:
    return person.text_content(f'.tile[data-pid="{pid}"] .name')


def test_markup_in_names_meeting_name_and_chat_is_shown_as_text_and_never_runs(ada, stack):
    rest = Rest(stack.api)
    mid = rest.create(MEETING_NAME, maxParticipants=8)["meeting"]["id"]
    early = rest.join(mid, SCRIPT)  # in the roster Ada receives when she joins
    join(ada, mid, "Ada")
    late = [rest.join(mid, name) for name in (IMG, SVG)]  # pushed to Ada as they join
    names = {early.pid: SCRIPT, late[0].pid: IMG, late[1].pid: SVG}
    for pid in names:
        ada.wait_for_selector(f'.tile[data-pid="{pid}"]')
    reply = rest.call("POST", f"/meetings/{mid}/messages", {"text": CHAT}, late[0].token)
    assert reply.status == 201 and reply.json["message"]["text"] == CHAT
    # Events reach the page in write order: once this later join shows, so has the message.
    ada.wait_for_selector(f'.tile[data-pid="{rest.join(mid, "Zed").pid}"]')

    for pid, name in names.items():
        assert _tile_name(ada, pid) == name
    ada.click("#toggle-people")
    for pid, name in names.items():
        assert ada.text_content(f'#roster li[data-pid="{pid}"] .who') == name
    assert ada.text_content("#meeting-title") == MEETING_NAME
    assert ada.title().startswith(MEETING_NAME)
    ada.wait_for_function("names => names.every(n => (window.__toasts || []).includes(n + ' joined'))",
                          arg=[IMG, SVG])
    assert ada.evaluate("typeof window.__xss") == "undefined"
    assert ada.query_selector_all(INJECTED) == []
    body = ada.evaluate("document.body.innerHTML")
    assert "<script>window" not in body and "<img src=\"x\"" not in body and "<svg onload" not in body


INLINE_HANDLER = """() => new Promise((done) => {
    const img = document.createElement('img');
    img.setAttribute('onerror', 'window.__xss = 1');
    img.addEventListener('error', () => done('error event'));  // runs after the inline one
    img.src = 'x';
    document.body.append(img);
})"""


def test_the_csp_alone_also_stops_injected_markup_and_inline_handlers(people):
    """The second wall: even code that tried to put markup into the page could not run it."""
    (visitor,) = people(1)
    visitor.goto("/")
    visitor.wait_for_selector(".landing")
    for sink in ("document.body.insertAdjacentHTML('beforeend', html)",
                 "document.createElement('img').setAttribute('onerror', html)"):
        outcome = visitor.evaluate(f"html => {{ try {{ {sink}; return 'ran'; }} "
                                   f"catch (e) {{ return e.name; }} }}", IMG)
        assert outcome == "TypeError", sink  # the page's Trusted Types policy refuses it
    # The server's CSP header alone (here on a plain 404 page, without the page's own
    # Trusted Types policy): script-src without 'unsafe-inline' blocks inline handlers.
    visitor.goto("/no-such-page")
    assert visitor.evaluate(INLINE_HANDLER) == "error event"
    assert visitor.evaluate("typeof window.__xss") == "undefined"


def test_the_payload_does_run_when_parsed_as_html_without_the_csp(browser, stack):
    """Positive control: the same payload, parsed as HTML with no CSP, executes."""
    context = browser.new_context(base_url=stack.url, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto("/")
        page.wait_for_selector(".landing")
        page.evaluate("html => document.body.insertAdjacentHTML('beforeend', html)", IMG)
        page.wait_for_function("window.__xss === 1", timeout=WAIT_MS)
    finally:
        context.close()
