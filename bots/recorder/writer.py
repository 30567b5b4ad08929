"""One output file per recording, by mode:

- audio: `recording.mp3`, the mixed voices (libmp3lame, mono, 64 kbit/s);
- video: `recording.mp4`, the grid in H.264 (libx264);
- av:    `recording.mp4`, the grid in H.264 and the mixed voices in AAC (FFmpeg's encoder).

Timestamps are tick numbers of the mixer's real-time clock, so a tick that was never
written (the encoder fell behind and the mixer dropped it) is a gap in time, not a
shorter file.
"""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

MODES = ("audio", "video", "av")
FILES = {"audio": "recording.mp3", "video": "recording.mp4", "av": "recording.mp4"}
# veryfast with zerolatency (no B-frames, no look-ahead) keeps one core's share low and
# the encoder's own queue short; a keyframe every two seconds keeps seeking cheap.
X264 = {"preset": "veryfast", "tune": "zerolatency", "crf": "26"}


class Writer:
    def __init__(self, mode: str, directory: Path, fps: int, size: tuple[int, int], rate: int,
                 chunk: int):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.path = Path(directory) / FILES[mode]
        self.fps, self.rate, self.chunk = fps, rate, chunk
        self.has_video, self.has_audio = mode != "audio", mode != "video"
        options = {"movflags": "+faststart"} if self.path.suffix == ".mp4" else {}
        self._out = av.open(str(self.path), "w", format=self.path.suffix[1:], options=options)
        self._video = self._audio = None
        if self.has_video:
            self._video = self._out.add_stream("libx264", rate=fps,
                                               options=X264 | {"g": str(2 * fps)})
            self._video.width, self._video.height = size
            self._video.pix_fmt = "yuv420p"
            self._video.codec_context.time_base = Fraction(1, fps)
        if self.has_audio:
            codec, bit_rate = ("libmp3lame", 64_000) if mode == "audio" else ("aac", 96_000)
            self._audio = self._out.add_stream(codec, rate=rate, layout="mono")
            self._audio.bit_rate = bit_rate
        self.video_frames = self.audio_chunks = 0

    def write_video(self, index: int, frame: av.VideoFrame) -> None:
        frame.pts, frame.time_base = index, Fraction(1, self.fps)
        self._out.mux(self._video.encode(frame))
        self.video_frames += 1

    def write_audio(self, index: int, samples: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts, frame.time_base = index * self.chunk, Fraction(1, self.rate)
        self._out.mux(self._audio.encode(frame))
        self.audio_chunks += 1

    def close(self) -> Path:
        """Flush the encoders and finish the file."""
        try:
            for stream in (self._video, self._audio):
                if stream is not None:
                    self._out.mux(stream.encode(None))
        finally:
            self._out.close()
        return self.path
