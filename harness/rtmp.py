"""A live RTMP source on 127.0.0.1 for the streamer's tests: the numbered test clip
encoded in real time (H.264 + AAC in FLV, PyAV) and played to every RTMP client that
connects, from the next keyframe on.

PyAV's bundled FFmpeg has an RTMP client but PyAV cannot make it listen for an output
(it opens an output's URL without protocol options), so the server side is here: the
simple RTMP handshake, the commands an FFmpeg client sends to play (connect,
createStream, play) answered as a media server answers them, then each FLV tag the
muxer writes sent as one RTMP message. Nothing else of RTMP (no publishing, no
acknowledgements kept, one stream name: any).
"""

import queue
import socket
import struct
import threading
import time

import av

from .clips import FPS, _Writer

HANDSHAKE = 1536
CHUNK = 4096  # what this server sends in; a client starts at 128
VIDEO, AUDIO, DATA, COMMAND = 9, 8, 18, 20


def amf(*values) -> bytes:
    """AMF0 of numbers, booleans, strings, None and dicts (objects)."""
    out = b""
    for value in values:
        if value is None:
            out += b"\x05"
        elif isinstance(value, bool):
            out += b"\x01" + bytes([value])
        elif isinstance(value, int | float):
            out += b"\x00" + struct.pack(">d", value)
        elif isinstance(value, str):
            out += b"\x02" + struct.pack(">H", len(value.encode())) + value.encode()
        else:
            out += b"\x03" + b"".join(struct.pack(">H", len(k)) + k.encode() + amf(v)
                                      for k, v in value.items()) + b"\x00\x00\x09"
    return out


def command_of(payload: bytes) -> tuple[str, float]:
    """A command message's name and transaction id (its first two AMF0 values)."""
    if payload[:1] != b"\x02":
        return "", 0.0
    size = struct.unpack(">H", payload[1:3])[0]
    name = payload[3:3 + size].decode(errors="replace")
    rest = payload[3 + size:]
    txn = struct.unpack(">d", rest[1:9])[0] if rest[:1] == b"\x00" else 0.0
    return name, txn


class _Connection:
    """One client: reads its chunked messages, sends whole messages in CHUNK-byte chunks."""

    def __init__(self, sock: socket.socket):
        self.sock, self.in_size, self.streams = sock, 128, {}

    def read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            part = self.sock.recv(n - len(data))
            if not part:
                raise EOFError
            data += part
        return data

    def message(self) -> tuple[int, bytes]:
        while True:
            first = self.read(1)[0]
            fmt, csid = first >> 6, first & 0x3F
            if csid == 0:
                csid = 64 + self.read(1)[0]
            elif csid == 1:
                low, high = self.read(2)
                csid = 64 + low + 256 * high
            st = self.streams.setdefault(csid, {"length": 0, "type": 0, "data": b"", "ext": False})
            if fmt <= 2:
                stamp = int.from_bytes(self.read(3), "big")
                st["ext"] = stamp == 0xFFFFFF
            if fmt <= 1:
                head = self.read(4)
                st["length"], st["type"] = int.from_bytes(head[:3], "big"), head[3]
            if fmt == 0:
                self.read(4)  # message stream id
            if st["ext"]:
                self.read(4)
            st["data"] += self.read(min(self.in_size, st["length"] - len(st["data"])))
            if len(st["data"]) < st["length"]:
                continue
            kind, data, st["data"] = st["type"], st["data"], b""
            if kind == 1:  # set chunk size
                self.in_size = int.from_bytes(data[:4], "big") & 0x7FFFFFFF
                continue
            return kind, data

    def send(self, csid: int, kind: int, payload: bytes, stream: int = 0, stamp: int = 0,
             size: int = CHUNK) -> None:
        ext = stamp >= 0xFFFFFF
        head = (bytes([csid]) + min(stamp, 0xFFFFFF).to_bytes(3, "big")
                + len(payload).to_bytes(3, "big") + bytes([kind]) + stream.to_bytes(4, "little")
                + (stamp.to_bytes(4, "big") if ext else b""))
        more = bytes([0xC0 | csid]) + (stamp.to_bytes(4, "big") if ext else b"")
        self.sock.sendall(head + more.join(payload[i:i + size]
                                           for i in range(0, max(len(payload), 1), size)))


class _Tags:
    """A write-only file for PyAV's FLV muxer that cuts what it writes into FLV tags."""

    def __init__(self, on_tag):
        self.on_tag, self.buffer, self.skipped_header = on_tag, b"", False

    def write(self, data) -> int:
        self.buffer += bytes(data)
        if not self.skipped_header:
            if len(self.buffer) < 13:
                return len(data)
            self.buffer, self.skipped_header = self.buffer[13:], True  # header, size 0
        while len(self.buffer) >= 11:
            size = int.from_bytes(self.buffer[1:4], "big")
            if len(self.buffer) < 11 + size + 4:
                break
            stamp = int.from_bytes(self.buffer[4:7], "big") | self.buffer[7] << 24
            self.on_tag(self.buffer[0], stamp, self.buffer[11:11 + size])
            self.buffer = self.buffer[15 + size:]
        return len(data)


class LiveRtmp:
    """`with LiveRtmp() as live:` a live RTMP source at `live.url`, numbered frames from 0
    when it starts (`live.frame`: the next one to be written)."""

    def __init__(self, size=(640, 360), fps: int = FPS):
        self.size, self.fps, self.frame = size, fps, 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"rtmp://127.0.0.1:{self._listener.getsockname()[1]}/live/stream"
        self._headers: list[tuple[int, int, bytes]] = []  # metadata, codec configurations
        self._clients: list[queue.Queue] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._encode, name="rtmp-live", daemon=True),
                         threading.Thread(target=self._accept, name="rtmp-accept", daemon=True)]

    def __enter__(self) -> "LiveRtmp":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            for client in self._clients:
                client.put(None)
        self._threads[0].join(30)

    # -- the clip -------------------------------------------------------------------------

    def _tag(self, kind: int, stamp: int, data: bytes) -> None:
        header = kind == DATA or (kind in (VIDEO, AUDIO) and len(data) > 1 and data[1] == 0)
        with self._lock:
            if header:
                self._headers.append((kind, stamp, data))
            for client in self._clients:
                client.put((kind, stamp, data))

    def _encode(self) -> None:
        output = av.open(_Tags(self._tag), "w", format="flv")
        writer = _Writer(output, self.size, self.fps, {"tune": "zerolatency"})
        started = time.monotonic()
        while not self._stop.is_set():
            wait = started + self.frame / self.fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            writer.write(self.frame)
            self.frame += 1
        writer.close()

    # -- the server -----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(sock,), name="rtmp-client",
                             daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        tags: queue.Queue = queue.Queue()
        try:
            with sock:
                conn = _Connection(sock)
                self._handshake(conn)
                self._until_play(conn)
                threading.Thread(target=self._drain, args=(conn,), daemon=True).start()
                with self._lock:
                    for tag in self._headers:
                        conn.send(6, tag[0], tag[2], stream=1, stamp=0)
                    self._clients.append(tags)
                started = False
                while (tag := tags.get()) is not None:
                    kind, stamp, data = tag
                    started = started or (kind == VIDEO and data[0] >> 4 == 1 and data[1] == 1)
                    if started and not (kind != DATA and data[1] == 0):
                        conn.send(4 if kind == AUDIO else 6, kind, data, stream=1, stamp=stamp)
        except (OSError, EOFError):
            pass  # the client left
        finally:
            with self._lock:
                if tags in self._clients:
                    self._clients.remove(tags)

    @staticmethod
    def _handshake(conn: _Connection) -> None:
        c1 = conn.read(1 + HANDSHAKE)[1:]
        # version 0 in S1: the simple handshake (no digests), which FFmpeg's client accepts
        conn.sock.sendall(b"\x03" + bytes(8) + bytes(HANDSHAKE - 8) + c1)
        conn.read(HANDSHAKE)

    @staticmethod
    def _until_play(conn: _Connection) -> None:
        while True:
            kind, payload = conn.message()
            if kind != COMMAND:
                continue
            name, txn = command_of(payload)
            if name == "connect":
                conn.send(2, 5, (2_500_000).to_bytes(4, "big"), size=128)  # window ack size
                conn.send(2, 6, (2_500_000).to_bytes(4, "big") + b"\x02", size=128)
                conn.send(2, 1, CHUNK.to_bytes(4, "big"), size=128)  # set chunk size
                conn.send(3, COMMAND, amf("_result", txn,
                                          {"fmsVer": "FMS/3,0,1,123", "capabilities": 31},
                                          {"level": "status",
                                           "code": "NetConnection.Connect.Success",
                                           "description": "Connected.", "objectEncoding": 0}))
            elif name == "createStream":
                conn.send(3, COMMAND, amf("_result", txn, None, 1))
            elif name == "play":
                conn.send(2, 4, b"\x00\x00" + (1).to_bytes(4, "big"))  # stream begin
                conn.send(5, COMMAND, amf("onStatus", 0, None,
                                          {"level": "status", "code": "NetStream.Play.Start",
                                           "description": "Playing."}), stream=1)
                return

    @staticmethod
    def _drain(conn: _Connection) -> None:
        """What the client sends while it plays (acknowledgements, buffer lengths)."""
        try:
            while conn.sock.recv(4096):
                pass
        except OSError:
            pass
