"""Polls in real Chromium on the local stack: a host asks, two pages vote, the host closes the
poll and downloads the results."""

import csv
import io
import json

from .conftest import ada_bob_and_cy


def vote(page, answer):
    page.click("#toggle-polls")
    page.check(f'#poll-list .ballot label:has-text("{answer}") input')
    page.click("#poll-list .vote")


def votes(page, answer):
    return page.get_attribute(f'#poll-list .poll-results li:has-text("{answer}")', "data-votes")


def test_a_poll_is_asked_voted_from_two_pages_closed_and_its_report_downloaded(people, stack):
    _, (ada, bob, cy), _ = ada_bob_and_cy(people, stack, host=True)
    assert bob.is_hidden("#poll-form")  # guests vote; they do not ask
    ada.click("#toggle-polls")
    ada.fill("#poll-question", "Lunch?")
    ada.fill("#poll-form .poll-option >> nth=0", "Pizza")
    ada.fill("#poll-form .poll-option >> nth=1", "Sushi")
    ada.click("#poll-create")
    ada.wait_for_selector('#poll-list .poll[data-state="open"] >> text=Lunch?')
    bob.wait_for_selector(".toast >> text=New poll: Lunch?")

    vote(bob, "Pizza")
    bob.wait_for_selector("#poll-list .poll-results")
    vote(cy, "Pizza")
    bob.wait_for_function("() => document.querySelector('#poll-list .poll-results li')"
                          "?.dataset.votes === '2'")
    assert votes(bob, "Sushi") == "0"

    ada.click("#poll-list .poll-close")
    for page in (ada, bob, cy):
        page.wait_for_selector('#poll-list .poll[data-state="closed"] .poll-results')
    assert votes(ada, "Pizza") == "2"

    with ada.expect_download() as download:
        ada.click("#poll-csv")
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert any("Pizza" in row and "2" in row for row in rows), rows
    with ada.expect_download() as download:
        ada.click("#poll-json")
    report = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert "Lunch?" in json.dumps(report, ensure_ascii=False)
    assert ada.errors == [] and bob.errors == [] and cy.errors == []
