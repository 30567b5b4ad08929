"""A boto3 session made on first use.

Importing boto3 is most of the app's cold start, and only pushing to a WebSocket needs
it, so the session chalice's WebsocketAPI holds is created when it first sends.
"""


class LazySession:
    """Stands in for `boto3.session.Session()` until an attribute is first asked for."""

    def __init__(self):
        self._session = None

    def __getattr__(self, name):
        if self._session is None:
            import boto3

            self._session = boto3.session.Session()
        return getattr(self._session, name)
