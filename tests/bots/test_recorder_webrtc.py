"""The mixer fed by real aiortc remote tracks: two peer connections in this process, the
synthetic participant's picture and tone sent over loopback as VP8 and Opus and decoded
by aiortc, as a bot receives a browser's."""

import asyncio

from aiortc import RTCPeerConnection

from bots.recorder.mixer import Mixer
from harness.media import ColorTrack, ToneTrack
from tests.bots.aio import run_async
from tests.bots.recorded import COLORS, TONES, layout_of, pictures, segment, sound, tone_level


def test_decoded_vp8_and_opus_from_a_peer_connection_are_seen_and_heard(tmp_path):
    async def scenario():
        mixer = Mixer("av", tmp_path)
        await mixer.start()
        sender, receiver = RTCPeerConnection(), RTCPeerConnection()
        sender.addTrack(ToneTrack(TONES[1], amplitude=4000))
        sender.addTrack(ColorTrack(COLORS[1], fps=15))
        kinds = []

        @receiver.on("track")
        def on_track(track):
            kinds.append(track.kind)
            mixer.attach("p1", track)

        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.sleep(4)
        result = await mixer.stop()
        await mixer.close()
        await sender.close()
        await receiver.close()
        return result, kinds

    result, kinds = run_async(scenario)
    assert sorted(kinds) == ["audio", "video"]
    assert layout_of(pictures(result.path)[-1][1], 1) == [1]
    samples, rate = sound(result.path)
    late = segment(samples, rate, 2.0, 3.8)
    assert tone_level(late, rate, TONES[1]) > 0.05  # its tone, through Opus
    assert tone_level(late, rate, TONES[0]) < 0.01  # and not another
