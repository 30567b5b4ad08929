"""Media for the bot tests: a video track whose every frame differs, and a reader that counts
decoded frames and tells whether their pictures change."""

import asyncio
import hashlib

import av
from aiortc import VideoStreamTrack
from aiortc.mediastreams import MediaStreamError


class ChangingVideo(VideoStreamTrack):
    """30 fps of small frames, each a different shade."""

    def __init__(self):
        super().__init__()
        self.n = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(160, 120, "yuv420p")
        self.n += 1
        for i, plane in enumerate(frame.planes):
            plane.update(bytes([(self.n * 8 + 64 * i) % 256]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class FrameCount:
    """Frames read from one or more tracks of a participant, by kind."""

    def __init__(self):
        self.frames = {"audio": 0, "video": 0}
        self.pictures: set[str] = set()  # digests of the decoded video frames' luma
        self.tracks = 0

    def read(self, track) -> asyncio.Task:
        return asyncio.ensure_future(self.consume(track))

    async def consume(self, track) -> None:
        """Read `track` until it ends."""
        self.tracks += 1
        try:
            while True:
                frame = await track.recv()
                self.frames[track.kind] += 1
                if track.kind == "video" and len(self.pictures) < 1000:
                    self.pictures.add(hashlib.sha1(bytes(frame.planes[0])).hexdigest())  # noqa: S324
        except MediaStreamError:
            pass
