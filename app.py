"""Parley's Chalice entry point: every route and event handler, each delegating to chalicelib.

Every route handler in chalicelib takes the path parameters, then the request, then any
collaborator it needs (the Sender that pushes to WebSocket clients).
"""

from chalice import Chalice, Cron, Rate

from chalicelib import (
    autoclear,
    connections,
    launcher,
    lobby,
    meetings,
    messages,
    participants,
    polls,
    push,
    reactions,
    recordings,
    roster,
    signaling,
    storage,
    stream_files,
    streams,
    ws_actions,
)
from chalicelib.aws import LazySession
from chalicelib.config import settings
from chalicelib.errors import error_middleware

app = Chalice(app_name="parley")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = LazySession()
app.register_middleware(error_middleware(app), "http")

CORS = settings().cors_config()


def _request():
    return app.current_request


def _sender():
    return push.Sender(app.websocket_api, settings())


def _downloads():
    return storage.downloads()


def _files():
    return stream_files.stream_files()


# --- meetings ---------------------------------------------------------------------------

@app.route("/meetings", methods=["POST"], cors=CORS)
def create_meeting():
    return meetings.create(_request())


@app.route("/meetings/{mid}", methods=["GET"], cors=CORS)
def get_meeting(mid):
    return meetings.get(mid, _request())


@app.route("/meetings/{mid}/join", methods=["POST"], cors=CORS)
def join_meeting(mid):
    return meetings.join(mid, _request())


@app.route("/meetings/{mid}", methods=["PATCH"], cors=CORS)
def update_meeting(mid):
    return meetings.update(mid, _request())


@app.route("/meetings/{mid}", methods=["DELETE"], cors=CORS)
def end_meeting(mid):
    return meetings.end(mid, _request())


# --- participants -----------------------------------------------------------------------

@app.route("/meetings/{mid}/participants", methods=["GET"], cors=CORS)
def list_participants(mid):
    return participants.present(mid, _request())


@app.route("/meetings/{mid}/participants/me", methods=["PATCH"], cors=CORS)
def update_me(mid):
    return participants.update_me(mid, _request())


@app.route("/meetings/{mid}/participants/me", methods=["DELETE"], cors=CORS)
def leave(mid):
    return participants.leave(mid, _request())


@app.route("/meetings/{mid}/participants/{pid}/mute", methods=["POST"], cors=CORS)
def request_mute(mid, pid):
    return participants.request_mute(mid, pid, _request())


@app.route("/meetings/{mid}/participants/{pid}/ask-unmute", methods=["POST"], cors=CORS)
def ask_unmute(mid, pid):
    return participants.ask_unmute(mid, pid, _request())


@app.route("/meetings/{mid}/mute-all", methods=["POST"], cors=CORS)
def mute_all(mid):
    return participants.mute_all(mid, _request())


@app.route("/meetings/{mid}/participants/{pid}", methods=["PATCH"], cors=CORS)
def update_participant(mid, pid):
    return participants.update(mid, pid, _request())


@app.route("/meetings/{mid}/participants/{pid}", methods=["DELETE"], cors=CORS)
def remove_participant(mid, pid):
    return participants.remove(mid, pid, _request())


# --- lobby ------------------------------------------------------------------------------

@app.route("/meetings/{mid}/lobby", methods=["GET"], cors=CORS)
def lobby_queue(mid):
    return lobby.queue(mid, _request())


@app.route("/meetings/{mid}/lobby/{pid}/admit", methods=["POST"], cors=CORS)
def lobby_admit(mid, pid):
    return lobby.admit(mid, pid, _request())


@app.route("/meetings/{mid}/lobby/{pid}/deny", methods=["POST"], cors=CORS)
def lobby_deny(mid, pid):
    return lobby.deny(mid, pid, _request())


@app.route("/meetings/{mid}/lobby/admit-all", methods=["POST"], cors=CORS)
def lobby_admit_all(mid):
    return lobby.admit_all(mid, _request())


@app.route("/meetings/{mid}/lobby/deny-all", methods=["POST"], cors=CORS)
def lobby_deny_all(mid):
    return lobby.deny_all(mid, _request())


# --- signaling --------------------------------------------------------------------------

@app.route("/meetings/{mid}/tickets", methods=["POST"], cors=CORS)
def post_ticket(mid):
    return signaling.post(mid, _request(), _sender())


@app.route("/meetings/{mid}/tickets", methods=["GET"], cors=CORS)
def replay_tickets(mid):
    return signaling.replay(mid, _request())


# --- chat -------------------------------------------------------------------------------

@app.route("/meetings/{mid}/messages", methods=["POST"], cors=CORS)
def post_message(mid):
    return messages.post(mid, _request())


@app.route("/meetings/{mid}/messages", methods=["GET"], cors=CORS)
def list_messages(mid):
    return messages.history(mid, _request())


# --- reactions --------------------------------------------------------------------------

@app.route("/meetings/{mid}/reactions", methods=["POST"], cors=CORS)
def post_reaction(mid):
    return reactions.post(mid, _request())


# --- polls ------------------------------------------------------------------------------

@app.route("/meetings/{mid}/polls", methods=["POST"], cors=CORS)
def create_poll(mid):
    return polls.create(mid, _request())


@app.route("/meetings/{mid}/polls", methods=["GET"], cors=CORS)
def list_polls(mid):
    return polls.listing(mid, _request())


@app.route("/meetings/{mid}/polls/report", methods=["GET"], cors=CORS)
def poll_report(mid):
    return polls.report(mid, _request())


@app.route("/meetings/{mid}/polls/{poll}/votes", methods=["POST"], cors=CORS)
def vote_in_poll(mid, poll):
    return polls.vote(mid, poll, _request())


@app.route("/meetings/{mid}/polls/{poll}/close", methods=["POST"], cors=CORS)
def close_poll(mid, poll):
    return polls.close(mid, poll, _request())


# --- recordings -------------------------------------------------------------------------

@app.route("/meetings/{mid}/recordings", methods=["POST"], cors=CORS)
def start_recording(mid):
    return recordings.start(mid, _request(), launcher.current())


@app.route("/meetings/{mid}/recordings", methods=["GET"], cors=CORS)
def list_recordings(mid):
    return recordings.listing(mid, _request(), _downloads())


@app.route("/meetings/{mid}/recordings/{rid}", methods=["GET"], cors=CORS)
def get_recording(mid, rid):
    return recordings.get(mid, rid, _request(), _downloads())


@app.route("/meetings/{mid}/recordings/{rid}", methods=["PATCH"], cors=CORS)
def update_recording(mid, rid):
    return recordings.update(mid, rid, _request(), _downloads())


@app.route("/meetings/{mid}/recordings/{rid}", methods=["DELETE"], cors=CORS)
def stop_recording(mid, rid):
    return recordings.stop(mid, rid, _request())


# --- streams ----------------------------------------------------------------------------

@app.route("/meetings/{mid}/streams/uploads", methods=["POST"], cors=CORS)
def create_stream_upload(mid):
    return streams.create_upload(mid, _request(), launcher.current(), _files())


@app.route("/meetings/{mid}/streams", methods=["POST"], cors=CORS)
def start_stream(mid):
    return streams.start(mid, _request(), launcher.current(), _files())


@app.route("/meetings/{mid}/streams", methods=["GET"], cors=CORS)
def list_streams(mid):
    return streams.listing(mid, _request())


@app.route("/meetings/{mid}/streams/{sid}", methods=["GET"], cors=CORS)
def get_stream(mid, sid):
    return streams.get(mid, sid, _request(), _files())


@app.route("/meetings/{mid}/streams/{sid}", methods=["PATCH"], cors=CORS)
def update_stream(mid, sid):
    return streams.update(mid, sid, _request())


@app.route("/meetings/{mid}/streams/{sid}", methods=["DELETE"], cors=CORS)
def stop_stream(mid, sid):
    return streams.stop(mid, sid, _request())


# --- WebSocket --------------------------------------------------------------------------

@app.on_ws_connect()
def ws_connect(event):
    return connections.connect(event)


@app.on_ws_message()
def ws_message(event):
    return ws_actions.message(event, app.websocket_api, _sender())


@app.on_ws_disconnect()
def ws_disconnect(event):
    return connections.disconnect(event)


# --- stream push and housekeeping -------------------------------------------------------

@app.on_dynamodb_record(stream_arn=settings().stream_arn, batch_size=100,
                        starting_position="LATEST")
def on_table_change(event):
    push.handle_stream(event, _sender())


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep_absent_participants(event):
    return roster.sweep()


@app.schedule(Cron(0, 2, "*", "*", "?", "*"))
def purge_old_meetings(event):
    return autoclear.purge(settings())
