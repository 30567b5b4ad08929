"""The streamer bot: plays a video file or a live stream into a meeting as a participant
with a camera and a microphone. See docs/BOTS.md, "Streamer"."""
