"""What the tests and the benchmarks share: starting the local stack as a process, the
embedded DynamoDB in the calling process, reading the table's stream, plain HTTP to the
stack, Chromium with a fake camera and microphone, synthetic aiortc tracks for the bots,
and the frontend's gzip weight.

Never shipped (Chalice packages app.py and chalicelib/ only) and not part of the local
stack itself: `make run` never imports it.
"""
