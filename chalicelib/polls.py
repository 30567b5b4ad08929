"""Polls: a moderator asks, everyone present votes once, a moderator closes it; the
report (JSON or CSV) and its email when the meeting ends.

One vote per participant per poll is a conditional write: the Vote item (key: poll and
participant) is put only if absent, in one transaction with the poll's counters (`ADD
count_<i> 1`, `ADD voters 1`) and the condition that the poll is still open. Of two
votes at once by the same person one is counted and the other gets 409 `already_voted`;
a vote that races a close gets 409 `poll_closed`. A refused request stores nothing.

Who sees what: counts are hidden (null) from non-moderators while a poll with `results:
"closed"` is open; nobody ever sees who voted what in an anonymous poll (the poll item
holds only counts; Vote items are never pushed; the report lists voters of named polls
only). Pushes are in push.py (`poll` events).
"""

import csv
import io
import logging

from chalice import Response
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from . import auth, ratelimit
from .config import settings
from .errors import AlreadyVoted, InvalidRequest, PollClosed, PollNotFound, TryAgain
from .ids import is_id, message_id
from .models import (
    SECRET_SK,
    Meeting,
    Participant,
    Poll,
    Secret,
    Vote,
    condition_failed,
    kept_until,
    meeting_pk,
    now,
    poll_sk,
    polls_range,
    transaction,
    vote_sk,
    votes_range,
)
from .schemas import CREATE_POLL, REPORT_QUERY, VOTE, body_of, query_of

log = logging.getLogger("parley")
VOTE_ATTEMPTS = 3  # a vote whose transaction collides with another's is tried again


def _check_poll_id(poll_id: str) -> str:
    if not is_id(poll_id):
        raise PollNotFound()
    return poll_id


def _moderator(mid: str, request) -> tuple[Meeting, Participant]:
    meeting, me = auth.member(mid, request)
    auth.require_moderator(me)
    return meeting, me


def _poll(mid: str, poll_id: str) -> Poll:
    try:
        return Poll.get(meeting_pk(mid), poll_sk(_check_poll_id(poll_id)), consistent_read=True)
    except DoesNotExist as err:
        raise PollNotFound() from err


def _my_vote(mid: str, poll_id: str, pid: str) -> list[str] | None:
    try:
        return Vote.get(meeting_pk(mid), vote_sk(poll_id, pid), consistent_read=True).choices
    except DoesNotExist:
        return None


def create(mid: str, request) -> Response:
    """POST .../polls (host or co-host): 201 `{poll}`."""
    _, me = _moderator(mid, request)
    body = body_of(request, CREATE_POLL)
    ratelimit.buckets().take("moderate", me.pid)
    options = [text.strip() for text in body["options"]]
    if len(set(options)) != len(options):
        raise InvalidRequest("Invalid request: options must be distinct.")
    poll_id = message_id()
    poll = Poll(meeting_pk(mid), poll_sk(poll_id), poll_id=poll_id, created_by=me.pid,
                question=body["question"].strip(), options=options,
                multiple=body.get("multiple", False), anonymous=body.get("anonymous", False),
                results=body.get("results", "live"), state="open", created_at=now(),
                voters=0, expires=kept_until(),
                **{f"count_{i}": 0 for i in range(len(options))})
    poll.save(condition=Poll.pk.does_not_exist())
    return Response(status_code=201, body={"poll": poll.public(True)})


def _choices(poll: Poll, wanted: list[str]) -> list[str]:
    """The option ids of a vote, in the poll's order (400 unless they are the poll's and
    exactly one, or for a `multiple` poll one or more)."""
    if any(oid not in poll.option_ids for oid in wanted):
        raise InvalidRequest("Invalid request: options holds an option this poll does not have.")
    if not poll.multiple and len(wanted) != 1:
        raise InvalidRequest("Invalid request: this poll takes exactly one option.")
    return [oid for oid in poll.option_ids if oid in wanted]


def vote(mid: str, poll_id: str, request) -> Response:
    """POST .../polls/{poll}/votes `{options}` (anyone present): 201 `{poll}`."""
    claims = auth.claims(mid, request)
    body = auth.checked_body(claims, mid, lambda: body_of(request, VOTE))
    key = (meeting_pk(mid), poll_sk(_check_poll_id(poll_id)))
    _, me, found = auth.member_with(claims["sub"], mid, [key])
    poll = found.get(key[1])
    if not isinstance(poll, Poll):
        raise PollNotFound()
    ratelimit.buckets().take("vote", me.pid)
    if poll.state != "open":
        raise PollClosed()
    choices = _choices(poll, body["options"])
    ballot = Vote(meeting_pk(mid), vote_sk(poll_id, me.pid), poll_id=poll_id, pid=me.pid,
                  name=me.name, choices=choices, voted_at=now(), expires=kept_until())
    counters = [poll.count_attribute(oid).add(1) for oid in choices] + [Poll.voters.add(1)]
    for attempt in range(VOTE_ATTEMPTS):
        try:
            with transaction() as tx:
                tx.save(ballot, condition=Vote.pk.does_not_exist())
                tx.update(poll, actions=counters, condition=Poll.state == "open")
            break
        except TransactWriteError as err:
            reasons = getattr(err, "cancellation_reasons", None) or [None, None]
            codes = [r.code if r is not None else None for r in reasons]
            if codes[0] == "ConditionalCheckFailed":
                raise AlreadyVoted() from err
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise PollClosed() from err
            if attempt == VOTE_ATTEMPTS - 1:
                raise TryAgain("Your vote was not counted this time; please retry.") from err
    poll.refresh(consistent_read=True)
    return Response(status_code=201, body={"poll": poll.public(me.moderator, choices)})


def close(mid: str, poll_id: str, request) -> dict:
    """POST .../polls/{poll}/close (host or co-host): 200 `{poll}`, closed; again on a
    closed poll: the same answer, nothing written."""
    _, me = _moderator(mid, request)
    ratelimit.buckets().take("moderate", me.pid)
    poll = _poll(mid, poll_id)
    if poll.state == "open":
        try:
            poll.update(actions=[Poll.state.set("closed"), Poll.closed_at.set(now())],
                        condition=Poll.state == "open")
        except UpdateError as err:
            if not condition_failed(err):
                raise
            poll.refresh(consistent_read=True)  # another moderator closed it just now
    return {"poll": poll.public(True, _my_vote(mid, poll.poll_id, me.pid))}


def listing(mid: str, request) -> dict:
    """GET .../polls (anyone present): every poll, oldest first, as the caller sees it."""
    _, me = auth.member(mid, request)
    polls = list(Poll.query(meeting_pk(mid), polls_range(), consistent_read=True))
    keys = [(meeting_pk(mid), vote_sk(p.poll_id, me.pid)) for p in polls]
    mine = {v.poll_id: v.choices for v in Vote.batch_get(keys, consistent_read=True)} \
        if keys else {}
    return {"polls": [p.public(me.moderator, mine.get(p.poll_id)) for p in polls]}


# --- the report: a route now, an email at the end (build_report / report_csv) -----------

def build_report(meeting: Meeting) -> dict:
    """The polls of `meeting` with their final counts, and who voted what in named polls.

    Reusable outside a request: the report route and the end-of-meeting email both call
    it (and report_csv), with the meeting alone, no caller."""
    pk = meeting_pk(meeting.mid)
    polls = []
    for poll in Poll.query(pk, polls_range(), consistent_read=True):
        entry = {"question": poll.question,
                 "options": [{"text": t, "votes": n} for t, n in zip(poll.options, poll.counts(),
                                                                      strict=True)],
                 "voters": int(poll.voters or 0)}
        if not poll.anonymous:
            texts = dict(zip(poll.option_ids, poll.options, strict=True))
            entry["votes"] = [{"name": v.name, "options": [texts[o] for o in v.choices]}
                              for v in sorted(Vote.query(pk, votes_range(poll.poll_id),
                                                         consistent_read=True),
                                              key=lambda v: v.voted_at)]
        polls.append(entry)
    return {"meeting": {"id": meeting.mid, "name": meeting.name}, "polls": polls}


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(report: dict) -> str:
    """build_report as CSV: a row per option (poll, question, option, votes), then for a
    named poll a row per voter (poll, question, the options they chose, voter)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["poll", "question", "option", "votes", "voter"])
    for n, poll in enumerate(report["polls"], start=1):
        for option in poll["options"]:
            writer.writerow([n, _cell(poll["question"]), _cell(option["text"]),
                             option["votes"], ""])
        for ballot in poll.get("votes", ()):
            writer.writerow([n, _cell(poll["question"]),
                             _cell("; ".join(ballot["options"])), "", _cell(ballot["name"])])
    return out.getvalue()


def report(mid: str, request) -> Response | dict:
    """GET .../polls/report?format=json|csv (host or co-host, while the meeting is open)."""
    meeting, _ = _moderator(mid, request)
    fmt = query_of(request, REPORT_QUERY).get("format", "json")
    data = build_report(meeting)
    if fmt == "csv":
        return Response(status_code=200, body=report_csv(data), headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="polls-{meeting.mid}.csv"'})
    return data


def email_report(meeting: Meeting) -> str:
    """Email the report to the meeting's `reportEmail` through Amazon SES, if it has polls
    and an address and PARLEY_REPORT_SENDER is set. What happened: "sent", "no-address",
    "no-polls", "no-sender" or "failed" (a failure is logged; ending never fails for it)."""
    try:
        secret = Secret.get(meeting_pk(meeting.mid), SECRET_SK, consistent_read=True)
    except DoesNotExist:
        return "no-address"
    if not secret.report_email:
        return "no-address"
    data = build_report(meeting)
    if not data["polls"]:
        return "no-polls"
    s = settings()
    sender = s.report_sender
    if not sender:
        log.info("meeting %s: poll report not emailed (PARLEY_REPORT_SENDER not set)",
                 meeting.mid)
        return "no-sender"
    try:
        import boto3

        ses = boto3.client("ses", region_name=s.region, endpoint_url=s.ses_endpoint)
        ses.send_email(Source=sender, Destination={"ToAddresses": [secret.report_email]},
                       Message={"Subject": {"Data": f"Poll results: {meeting.name}"},
                                "Body": {"Text": {"Data": _email_text(data)}}})
    except Exception:
        log.exception("meeting %s: emailing the poll report failed", meeting.mid)
        return "failed"
    return "sent"


def _email_text(data: dict) -> str:
    lines = [f"Poll results of the meeting \"{data['meeting']['name']}\".", ""]
    for poll in data["polls"]:
        lines.append(f"{poll['question']} ({poll['voters']} voted)")
        lines += [f"  {o['text']}: {o['votes']}" for o in poll["options"]]
        lines += [f"    {v['name']}: {', '.join(v['options'])}" for v in poll.get("votes", ())]
        lines.append("")
    lines += ["The same as CSV:", "", report_csv(data)]
    return "\n".join(lines)
